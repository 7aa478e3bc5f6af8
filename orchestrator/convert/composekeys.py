"""Each compose service key, translated into the keys of a [container.NAME] table.

HANDLERS maps a compose key to the function that translates it; a key that is in no table is
refused. Functions add notes where the translation is not word for word, and call fail() where a
key has no meaning here (then nothing is written).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from typing import Any, TypeVar

from orchestrator.convert import composevalues as cv
from orchestrator.convert.compose import (
    Service,
    Translation,
    _scalar,
    network_table,
    qualified_image,
    volume_table,
)
from orchestrator.convert.composefile import is_bind_source
from orchestrator.convert.tomlout import Table
from orchestrator.core.limits import ARGV_BUDGET, MAX_ARG_STRLEN
from orchestrator.core.values import ENV_NAME_RE, HOSTNAME_RE
from orchestrator.errors import DefinitionError

T = TypeVar("T")
Handler = Callable[[Translation, Service, Any], None]


def translate_services(tr: Translation) -> list[Service]:
    services = []
    for key, data in tr.project.services.items():
        file = tr.project.file_of("services", key)
        service = Service(key, tr.names[key], data if isinstance(data, dict) else {}, file)
        if not isinstance(data, dict):
            tr.fail(service, service.path(), f"expected a mapping of keys, got {cv.show(data)}")
            continue
        services.append(service)
    _pods(tr, services)
    _link_aliases(tr, services)
    for service in services:
        _translate(tr, service)
    _pod_networks(tr, services)
    for key, data in tr.project.networks.items():
        if tr.network_names[key] in tr.networks:
            tr.networks[tr.network_names[key]] = network_table(tr, key, data)
    for key, data in tr.project.volumes.items():
        if tr.volume_names[key] in tr.volumes:
            tr.volumes[tr.volume_names[key]] = volume_table(tr, key, data)
    return services


def _link_aliases(tr: Translation, services: list[Service]) -> None:
    """`links: [db:database]` makes db answer to "database": a network alias of db here."""
    for service in services:
        links = service.data.get("links")
        for item in links if isinstance(links, list) else []:
            other, _, alias = str(item).partition(":")
            if alias and alias != other and other in tr.project.services:
                tr.link_aliases.setdefault(other, []).append(alias)


def _translate(tr: Translation, service: Service) -> None:
    data = service.data
    if "image" not in data and "build" not in data:
        tr.fail(service, service.path(), "needs image or build, as in docker compose")
    for key in ORDER:
        # null, or a blank an unset variable left (`platform: ${PLATFORM:-}`): nothing to say,
        # as in docker compose; a blank command or entrypoint clears the image's
        blank = data.get(key) == "" and key not in ("command", "entrypoint")
        if key in data and key in HANDLERS and data[key] is not None and not blank:
            _handle(tr, service, key, data[key])
    for key, value in data.items():
        if key in HANDLERS or key.startswith("x-"):
            continue
        if key in DROPPED:
            service.container.tail.append(f"compose {key} = {_short(value)}: {DROPPED[key]}")
        elif key in REFUSED:
            tr.fail(service, service.path(key), REFUSED[key])
        else:
            tr.fail(service, service.path(key), "unknown compose key")
    if "restart" not in data and not _deploy_restart(data):
        service.container.set(
            "restart",
            "no",
            "compose's default: never restarted (docker does not start it at boot either; "
            'here it starts at boot). Set "on-failure" or "always" to have systemd restart it.',
        )
    joined = "networks" in service.container or service.key in tr.pod_of
    if not joined and data.get("network_mode") is None:
        _join(tr, service, {"default": None})


def _handle(tr: Translation, service: Service, key: str, value: Any) -> None:
    """One key's handler; a value of a shape it does not expect (a string where compose has a
    list, say) is refused naming the key, never a traceback."""
    try:
        HANDLERS[key](tr, service, value)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        tr.fail(service, service.path(key), f"cannot read {_short(value)}: {exc}")


def _short(value: Any) -> str:
    text = cv.show(value)
    return text if len(text) < 60 else text[:57] + "..."


def _deploy_restart(data: dict[str, Any]) -> bool:
    deploy = data.get("deploy")
    return isinstance(deploy, dict) and isinstance(deploy.get("restart_policy"), dict)


# --- image, build, command ------------------------------------------------------------------


def _image(tr: Translation, service: Service, value: Any) -> None:
    if "build" in service.data:
        return  # the build's tag
    if not isinstance(value, str) or not value:
        tr.fail(
            service, service.path("image"), f"expected an image reference, got {cv.show(value)}"
        )
        return
    full = qualified_image(value)
    notes = (
        []
        if full == value
        else [f"compose: {value} (a short name: Docker Hub, as docker reads it)"]
    )
    service.container.set("image", full, *notes)


def _build(tr: Translation, service: Service, value: Any) -> None:
    from orchestrator.convert.composebuild import build_table

    table = build_table(tr, service, value)
    if table is None:
        return
    # services that build the same image (one x- anchor for several) share one build
    same = repr(table.rows)
    first = tr.builds.setdefault(same, service.name)
    if first == service.name:
        service.build = table
        service.container.set("build", service.name)
    else:
        service.container.set("build", first, f"compose builds the same image for {first}")


def _words(tr: Translation, service: Service, key: str, value: Any) -> list[str] | None:
    if isinstance(value, str):
        if len(value) >= MAX_ARG_STRLEN:  # shlex takes quadratic time over one long word
            tr.fail(
                service,
                service.path(key),
                f"a string of {len(value):,} characters: podman's whole command line must fit "
                f"in {ARGV_BUDGET:,} bytes and each word in {MAX_ARG_STRLEN - 1:,}",
            )
            return None
        try:
            return shlex.split(value)
        except ValueError as exc:
            tr.fail(service, service.path(key), f"cannot split {value!r} into words: {exc}")
            return None
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [_scalar(v) for v in value]
    tr.fail(
        service, service.path(key), f"expected a string or a list of strings, got {cv.show(value)}"
    )
    return None


def _command(tr: Translation, service: Service, value: Any) -> None:
    words = None if value is None else _words(tr, service, "command", value)
    if words:
        notes = (
            ["compose splits the string into words as a shell does"]
            if isinstance(value, str)
            else []
        )
        service.container.set("command", words, *notes)
    elif words == []:
        service.container.tail.append("compose command = []: the image's own command runs")


def _entrypoint(tr: Translation, service: Service, value: Any) -> None:
    words = None if value is None else _words(tr, service, "entrypoint", value)
    if words:
        service.container.set("entrypoint", words)
    elif words == []:
        _podman_args(service, ["--entrypoint="], "compose entrypoint empty: the image's is cleared")


def _podman_args(service: Service, args: list[str], note: str) -> None:
    existing = service.container.get("podman_args", [])
    service.container.set("podman_args", [*existing, *args], note)


# --- environment ----------------------------------------------------------------------------


def _environment(tr: Translation, service: Service, value: Any) -> None:
    if not isinstance(value, dict):
        tr.fail(service, service.path("environment"), "expected a mapping or a list of KEY=VALUE")
        return
    table, odd = Table(), []
    for key, item in value.items():
        # podman takes any name but "=" (Elasticsearch's node.name); the key does not
        if not ENV_NAME_RE.fullmatch(key) and item is not None and "=" not in key:
            odd.append(f"--env={key}={_scalar(item)}")
            continue
        if item is None:
            found = tr.project.env.get(key)
            if found is None:
                table.notes.append(
                    f"{key}: compose passes it from its environment, where it was not set"
                )
                continue
            table.set(
                key, found, f"{key}: compose passes it from its environment; its value at import"
            )
            continue
        table.set(key, _scalar(item))
    service.container.set("environment", table)
    if odd:
        _podman_args(
            service,
            odd,
            "variables whose names hold other characters than letters, "
            "digits and _ are passed as podman's --env",
        )


def _env_file(tr: Translation, service: Service, value: Any) -> None:
    paths, notes = [], []
    for index, item in enumerate(value if isinstance(value, list) else [value]):
        entry = {"path": item} if isinstance(item, str) else item
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            tr.fail(
                service, service.path("env_file", index), "expected a path, or a table with path"
            )
            continue
        path = entry["path"]
        if entry.get("required") is False and not os.path.exists(path):
            notes.append(f"compose env_file {tr.shown(path)} is optional and missing: left out")
            continue
        if entry.get("format") not in (None, "raw"):
            tr.fail(service, service.path("env_file", index, "format"), "unknown env_file format")
        elif entry.get("format") is None and os.path.isfile(path):
            _as_compose_reads(tr, service, path)
        paths.append(path)
    if paths:
        service.container.set("env_files", paths, *notes)
    else:
        service.container.tail.extend(notes)


def _as_compose_reads(tr: Translation, service: Service, path: str) -> None:
    """compose reads an env_file's quotes, escapes and ${VAR}s; podman's --env-file takes each
    value as written. A value the two read differently is set in environment as compose reads
    it (environment wins over the file, in both), with a note."""
    from orchestrator.convert.composefile import read_env, read_text

    try:
        compose_reads = read_env(path, tr.project.env)
        lines = read_text(path, 2**20).splitlines()
    except (OSError, UnicodeDecodeError, DefinitionError):
        return  # podman will say what is wrong with it
    podman_reads = {}
    for line in lines:
        key, sep, value = line.lstrip().partition("=")
        if sep and not key.startswith("#"):
            podman_reads[key.removeprefix("export ").strip()] = value
    table = service.container.get("environment") or Table()
    differ = [
        key
        for key, value in compose_reads.items()
        if podman_reads.get(key) != value and key not in table and ENV_NAME_RE.fullmatch(key)
    ]
    for key in differ:
        table.set(key, compose_reads[key])
    if differ:
        table.notes.append(
            f"from {os.path.basename(path)}, as compose reads it (quotes, escapes, ${{VAR}}); "
            f"podman's --env-file would read {', '.join(differ)} differently"
        )
        service.container.set("environment", table)


def _parsed(
    tr: Translation, service: Service, key: str, value: Any, parse: Callable[[Any], T]
) -> list[tuple[int, T]]:
    """Each entry of a list, read by parse; one it cannot read is refused with its index."""
    found = []
    for index, item in enumerate(value if isinstance(value, list) else []):
        try:
            found.append((index, parse(item)))
        except ValueError as exc:
            tr.fail(service, service.path(key, index), str(exc))
    return found


# --- ports ----------------------------------------------------------------------------------


def _ports(tr: Translation, service: Service, value: Any) -> None:
    if service.data.get("network_mode") == "host":
        service.container.tail.append(
            "compose ports with network_mode host: the container listens on the host's own "
            "ports, so none are published (docker ignores them too)"
        )
        return
    target = _network_holder(tr, service)
    ports, exposed, notes = list(target.get("ports", [])), [], []
    for _, port in _parsed(tr, service, "ports", value, cv.port):
        if "-" in port.host and "-" not in port.container:
            first = port.host.split("-")[0]
            notes.append(
                f"compose publishes {port.container} on a free port of {port.host}: {first} here"
            )
            port = cv.Port(port.container, first, port.ip, port.protocol)
        if not port.host:
            key = (port.ip, port.container, port.protocol)
            if key in tr.used_ports:
                exposed.append(
                    port.container + ("" if port.protocol == "tcp" else f"/{port.protocol}")
                )
                notes.append(
                    f"compose publishes {port.container} on a random host port; the same port is "
                    "taken here, so it is only exposed"
                )
                continue
            port = cv.Port(port.container, port.container, port.ip, port.protocol)
            notes.append(
                f"compose publishes {port.container} on a random host port: the same port here"
            )
        tr.used_ports.add((port.ip, port.host, port.protocol))
        ports.append(port.text())
    if ports:
        target.set("ports", ports, *notes)
    if exposed:
        service.container.set("expose", [*service.container.get("expose", []), *exposed])
    if value is not None and not isinstance(value, list):
        tr.fail(service, service.path("ports"), "expected a list")


def _expose(tr: Translation, service: Service, value: Any) -> None:
    ports = [_scalar(v) for v in value] if isinstance(value, list) else []
    if ports:
        service.container.set("expose", [*service.container.get("expose", []), *ports])


def _network_holder(tr: Translation, service: Service) -> Table:
    """Where a service's network keys go: its container, or the pod it shares a network with."""
    pod = tr.pod_of.get(service.key)
    return tr.pods[pod] if pod else service.container


