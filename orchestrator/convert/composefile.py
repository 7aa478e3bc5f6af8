"""A compose project read as docker compose reads it: several files merged in order, `.env` and the
process environment interpolated into every value (per file, before the merge), relative paths
made absolute (from the first file's directory; an `extends`ed or `include`d file's from its own),
`extends` and `include` resolved, `x-` fields dropped and services of inactive profiles left out.
The result is plain data for compose.py to translate; nothing here knows orchestrator's keys."""

from __future__ import annotations

import copy
import errno
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.convert.interpolate import InterpolationError, Interpolator, read_env_file
from orchestrator.convert.yamlread import Override, Reset, YamlError, read_documents
from orchestrator.errors import DefinitionError, Problem

TOP_LEVEL = ("services", "volumes", "networks", "secrets", "configs")
IGNORED_TOP_LEVEL = ("version", "name", "include")
# replaced, not appended, when a later file sets them (the spec's "shell commands")
_REPLACED = {("command",), ("entrypoint",), ("healthcheck", "test")}
# lists whose entries a later file replaces when they share this key
_UNIQUE_BY = {"volumes": "target", "secrets": "target", "configs": "target"}
_AS_MAPPING = ("environment", "labels", "annotations", "sysctls")
_AS_LIST = (
    "dns",
    "dns_search",
    "dns_opt",
    "tmpfs",
    "env_file",
    "cap_add",
    "cap_drop",
    "expose",
    "group_add",
    "security_opt",
    "devices",
    "ports",
    "volumes",
    "secrets",
    "configs",
    "links",
    "volumes_from",
    "external_links",
    "device_cgroup_rules",
    "label_file",
)
MAX_FILES = 64  # extends and include chains: a loop or a runaway is an error, not a hang


@dataclass
class Project:
    directory: str
    name: str | None = None
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, Any] = field(default_factory=dict)
    networks: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    configs: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # "services.web" -> file that set it
    missing: set[str] = field(default_factory=set)  # variables used but not set
    left_out: dict[str, list[str]] = field(default_factory=dict)  # service -> its profiles
    env: dict[str, str] = field(default_factory=dict)  # what the variables were

    def file_of(self, section: str, name: str) -> str:
        return self.origin.get(f"{section}.{name}", "")


def display(path: str) -> str:
    return os.path.relpath(path) if not os.path.relpath(path).startswith("../..") else path


