"""`import compose`: a compose project translated into orchestrator definitions.

One TOML file per service (its [container.NAME], and its [build.NAME] or [pod.NAME] when it has
one) and one for the volumes and networks. A key whose translation is not word for word gets a
comment saying what compose did and what happens here; a key that has no meaning here is refused
with its file and YAML key path, and then nothing is written. The per-key rules live in
composekeys.py; this module holds the project-wide parts: names, networks, volumes, secrets,
configs, pods and the files.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.convert import composevalues as cv
from orchestrator.convert.composefile import Project, display, load_project, read_env
from orchestrator.convert.tomlout import Table, dumps
from orchestrator.errors import DefinitionError, Problem

RESOURCES_FILE = "volumes-networks.toml"
_NAME_CHARS = re.compile(r"[^a-z0-9_-]")


@dataclass(frozen=True)
class Imported:
    """What an import produced: file name -> text, what the user must do, and warnings."""

    files: dict[str, str]
    todo: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # each written resource ("container.web") -> the compose file and key it comes from
    origins: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Service:
    """One service being translated: its compose data, its container table, and extras."""

    key: str  # the compose service name
    name: str  # the container's name here
    data: dict[str, Any]
    file: str
    container: Table = field(default_factory=Table)
    build: Table | None = None

    def path(self, *keys: str | int) -> str:
        text = f"services.{self.key}"
        for key in keys:
            text += f"[{key}]" if isinstance(key, int) else f".{key}"
        return text


class Translation:
    """The project-wide state of one import; composekeys.py fills in the services."""

    def __init__(self, project: Project, prefix: str | None, out_dir: str) -> None:
        self.project = project
        self.prefix = prefix
        self.out_dir = out_dir
        self.project_name = _project_name(project, prefix)
        self.problems: list[Problem] = []
        self.todo: list[str] = []
        self.warnings: list[str] = []
        self.extra_files: dict[str, str] = {}
        self.names = {key: self._container_name(key, data) for key, data in _services(project)}
        self.volumes: dict[str, Table] = {}  # our name -> table
        self.networks: dict[str, Table] = {}
        self.volume_names = {k: self._resource_name(k, v) for k, v in project.volumes.items()}
        self.network_names = {k: self._resource_name(k, v) for k, v in project.networks.items()}
        self.used_ports: set[tuple[str, str, str]] = set()
        self.pods: dict[str, Table] = {}  # pod name -> table
        self.pod_of: dict[str, str] = {}  # service key -> pod name
        self.link_aliases: dict[str, list[str]] = {}  # service key -> names links give it
        self.builds: dict[str, str] = {}  # a build's table, as text -> the definition that has it

    def fail(self, service: Service | None, path: str, message: str) -> None:
        file = service.file if service else self.project.file_of(*path.split(".")[:2])
        self.problems.append(Problem(display(file or self.project.directory), path, message))

    def _container_name(self, key: str, data: dict[str, Any]) -> str:
        """The service's name (prefixed by --project); a container_name is kept as an alias."""
        return f"{self.prefix}-{key}" if self.prefix else key

    def _resource_name(self, key: str, data: Any) -> str:
        if isinstance(data, dict) and isinstance(data.get("name"), str) and data["name"]:
            return str(data["name"])
        external = data.get("external") if isinstance(data, dict) else None
        if isinstance(external, dict) and isinstance(external.get("name"), str):
            return str(external["name"])  # the old `external: { name: N }`
        if isinstance(data, dict) and data.get("external") is True:
            return key
        return f"{self.project_name}_{key}"

    def shown(self, path: str) -> str:
        """A path as the compose file wrote it: from the project's directory when inside it."""
        inside = path.startswith(self.project.directory + os.sep)
        return "./" + os.path.relpath(path, self.project.directory) if inside else path

    def network_name(self, key: str) -> str:
        if key not in self.network_names:
            self.network_names[key] = self._resource_name(key, None)
        return self.network_names[key]


def _services(project: Project) -> list[tuple[str, dict[str, Any]]]:
    return [(k, v if isinstance(v, dict) else {}) for k, v in project.services.items()]