# --- networks -------------------------------------------------------------------------------


def _networks(tr: Translation, service: Service, value: Any) -> None:
    if service.data.get("network_mode") is not None:
        tr.fail(
            service, service.path("networks"), "cannot go with network_mode, as in docker compose"
        )
        return
    if not isinstance(value, dict):
        tr.fail(service, service.path("networks"), "expected a list or mapping of networks")
        return
    _join(tr, service, value)


def _own_aliases(tr: Translation, service: Service) -> tuple[list[str], list[str]]:
    """The names compose's container answers to besides the definition's, with why."""
    aliases, notes = [], []
    if service.name != service.key:
        aliases.append(service.key)
        notes.append(f"compose's containers answer to their service name too: alias {service.key}")
    given = service.data.get("container_name")
    if isinstance(given, str) and given not in (service.name, service.key):
        if HOSTNAME_RE.fullmatch(given):
            aliases.append(given)
            notes.append(
                f"compose container_name {given}: the definition is named after the service; "
                f"the container answers to {given} too (alias)"
            )
        else:
            notes.append(
                f"compose container_name {given}: the definition is named after the service; "
                f"{given} is no host name (an alias needs letters, digits, - and .), so the "
                f"container answers to {service.key} only"
            )
    for alias in tr.link_aliases.get(service.key, []):
        aliases.append(alias)
        notes.append(f"compose links name it {alias} too: alias {alias}")
    return aliases, notes