class Loader:
    """Reads the files of one project; every problem found is kept, and raised together."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.interpolate = Interpolator(env)
        self.problems: list[Problem] = []
        self.files_read = 0
        self.including: tuple[str, ...] = ()

    def fail(self, file: str, path: str, message: str, line: int | None = None) -> None:
        self.problems.append(Problem(display(file), path, message, line))

    def check(self) -> None:
        if self.problems:
            raise DefinitionError(self.problems)

    def read(self, path: str, base: str) -> list[dict[str, Any]]:
        """The documents of one file, interpolated, with relative paths made absolute from base."""
        self.files_read += 1
        if self.files_read > MAX_FILES:
            self.fail(
                path, "", f"more than {MAX_FILES} compose files (an extends or include loop?)"
            )
            return []
        if os.path.exists(path) and not os.path.isfile(path):  # a FIFO would block for ever
            self.fail(path, "", "not a regular file")
            return []
        try:
            text = read_text(path, 4 * 2**20)
        except (OSError, UnicodeDecodeError) as exc:
            self.fail(path, "", f"cannot read it: {getattr(exc, 'strerror', None) or exc}")
            return []
        try:
            documents = read_documents(text)
        except YamlError as exc:
            self.problems.append(Problem(display(path), "", str(exc), exc.line, exc.column))
            return []
        result = []
        for number, document in enumerate(documents):
            if document is None:
                continue
            where = f"(document {number + 1})" if len(documents) > 1 else ""
            if not isinstance(document, dict):
                self.fail(
                    path, where, f"expected a mapping of services, ..., got {_kind(document)}"
                )
                continue
            document = typed(self._interpolated(document, path, ""))
            result.append(self._absolute(document, path, base))
        return result

    def _interpolated(self, value: Any, file: str, path: str) -> Any:
        if isinstance(value, str):
            try:
                return self.interpolate(value)
            except InterpolationError as exc:
                self.fail(file, path, f"interpolation: {exc}")
                return value
        if isinstance(value, dict):
            return {
                k: self._interpolated(v, file, f"{path}.{k}" if path else k)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._interpolated(v, file, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, Override):
            return Override(self._interpolated(value.value, file, path))
        return value

    def _absolute(self, document: dict[str, Any], file: str, base: str) -> dict[str, Any]:
        services = document.get("services")
        if isinstance(services, dict):
            for name, service in services.items():
                if isinstance(service, dict):
                    services[name] = absolute_paths(service, base)
        for section in ("secrets", "configs"):
            entries = document.get(section)
            for entry in entries.values() if isinstance(entries, dict) else ():
                if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                    entry["file"] = _path(entry["file"], base)
        return document


_BOOLS = {"true": True, "yes": True, "y": True, "on": True, "1": True,
          "false": False, "no": False, "n": False, "off": False, "0": False}  # fmt: skip
_TYPED: list[tuple[tuple[str, ...], str]] = [
    (("services", "*", key), "bool")
    for key in ("privileged", "read_only", "init", "tty", "stdin_open", "oom_kill_disable")
] + [
    (("services", "*", key), "int")
    for key in ("pids_limit", "scale", "cpu_shares", "mem_swappiness", "oom_score_adj")
] + [
    (("services", "*", "cpus"), "float"),
    (("services", "*", "healthcheck", "retries"), "int"),
    (("services", "*", "healthcheck", "disable"), "bool"),
    (("services", "*", "deploy", "replicas"), "int"),
    (("services", "*", "deploy", "resources", "limits", "pids"), "int"),
    (("services", "*", "ulimits", "*"), "int"),
    (("services", "*", "ulimits", "*", "soft"), "int"),
    (("services", "*", "ulimits", "*", "hard"), "int"),
    (("services", "*", "depends_on", "*", "required"), "bool"),
    (("services", "*", "depends_on", "*", "restart"), "bool"),
    (("services", "*", "build", "pull"), "bool"),
    (("services", "*", "volumes", "*", "read_only"), "bool"),
    (("services", "*", "env_file", "*", "required"), "bool"),
] + [
    ((section, "*", key), "bool")
    for section in ("networks", "volumes", "secrets", "configs")
    for key in ("external", "internal", "attachable", "enable_ipv6")
]  # fmt: skip


def typed(document: Any, path: tuple[str, ...] = ()) -> Any:
    """Strings where compose's schema has a boolean or a number (after interpolation,
    `privileged: ${PRIV}` is the string "false") converted as docker compose converts them; what
    does not convert is left for the translation to refuse."""
    if isinstance(document, dict):
        return {k: typed(v, (*path, k)) for k, v in document.items()}
    if isinstance(document, list):
        return [typed(v, (*path, "*")) for v in document]
    if not isinstance(document, str):
        return document
    for pattern, kind in _TYPED:
        if len(pattern) == len(path) and all(
            p in ("*", q) for p, q in zip(pattern, path, strict=True)
        ):
            return _convert(document, kind)
    return document


def _convert(text: str, kind: str) -> Any:
    try:
        if kind == "bool":
            return _BOOLS.get(text.strip().lower(), text)
        return int(text) if kind == "int" else float(text)
    except ValueError:
        return text


def _kind(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _path(text: str, base: str) -> str:
    if text.startswith("~"):
        text = os.path.expanduser(text)
    return os.path.normpath(os.path.join(base, text))


def is_bind_source(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def absolute_paths(service: dict[str, Any], base: str) -> dict[str, Any]:
    """The service with its relative host paths made absolute from base, as compose does when it
    loads a file: build contexts, env files, bind mount sources, label files, extends files."""
    build = service.get("build")
    if isinstance(build, str):
        service["build"] = build = {"context": build}
    if isinstance(build, dict):
        context = build.get("context", ".")
        if isinstance(context, str) and "://" not in context and not context.startswith("git@"):
            build["context"] = _path(context, base)
    env_file = service.get("env_file")
    if isinstance(env_file, str | dict):
        env_file = service["env_file"] = [env_file]
    if isinstance(env_file, list):
        for index, item in enumerate(env_file):
            if isinstance(item, str):
                env_file[index] = _path(item, base)
            elif isinstance(item, dict) and isinstance(item.get("path"), str):
                item["path"] = _path(item["path"], base)
    volumes = service.get("volumes")
    if isinstance(volumes, list):
        service["volumes"] = [_absolute_volume(volume, base) for volume in volumes]
    for key in ("label_file",):
        if isinstance(service.get(key), str):
            service[key] = _path(service[key], base)
    extends = service.get("extends")
    if isinstance(extends, dict) and isinstance(extends.get("file"), str):
        extends["file"] = _path(extends["file"], base)
    return service


def _absolute_volume(volume: Any, base: str) -> Any:
    if isinstance(volume, str):
        parts = volume.split(":")
        if len(parts) >= 2 and is_bind_source(parts[0]):
            return ":".join([_path(parts[0], base), *parts[1:]])
        return volume
    if isinstance(volume, dict) and volume.get("type", "volume") == "bind":
        source = volume.get("source")
        if isinstance(source, str):
            volume["source"] = _path(source, base)
    return volume


def normalize(service: dict[str, Any]) -> dict[str, Any]:
    """The forms that merge by key (environment, labels, depends_on, networks, build args, ...)
    as mappings, and the ones that may be a single string as lists, before any merge."""
    for key in _AS_MAPPING:
        if isinstance(service.get(key), list):
            service[key] = _pairs(service[key])
    build = service.get("build")
    if isinstance(build, dict) and isinstance(build.get("args"), list):
        build["args"] = _pairs(build["args"])
    if isinstance(build, dict) and isinstance(build.get("labels"), list):
        build["labels"] = _pairs(build["labels"])
    for key in _AS_LIST:
        if isinstance(service.get(key), str | int):
            service[key] = [service[key]]
    if isinstance(service.get("depends_on"), list):
        service["depends_on"] = {
            str(name): {"condition": "service_started"} for name in service["depends_on"]
        }
    if isinstance(service.get("networks"), list):
        service["networks"] = {str(name): None for name in service["networks"]}
    if isinstance(service.get("extra_hosts"), dict):
        service["extra_hosts"] = [
            f"{host}={ip}"
            for host, ips in service["extra_hosts"].items()
            for ip in (ips if isinstance(ips, list) else [ips])
        ]
    return service


def _pairs(items: list[Any]) -> dict[str, Any]:
    """["KEY=VALUE", "KEY"] as a mapping; a bare KEY maps to None (its value comes from the
    environment)."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        result[key] = value if sep else None
    return result