def _project_name(project: Project, prefix: str | None) -> str:
    """The name docker compose gives the project: --project, the file's `name`,
    COMPOSE_PROJECT_NAME, else the directory's name, lower case, other characters dropped."""
    name = prefix or project.name or project.env.get("COMPOSE_PROJECT_NAME")
    name = name or os.path.basename(project.directory)
    return _NAME_CHARS.sub("", name.lower()).lstrip("_-") or "default"


def import_compose(
    files: Sequence[str],
    *,
    out_dir: str,
    environ: Mapping[str, str],
    env_files: Sequence[str] = (),
    profiles: Sequence[str] = (),
    prefix: str | None = None,
) -> Imported:
    """Read the compose files (the first one's directory is the project's) and translate them.
    Raises DefinitionError with every problem, naming the file and YAML key path."""
    from orchestrator.convert import composekeys

    directory = os.path.dirname(os.path.abspath(files[0]))
    env_paths = list(env_files) or [
        p for p in [os.path.join(directory, ".env")] if os.path.isfile(p)
    ]
    dotenv: dict[str, str] = {}
    for path in env_paths:
        dotenv.update(read_env(path, {**dotenv, **environ}))
    env = {**dotenv, **environ}  # the process environment wins over .env, as in docker compose
    active = [*profiles, *filter(None, env.get("COMPOSE_PROFILES", "").split(","))]
    project = load_project(files, env, active)
    if not project.services:
        raise DefinitionError([Problem(display(files[0]), "services", "no service to import")])
    translation = Translation(project, prefix, out_dir)
    services = composekeys.translate_services(translation)
    if translation.problems:
        raise DefinitionError(translation.problems)
    warnings = [
        f"the variable {name} is not set: a blank string is used, as docker compose does"
        for name in sorted(project.missing)
    ]
    warnings += [
        f"service {key} left out: its profiles ({', '.join(profiles)}) are not active"
        for key, profiles in project.left_out.items()
    ] + translation.warnings
    origins = {
        f"{kind}.{s.name}": (display(s.file), s.path())
        for s in services
        for kind in ("container", "build")
    }
    origins.update({f"pod.{pod}": ("", "") for pod in translation.pods})
    return Imported(_files(translation, services), translation.todo, warnings, origins)