def _join(tr: Translation, service: Service, value: dict[str, Any]) -> None:
    holder = _network_holder(tr, service)
    names = list(holder.get("networks", []))
    aliases, notes = _own_aliases(tr, service)
    aliases[:0] = holder.get("network_aliases", [])
    addresses: dict[str, str] = {}
    for key, options in value.items():
        if key not in tr.project.networks and key != "default":
            tr.fail(
                service,
                service.path("networks", key),
                f"no network {key!r} is declared at the top level",
            )
            continue
        name = tr.network_name(key)
        tr.networks.setdefault(name, Table())
        names.append(name)
        options = options if isinstance(options, dict) else {}
        aliases += [str(a) for a in options.get("aliases") or [] if str(a) not in aliases]
        for ours, theirs in (
            ("ip", "ipv4_address"),
            ("ip6", "ipv6_address"),
            ("mac_address", "mac_address"),
        ):
            if options.get(theirs):
                addresses[ours] = str(options[theirs])
        for dropped in set(options) - {"aliases", "ipv4_address", "ipv6_address", "mac_address"}:
            notes.append(
                f"compose networks.{key}.{dropped}: podman has no such setting here, left out"
            )
    if addresses and len(names) > 1:
        tr.fail(
            service,
            service.path("networks"),
            "a static address on one of several networks: orchestrator sets addresses only on a "
            "container with one network",
        )
    holder.set("networks", names, *notes)
    if aliases:
        holder.set("network_aliases", list(dict.fromkeys(aliases)))
    for key, address in addresses.items():
        holder.set(key, address)