def merge(base: Any, over: Any, path: tuple[str, ...] = ()) -> Any:
    """over merged onto base by the spec's rules: mappings key by key, sequences appended (some
    unique by a key, some replaced), scalars replaced; !reset drops, !override replaces."""
    if isinstance(over, Override):
        return copy.deepcopy(over.value)
    if isinstance(base, dict) and isinstance(over, dict):
        result = dict(base)
        for key, value in over.items():
            if isinstance(value, Reset):
                result.pop(key, None)
            elif key in result:
                result[key] = merge(result[key], value, (*path, key))
            else:
                result[key] = _plain(value)
        return result
    # a service's own keys: ("services", NAME, key, ...)
    own = path[2:] if path[:1] == ("services",) else ()
    if isinstance(base, list) and isinstance(over, list) and own not in _REPLACED:
        unique = _UNIQUE_BY.get(own[0]) if len(own) == 1 else None
        merged = list(base)
        for item in over:
            if unique is not None and (index := _same_target(merged, item, unique)) is not None:
                merged[index] = item
            elif item not in merged:
                merged.append(item)
        return merged
    return _plain(over)


def _plain(value: Any) -> Any:
    """A value from a file, without the markers (a !reset with nothing to reset is nothing)."""
    if isinstance(value, Override):
        return _plain(value.value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [_plain(v) for v in value if not isinstance(v, Reset)]
    return None if isinstance(value, Reset) else value


def _same_target(items: list[Any], item: Any, key: str) -> int | None:
    target = _target_of(item, key)
    if target is None:
        return None
    for index, existing in enumerate(items):
        if _target_of(existing, key) == target:
            return index
    return None


def _target_of(item: Any, key: str) -> str | None:
    if isinstance(item, dict):
        value = item.get(key) or item.get("source")
        return str(value) if value is not None else None
    if isinstance(item, str):
        parts = item.split(":")
        return parts[1] if key == "target" and len(parts) >= 2 else parts[0]
    return None


def load_project(
    files: Sequence[str],
    env: Mapping[str, str],
    profiles: Sequence[str] = (),
    including: tuple[str, ...] = (),
) -> Project:
    """The merged, interpolated project of these compose files (the first one's directory is the
    project's), with extends and include resolved and inactive profiles left out. including:
    the files whose `include` led here, outermost first."""
    loader = Loader(env)
    loader.including = (*including, *(os.path.abspath(f) for f in files))
    project = Project(directory=os.path.dirname(os.path.abspath(files[0])), env=dict(env))
    merged: dict[str, Any] = {}
    for path in files:
        for document in loader.read(path, project.directory):
            _check_top_level(loader, path, document)
            _record_origin(project, path, document)
            _normalize_services(document)
            merged = merge(merged, document)
            if isinstance(document.get("name"), str):
                project.name = document["name"]
    loader.check()
    for section in TOP_LEVEL:
        value = merged.get(section) or {}
        if not isinstance(value, dict):
            loader.fail(files[0], section, f"expected a mapping, got {_kind(value)}")
            value = {}
        setattr(project, section, {k: v for k, v in value.items() if not k.startswith("x-")})
    _include(loader, project, merged.get("include"), files[0], profiles)
    loader.check()
    _resolve_extends(loader, project)
    loader.check()
    _apply_profiles(loader, project, profiles)
    loader.check()
    project.missing = loader.interpolate.missing
    return project


_COMPOSE_NAME = re.compile(r"[a-zA-Z0-9._-]+")


def _check_top_level(loader: Loader, path: str, document: dict[str, Any]) -> None:
    for key in document:
        if key not in TOP_LEVEL and key not in IGNORED_TOP_LEVEL and not key.startswith("x-"):
            loader.fail(path, key, "unknown top-level key of a compose file")
    for kind in TOP_LEVEL:
        names = document.get(kind)
        if not isinstance(names, dict):
            continue
        for name in list(names):
            # compose's own rule; the names become file names and podman names here
            if not _COMPOSE_NAME.fullmatch(name) or name in (".", ".."):
                loader.fail(path, f"{kind}.{name}", "expected a name of letters, digits, . _ -")
                del names[name]
    for key in TOP_LEVEL:
        section = document.get(key)
        if section is not None and not isinstance(section, dict | Reset | Override):
            loader.fail(path, key, f"expected a mapping of names, got {_kind(section)}")
            document[key] = {}


def _record_origin(project: Project, path: str, document: dict[str, Any]) -> None:
    for section in TOP_LEVEL:
        for name in document.get(section) or {}:
            project.origin.setdefault(f"{section}.{name}", path)


def _normalize_services(document: dict[str, Any]) -> None:
    services = document.get("services")
    if not isinstance(services, dict):
        return
    for name, service in services.items():
        if isinstance(service, dict):
            services[name] = normalize(service)


def _include(
    loader: Loader, project: Project, include: Any, file: str, profiles: Sequence[str]
) -> None:
    """`include:` entries are projects of their own (their directory, their .env), whose
    resources join this one; a name both declare is an error, as in docker compose."""
    if include is None:
        return
    if not isinstance(include, list):
        loader.fail(file, "include", f"expected a list of files, got {_kind(include)}")
        return
    for index, entry in enumerate(include):
        where = f"include[{index}]"
        spec = {"path": entry} if isinstance(entry, str) else entry
        paths = spec.get("path") if isinstance(spec, dict) else None
        paths = [paths] if isinstance(paths, str) else paths
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            loader.fail(file, where, "expected a file, or a table with path")
            continue
        absolute = [_path(p, project.directory) for p in paths]
        env = dict(loader.interpolate.env)
        env_file = os.path.join(os.path.dirname(absolute[0]), ".env")
        if os.path.isfile(env_file):
            env = {**read_env(env_file), **env}
        loop = [p for p in absolute if p in loader.including]
        if loop:
            chain = " -> ".join(display(p) for p in (*loader.including, loop[0]))
            loader.fail(file, where, f"includes itself: {chain}")
            continue
        loader.files_read += len(absolute)
        if len(loader.including) + loader.files_read > MAX_FILES:
            loader.fail(file, where, f"more than {MAX_FILES} compose files (an include loop?)")
            return
        try:
            included = load_project(absolute, env, profiles, loader.including)
        except DefinitionError as exc:
            loader.problems.extend(exc.problems)
            continue
        for section in TOP_LEVEL:
            mine, theirs = getattr(project, section), getattr(included, section)
            for name, value in theirs.items():
                if name in mine and mine[name] != value:
                    loader.fail(
                        file, f"{where}.{section}.{name}", "declared here and in " + paths[0]
                    )
                mine.setdefault(name, value)
                project.origin.setdefault(f"{section}.{name}", included.file_of(section, name))
        project.left_out.update(included.left_out)


def read_text(path: str, limit: int) -> str:
    """A regular file's text, read up to one character past limit (the callers' size checks
    see it): a FIFO or a device in a file's place is refused, never opened to block or read
    for ever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with open(fd, encoding="utf-8", closefd=False) as handle:
            return handle.read(limit + 1)
    finally:
        os.close(fd)


def read_env(path: str, outer: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of an env file (raises DefinitionError naming the file)."""
    if os.path.exists(path) and not os.path.isfile(path):  # a FIFO would block for ever
        raise DefinitionError([Problem(display(path), "", "not a regular file")])
    try:
        text = read_text(path, 2**20)
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(
            [Problem(display(path), "", f"cannot read it: {getattr(exc, 'strerror', None) or exc}")]
        ) from None
    try:
        return read_env_file(text, outer or {}, display(path))
    except InterpolationError as exc:
        raise DefinitionError([Problem(display(path), "", str(exc))]) from None


def _resolve_extends(loader: Loader, project: Project) -> None:
    done: dict[str, dict[str, Any]] = {}
    for name in list(project.services):
        project.services[name] = _extended(
            loader, project.services, name, project.file_of("services", name), done, ()
        )


def _extended(
    loader: Loader,
    services: dict[str, Any],
    name: str,
    file: str,
    done: dict[str, dict[str, Any]],
    chain: tuple[str, ...],
) -> dict[str, Any]:
    key = f"{file}:{name}"
    if key in done:
        return done[key]
    service = services.get(name)
    if not isinstance(service, dict):
        service = {} if service is None else service
        if not isinstance(service, dict):
            loader.fail(file, f"services.{name}", f"expected a mapping, got {_kind(service)}")
            return {}
    extends = service.get("extends")
    if extends is None:
        done[key] = service
        return service
    where = f"services.{name}.extends"
    if key in chain or len(chain) > MAX_FILES:
        loader.fail(file, where, "extends itself, through " + " -> ".join((*chain, key)))
        return service
    if isinstance(extends, str):
        extends = {"service": extends}
    if not isinstance(extends, dict) or not isinstance(extends.get("service"), str):
        loader.fail(file, where, "expected a service name, or a table { service, file }")
        return service
    base_name, base_file = extends["service"], extends.get("file")
    if isinstance(base_file, str):
        documents = loader.read(base_file, os.path.dirname(base_file))
        others: dict[str, Any] = {}
        for document in documents:
            _normalize_services(document)
            others = merge(others, document.get("services") or {})
        base_services, origin = others, base_file
    else:
        base_services, origin = services, file
    if base_name not in base_services:
        loader.fail(file, where, f"no service {base_name!r} to extend in {display(origin)}")
        return service
    base = _extended(loader, base_services, base_name, origin, done, (*chain, key))
    own = {k: v for k, v in service.items() if k != "extends"}
    result: dict[str, Any] = merge(copy.deepcopy(base), own, ("services", name))
    done[key] = result
    return result


def _apply_profiles(loader: Loader, project: Project, profiles: Sequence[str]) -> None:
    active = set(profiles)
    for name, service in list(project.services.items()):
        wanted = service.get("profiles") if isinstance(service, dict) else None
        if wanted is None:
            continue
        if not isinstance(wanted, list) or not all(isinstance(p, str) for p in wanted):
            loader.fail(
                project.file_of("services", name),
                f"services.{name}.profiles",
                "expected a list of profile names",
            )
            continue
        if "*" not in active and not active & set(wanted):
            project.left_out[name] = wanted
            del project.services[name]
    for name, service in project.services.items():
        depends = service.get("depends_on") if isinstance(service, dict) else None
        for other in depends if isinstance(depends, dict) else ():
            if other in project.left_out:
                needed = " or ".join(f"--profile {p}" for p in project.left_out[other])
                loader.fail(
                    project.file_of("services", name),
                    f"services.{name}.depends_on.{other}",
                    f"{other} is in a profile that is not active: add {needed}",
                )