def file_name(key: str, suffix: str = ".toml") -> str:
    """The file a service is written into: its key when that is a plain file name, else the key
    made one (a key like "../../etc" or "a/b" would name a file outside the directory, one of
    300 characters none at all); the loader then refuses the name itself, naming the key."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", key):
        return f"{key}{suffix}"
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', key)[:64].lstrip('.')}-{digest}{suffix}"


def _files(translation: Translation, services: list[Service]) -> dict[str, str]:
    def shown(file: str) -> str:  # as the user knows it: from the project's directory
        return os.path.relpath(file, translation.project.directory)

    sources = ", ".join(sorted({shown(s.file) for s in services}))
    files: dict[str, str] = {}
    for service in services:
        resources = [("container", service.name, service.container)]
        if service.build is not None:
            resources.append(("build", service.name, service.build))
        for pod, table in translation.pods.items():
            if translation.pod_of.get(service.key) == pod and pod == f"{service.name}-pod":
                resources.insert(0, ("pod", pod, table))
        header = [
            f"Imported from {shown(service.file)} (service {service.key}) by "
            "`orchestrator import compose`."
        ]
        files[file_name(service.key)] = dumps(header, resources)
    shared = [("network", n, t) for n, t in sorted(translation.networks.items())]
    shared += [("volume", n, t) for n, t in sorted(translation.volumes.items())]
    if shared:
        name = RESOURCES_FILE if f"{RESOURCES_FILE}" not in files else f"_{RESOURCES_FILE}"
        header = [
            f"Imported from {sources} by `orchestrator import compose`: the project's "
            "networks and volumes."
        ]
        files[name] = dumps(header, shared)
    files.update(translation.extra_files)
    return files


def qualified_image(reference: str) -> str:
    """A short image name as docker resolves it (Docker Hub, library/ for one component); a
    reference with a registry (a dot, a port or localhost in its first part) as it is."""
    first, slash, _ = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return reference
    if not slash:
        return f"docker.io/library/{reference}"
    return f"docker.io/{reference}"


def network_table(translation: Translation, key: str, data: Any) -> Table:
    """A top-level network as a [network.NAME] table."""
    table = Table()
    data = data if isinstance(data, dict) else {}
    path = f"networks.{key}"
    if data.get("external"):
        table.notes.append(
            "external in compose: it must exist already; this unit creates it only if it does not"
        )
    driver = data.get("driver")
    if driver in ("overlay",):
        table.notes.append(f'compose driver "{driver}" is Docker Swarm\'s: a bridge here')
    elif driver not in (None, "bridge", "default"):
        table.set("driver", str(driver))
    options = data.get("driver_opts")
    if isinstance(options, dict) and options:
        table.set("options", Table([(str(k), _scalar(v), []) for k, v in options.items()]))
    if data.get("internal"):
        table.set("internal", True)
    if data.get("enable_ipv6"):
        table.set("ipv6", True)
    _ipam(translation, table, data.get("ipam"), path)
    labels = _mapping_of(data.get("labels"))
    if labels:
        table.set("labels", Table([(k, v, []) for k, v in labels.items()]))
    for dropped in ("attachable",):
        if dropped in data:
            table.notes.append(
                f"compose {dropped} = {cv.show(data[dropped])}: Swarm only, left out"
            )
    for unknown in set(data) - _NETWORK_KEYS:
        if not unknown.startswith("x-"):
            translation.fail(None, f"{path}.{unknown}", "no meaning here (not a network key)")
    return table


_NETWORK_KEYS = {
    "external",
    "driver",
    "driver_opts",
    "internal",
    "enable_ipv6",
    "ipam",
    "labels",
    "attachable",
    "name",
}


def _ipam(translation: Translation, table: Table, ipam: Any, path: str) -> None:
    if not isinstance(ipam, dict):
        return
    if ipam.get("driver") not in (None, "default"):
        table.notes.append(f"compose ipam.driver {ipam['driver']!r}: podman's own is used")
    configs = ipam.get("config") or []
    if not isinstance(configs, list):
        translation.fail(None, f"{path}.ipam.config", "expected a list")
        return
    for index, config in enumerate(configs):
        if not isinstance(config, dict):
            continue
        if index > 0:
            table.notes.append(
                f"compose also gives the subnet {config.get('subnet')!r}: orchestrator declares "
                "one subnet per network, so it is left out"
            )
            continue
        for ours, theirs in (
            ("subnet", "subnet"),
            ("ip_range", "ip_range"),
            ("gateway", "gateway"),
        ):
            if config.get(theirs):
                table.set(ours, str(config[theirs]))
        if config.get("aux_addresses"):
            table.notes.append("compose ipam aux_addresses: podman has none, left out")


def volume_table(translation: Translation, key: str, data: Any) -> Table:
    table = Table()
    data = data if isinstance(data, dict) else {}
    if data.get("external"):
        table.notes.append(
            "external in compose: it must exist already; this unit creates it only if it does not"
        )
    if data.get("driver") not in (None, "local"):
        table.set("driver", str(data["driver"]))
    options = data.get("driver_opts")
    if isinstance(options, dict) and options:
        table.set("options", Table([(str(k), _scalar(v), []) for k, v in options.items()]))
    labels = _mapping_of(data.get("labels"))
    if labels:
        table.set("labels", Table([(k, v, []) for k, v in labels.items()]))
    for unknown in set(data) - {"external", "driver", "driver_opts", "labels", "name"}:
        if not unknown.startswith("x-"):
            translation.fail(None, f"volumes.{key}.{unknown}", "no meaning here (not a volume key)")
    if not data.get("external") and "name" not in data:
        table.notes.append(
            f"docker compose names this volume {translation.volume_names.get(key, key)} too, so "
            "the data it holds is used"
        )
    return table


def _scalar(value: Any) -> str:
    """A compose value as text: booleans as YAML writes them, null as nothing."""
    from orchestrator.core.values import scalar_text

    try:
        return "" if value is None else scalar_text(value)
    except ValueError:
        return str(value)


def _mapping_of(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        pairs = (str(item).partition("=") for item in value)
        return {k: v for k, _, v in pairs}
    if isinstance(value, dict):
        return {str(k): _scalar(v) for k, v in value.items()}
    return {}