def _network_mode(tr: Translation, service: Service, value: Any) -> None:
    if value in ("host", "none"):
        service.container.set("networks", [value])
    elif value == "bridge":
        service.container.tail.append('compose network_mode = "bridge": podman\'s default network')
        service.container.set("networks", [])
        service.container.pop("networks")
    elif isinstance(value, str) and value.startswith(("service:", "container:")):
        if service.key in tr.pod_of:  # the pod (see _pods)
            service.container.tail.append(
                f"compose network_mode {value}: a container of the pod {tr.pod_of[service.key]}, "
                "which holds the ports and networks"
            )
    else:
        tr.fail(service, service.path("network_mode"), f"no meaning here: {cv.show(value)}")


def _pods(tr: Translation, services: list[Service]) -> None:
    """Services that share another's network (`network_mode: service:X`) become a pod named after
    X, as podman shares a network namespace: the pod holds the ports and networks of them all."""
    by_container = {s.name: s.key for s in services}
    leader: dict[str, str] = {}
    for service in services:
        mode = service.data.get("network_mode")
        if not isinstance(mode, str) or not mode.startswith(("service:", "container:")):
            continue
        kind, _, other = mode.partition(":")
        other = other if kind == "service" else by_container.get(other, "")
        if other not in tr.project.services:
            tr.fail(
                service,
                service.path("network_mode"),
                f"no service {mode.partition(':')[2]!r} in this project",
            )
            continue
        leader[service.key] = other
    for key in leader:
        root, seen = key, set()
        while root in leader and root not in seen:
            seen.add(root)
            root = leader[root]
        pod = f"{tr.names[root]}-pod"
        tr.pods.setdefault(
            pod,
            Table(
                notes=[
                    f"compose: {', '.join(sorted(k for k in leader if k != root))} share the "
                    f"network of {root}; in podman they share it as the containers of one pod, "
                    "which holds their ports and networks"
                ]
            ),
        )
        tr.pod_of[key] = tr.pod_of[root] = pod
    for service in services:
        if service.key in tr.pod_of:
            service.container.set("pod", tr.pod_of[service.key])


