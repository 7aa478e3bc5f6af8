"""The facts `orchestrator doctor` judges (core/doctor.py decides): read from files under /proc,
/sys and /etc, asked of podman and of systemd. A question that cannot be answered is answered
with the value that makes doctor say so, never with an exception."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import pwd
import re
import socket
import stat
from collections.abc import Callable

from orchestrator.core.compat import parse_version
from orchestrator.core.doctor import (
    Cgroups,
    DefinitionFacts,
    HostFacts,
    needed_paths,
    published,
    pulled_images,
)
from orchestrator.core.models import Spec
from orchestrator.core.target import Mode
from orchestrator.host import paths, registries, runner

CATATONIT = (  # where podman looks for its --init binary when containers.conf names none
    "/usr/libexec/podman/catatonit",
    "/usr/lib/podman/catatonit",
    "/usr/libexec/catatonit/catatonit",
    "/usr/bin/catatonit",
)
JOURNALD_CONF = (
    "/usr/lib/systemd/journald.conf.d",
    "/etc/systemd/journald.conf",
    "/etc/systemd/journald.conf.d",
)


def host(mode: Mode) -> HostFacts:
    user = mode == "user"
    uid = os.getuid() if user else 0
    name = _user_name(uid)
    version, error = _manager(user)
    runtime, runtime_version = _oci_runtime()
    reg = registries.load(user)
    return HostFacts(
        mode=mode,
        user=name,
        uid=uid,
        pid1=_read("/proc/1/comm"),
        manager_error=error,
        systemd_version=version,
        podman_version=_podman_version(),
        oci_runtime=runtime,
        runtime_version=runtime_version,
        cgroups=_cgroups(),
        catatonit=_catatonit(),
        subuid=_has_subids("/etc/subuid", name, uid),
        subgid=_has_subids("/etc/subgid", name, uid),
        linger=os.path.exists(f"/var/lib/systemd/linger/{name}"),
        runtime_dir=os.path.isdir(os.environ.get("XDG_RUNTIME_DIR") or "/nonexistent"),
        tun=_is_char_device("/dev/net/tun"),
        network_online=_wanted_by("network-online.target"),
        short_name_mode=reg.mode,
        search_registries=reg.search,
        registries_files=reg.files,
        selinux=_selinux(),
        apparmor=_read("/sys/module/apparmor/parameters/enabled") == "Y",
        journal_storage=_journal_storage(),
        journal_dir=os.path.isdir("/var/log/journal"),
    )


def definitions(spec: Spec, mode: Mode) -> DefinitionFacts:
    from orchestrator.host import podman

    images = pulled_images(spec)
    secrets = sorted({s.name for c in spec.containers.values() for s in c.secrets})
    ports = sorted({p for c in spec.containers.values() for p in published(c.ports)})
    reg = registries.load(mode == "user")
    unpullable = {}
    for image in registries.short_names(spec):
        resolution = registries.resolve(reg, image)
        if resolution.problem:
            unpullable[image] = f"a short name podman cannot pull here: {resolution.problem}"
    return DefinitionFacts(
        images={i: podman.image_exists(i) for i in images},
        secrets={s: _podman_ok(["secret", "inspect", "--", s]) for s in secrets},
        paths={p: os.path.exists(p) for p in needed_paths(spec)},
        busy_ports={p: why for p in ports if (why := port_busy(p)) is not None},
        running=frozenset(_running_containers()),
        unpullable=unpullable,
    )


def _manager(user: bool) -> tuple[int | None, str | None]:
    from orchestrator.host.systemd import Systemd, SystemdError

    try:
        with Systemd(user) as systemd:
            match = re.match(r"\d+", systemd.version())
    except SystemdError as exc:
        return None, exc.reason or str(exc)
    return (int(match.group()) if match else None), None


def _podman_version() -> tuple[int, int] | None:
    try:
        result = runner.run(
            ["podman", "version", "--format", "{{.Client.Version}}"], check=False, timeout=30
        )
    except runner.CommandError:
        return None
    return parse_version(result.stdout) if result.returncode == 0 else None


def _oci_runtime() -> tuple[str, str]:
    template = "{{.Host.OCIRuntime.Name}}\n{{.Host.OCIRuntime.Version}}"
    try:
        result = runner.run(["podman", "info", "--format", template], check=False, timeout=60)
    except runner.CommandError:
        return "", ""
    name, _, version = result.stdout.strip().partition("\n")
    found = re.search(r"\d+\.\d+(\.\d+)?", version)
    return (name.strip(), found.group() if found else "") if result.returncode == 0 else ("", "")


def _podman_ok(args: list[str]) -> bool:
    try:
        return runner.run(["podman", *args], check=False, timeout=30).returncode == 0
    except runner.CommandError:
        return False


def _running_containers() -> list[str]:
    try:
        result = runner.run(["podman", "ps", "--format", "{{.Names}}"], check=False, timeout=30)
    except runner.CommandError:
        return []
    return result.stdout.split() if result.returncode == 0 else []


def _cgroups() -> Cgroups:
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "v2"
    return "hybrid" if os.path.isdir("/sys/fs/cgroup/unified") else "v1"


def _catatonit() -> str | None:
    configured = _containers_conf_init()
    for path in ([configured] if configured else []) + list(CATATONIT):
        if os.access(path, os.X_OK):
            return path
    return None


def _containers_conf_init() -> str | None:
    for path in ("/usr/share/containers/containers.conf", "/etc/containers/containers.conf"):
        match = re.search(r'(?m)^\s*init_path\s*=\s*"([^"]+)"', _read(path))
        if match:
            return match.group(1)
    return None


def _has_subids(path: str, name: str, uid: int) -> bool:
    owners = {line.split(":", 1)[0] for line in _read(path).splitlines() if ":" in line}
    return name in owners or str(uid) in owners


def _wanted_by(target: str) -> tuple[str, ...]:
    """Units linked into TARGET.wants in the system's unit directories: enabled, or static."""
    found: list[str] = []
    for directory in paths.unit_search_path(False):
        with contextlib.suppress(OSError):
            found += os.listdir(os.path.join(directory, f"{target}.wants"))
    return tuple(sorted(set(found)))


def _selinux() -> str:
    value = _read("/sys/fs/selinux/enforce")
    return {"1": "enforcing", "0": "permissive"}.get(value, "disabled")


def _journal_storage() -> str:
    storage = "auto"
    for entry in JOURNALD_CONF:
        files = (
            sorted(glob.glob(os.path.join(entry, "*.conf"))) if os.path.isdir(entry) else [entry]
        )
        for file in files:
            for match in re.finditer(r"(?m)^\s*Storage\s*=\s*(\S+)", _read(file)):
                storage = match.group(1)
    return storage


def port_busy(port: str, bind: Callable[[str, int, str], None] | None = None) -> str | None:
    """Why "IP:PORT/PROTO" cannot be published here, or None when it can (sctp: not tried)."""
    address, _, proto = port.rpartition("/")
    ip, _, number = address.rpartition(":")
    if proto == "sctp":
        return None
    try:
        (bind or _bind)(ip, int(number), proto)
    except OSError as exc:
        reasons = {
            errno.EADDRINUSE: "something else listens there",
            errno.EACCES: "this user may not bind it (net.ipv4.ip_unprivileged_port_start)",
            errno.EADDRNOTAVAIL: f"{ip} is not an address of this host",
        }
        return reasons.get(exc.errno or 0, exc.strerror or str(exc))
    return None


def _bind(ip: str, number: int, proto: str) -> None:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
        sock.bind((ip, number))


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _is_char_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(1 << 20).strip()
    except OSError:
        return ""