def _pod_networks(tr: Translation, services: list[Service]) -> None:
    """A pod is on the project's default network unless its services name networks, and answers
    to the names of all its services, as each of them did in compose."""
    for pod, table in tr.pods.items():
        members = [s for s in services if tr.pod_of.get(s.key) == pod]
        if "networks" not in table:
            name = tr.network_name("default")
            tr.networks.setdefault(name, Table())
            table.set("networks", [name])
        aliases = [*table.get("network_aliases", []), *(s.key for s in members)]
        table.set("network_aliases", list(dict.fromkeys(aliases)))


# --- volumes --------------------------------------------------------------------------------


def _volumes(tr: Translation, service: Service, value: Any) -> None:
    mounts: list[str] = []
    notes: list[str] = []
    tmpfs = list(service.container.get("tmpfs", []))
    for index, spec in _parsed(tr, service, "volumes", value, cv.volume):
        where = service.path("volumes", index)
        if spec.type == "tmpfs":
            options = ",".join(spec.options)
            tmpfs.append(f"{spec.target}:{options}" if options else spec.target)
            continue
        text = _mount(tr, service, spec, where, notes)
        if text is not None:
            mounts.append(text)
    if value is not None and not isinstance(value, list):
        tr.fail(service, service.path("volumes"), "expected a list")
    if mounts:
        service.container.set("volumes", mounts, *notes)
    else:
        service.container.tail.extend(notes)
    if tmpfs:
        service.container.set("tmpfs", tmpfs)


_DROPPED_MODES = {"cached", "delegated", "consistent"}


def _mount(
    tr: Translation, service: Service, spec: cv.VolumeSpec, where: str, notes: list[str]
) -> str | None:
    from orchestrator.core.values import VOLUME_OPTIONS

    if spec.type not in ("bind", "volume", "image"):
        tr.fail(
            service, where, f"a {spec.type} mount has no meaning here (Docker on Windows or Swarm)"
        )
        return None
    for key, _ in spec.extra:
        if key == "volume.subpath":
            tr.fail(service, where, "volume.subpath: podman 4.3 cannot mount part of a volume")
            return None
        if key != "bind.create_host_path":
            notes.append(f"compose {where.split('.', 2)[2]}.{key}: no meaning here, left out")
    options = [o for o in spec.options if o in VOLUME_OPTIONS]
    for option in spec.options:
        if option in _DROPPED_MODES:
            notes.append(f"compose mode {option!r} is for Docker Desktop's file sharing, left out")
        elif option not in VOLUME_OPTIONS:
            tr.fail(service, where, f"unknown mount option {option!r}")
    if spec.type == "image":
        service.container.set(
            "mounts",
            [
                *service.container.get("mounts", []),
                f"type=image,source={spec.source},target={spec.target}",
            ],
        )
        return None
    source = spec.source
    if source in ("/var/run/docker.sock", "/run/docker.sock"):
        notes.append(
            f"{source} is docker's socket: podman's is /run/podman/podman.sock (systemctl "
            "enable --now podman.socket), or $XDG_RUNTIME_DIR/podman/podman.sock rootless"
        )
    if spec.type == "bind":
        _create_host_path(tr, service, spec, notes)
    elif not source:
        source = _anonymous(tr, service, spec.target, notes)
    elif is_bind_source(source):
        pass
    elif source not in tr.project.volumes:
        tr.fail(service, where, f"no volume {source!r} is declared at the top level")
        return None
    else:
        source = tr.volume_names[source]
        tr.volumes.setdefault(source, Table())
    return f"{source}:{spec.target}" + (f":{','.join(options)}" if options else "")


def _create_host_path(
    tr: Translation, service: Service, spec: cv.VolumeSpec, notes: list[str]
) -> None:
    """docker creates a missing bind source as a directory; podman refuses to start. The unit
    creates a missing one of the project's own directory before the start, as docker would
    (unless the file says not to); a path elsewhere on the host is taken to be the host's."""
    create = dict(spec.extra).get("bind.create_host_path", True)
    inside = spec.source.startswith(tr.project.directory + os.sep)
    if not create or not inside or os.path.exists(spec.source):
        return
    if not all(c.isalnum() or c in "/._-" for c in spec.source):
        notes.append(
            f"{tr.shown(spec.source)} does not exist: docker would create it; create it first"
        )
        return
    unit = service.container.get("unit") or Table()
    section = unit.get("Service") or Table()
    pre = section.get("ExecStartPre", [])
    section.set("ExecStartPre", [*pre, f"/usr/bin/mkdir -p {spec.source}"])
    unit.set("Service", section)
    service.container.set("unit", unit)
    notes.append(
        f"{tr.shown(spec.source)} did not exist at import: docker creates it, so the unit does "
        "(ExecStartPre)"
    )


def _anonymous(tr: Translation, service: Service, target: str, notes: list[str]) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", target).strip("-.")
    name = f"{service.name}-{slug}"[:120] if slug else f"{service.name}-anonymous"
    tr.volumes.setdefault(
        name,
        Table(
            notes=[
                f"the anonymous volume of {service.key} at {target}: docker compose keeps it "
                "across restarts, so it is a named volume here"
            ]
        ),
    )
    notes.append(f"compose's anonymous volume at {target} is the volume {name} here")
    return name


def _tmpfs(tr: Translation, service: Service, value: Any) -> None:
    items = [str(v) for v in value] if isinstance(value, list) else []
    service.container.set("tmpfs", [*service.container.get("tmpfs", []), *items])


from orchestrator.convert.composemore import (  # noqa: E402  (they use the helpers above)
    DROPPED,
    MORE_HANDLERS,
    REFUSED,
)

HANDLERS: dict[str, Handler] = {
    "image": _image,
    "build": _build,
    "command": _command,
    "entrypoint": _entrypoint,
    "environment": _environment,
    "env_file": _env_file,
    "ports": _ports,
    "expose": _expose,
    "networks": _networks,
    "network_mode": _network_mode,
    "volumes": _volumes,
    "tmpfs": _tmpfs,
    **MORE_HANDLERS,
}
# the order keys are written in: what a reader looks for first
ORDER = tuple(
    dict.fromkeys(
        (
            "image",
            "build",
            "container_name",
            "command",
            "entrypoint",
            "user",
            "working_dir",
            "hostname",
            "environment",
            "env_file",
            "network_mode",
            "networks",
            "ports",
            "expose",
            "volumes",
            "tmpfs",
            *sorted(HANDLERS),
        )
    )
)
