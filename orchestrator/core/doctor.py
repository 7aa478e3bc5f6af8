"""What `orchestrator doctor` decides: from facts about a host (gathered by host/probe.py) and,
optionally, the definitions, one Check per question a new user would otherwise learn the hard
way. Pure, so that each decision is tested with made-up facts."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

from orchestrator.core.compat import OLDEST, Version, problems, shown
from orchestrator.core.models import Spec, mount_source
from orchestrator.core.target import Mode

Status = Literal["ok", "warn", "fail"]
Cgroups = Literal["v1", "v2", "hybrid"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""  # the command (or the change) that makes it ok

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class HostFacts:
    """What a probe found; None where it could not tell."""

    mode: Mode
    user: str = "root"
    uid: int = 0
    pid1: str = ""  # the command name of PID 1
    manager_error: str | None = None  # why the (user's) service manager could not be reached
    systemd_version: int | None = None
    podman_version: Version | None = None  # None: podman is not installed (or did not answer)
    oci_runtime: str = ""
    runtime_version: str = ""
    cgroups: Cgroups = "v2"
    catatonit: str | None = None  # the path podman's --init finds, if any
    subuid: bool = False  # an /etc/subuid entry for the user
    subgid: bool = False
    linger: bool = False
    runtime_dir: bool = False  # XDG_RUNTIME_DIR set and present
    tun: bool = False
    network_online: tuple[str, ...] = ()  # enabled units wanted by network-online.target
    short_name_mode: str = "enforcing"
    search_registries: tuple[str, ...] = ()
    registries_files: tuple[str, ...] = ()
    selinux: str = "disabled"  # enforcing, permissive or disabled
    apparmor: bool = False
    journal_storage: str = "auto"  # journald's Storage=
    journal_dir: bool = False  # /var/log/journal exists


@dataclass(frozen=True)
class DefinitionFacts:
    """What the host has of what the definitions name."""

    images: dict[str, bool] = field(default_factory=dict)  # image -> present in storage
    secrets: dict[str, bool] = field(default_factory=dict)  # secret -> exists
    paths: dict[str, bool] = field(default_factory=dict)  # bind source / env file -> exists
    busy_ports: dict[str, str] = field(default_factory=dict)  # "IP:PORT/PROTO" -> why busy
    running: frozenset[str] = frozenset()  # containers podman runs now (they hold their ports)
    unpullable: dict[str, str] = field(default_factory=dict)  # short image -> why


def host_checks(facts: HostFacts) -> list[Check]:
    checks = [_systemd(facts), _podman(facts), _runtime(facts), _catatonit(facts)]
    if facts.mode == "user":
        checks += [_subids(facts), _linger(facts), _tun(facts)]
    else:
        checks.append(_network_online(facts))
    checks += [_registries(facts), _security(facts), _journal(facts)]
    return checks


def _systemd(f: HostFacts) -> Check:
    if f.manager_error is not None:
        detail = f"cannot connect: {f.manager_error}"
        if f.mode == "user":
            fix = f"loginctl enable-linger {f.user}, then log in (not su) as {f.user}"
            if not f.runtime_dir:
                detail += "; XDG_RUNTIME_DIR is not set (no login session)"
        else:
            fix = "run on a host (or in `orchestrator sandbox`) whose PID 1 is systemd"
            if f.pid1 and f.pid1 != "systemd":
                detail += f"; PID 1 is {f.pid1}, not systemd"
        return Check("systemd", "fail", detail, fix)
    version = f"systemd {f.systemd_version}" if f.systemd_version else "systemd"
    where = "the user manager is reachable" if f.mode == "user" else "it is PID 1"
    return Check("systemd", "ok", f"{version}; {where}")


def _podman(f: HostFacts) -> Check:
    if f.podman_version is None:
        return Check("podman", "fail", "podman is not installed", "apt-get install podman")
    if f.podman_version < OLDEST:
        return Check(
            "podman",
            "fail",
            f"podman {shown(f.podman_version)} is older than {shown(OLDEST)}",
            f"install podman {shown(OLDEST)} or newer",
        )
    return Check("podman", "ok", f"podman {shown(f.podman_version)}")


def _runtime(f: HostFacts) -> Check:
    runtime = " ".join(filter(None, (f.oci_runtime, f.runtime_version))) or "unknown runtime"
    detail = f"{runtime}; cgroup {f.cgroups}"
    if f.cgroups != "v2" and f.mode == "user":
        return Check(
            "cgroups",
            "warn",
            f"{detail}: user units run --cgroups=no-conmon, and memory_max, cpu_quota and "
            "tasks_max are not enforced (no controllers are delegated to users on v1)",
            "boot with systemd.unified_cgroup_hierarchy=1 (GRUB_CMDLINE_LINUX), then reboot",
        )
    if f.cgroups == "hybrid" and f.oci_runtime == "crun":
        # crun drives only the v1 controllers of a hybrid layout and ignores the v2 half; runc
        # behaves the same, but some of crun's features (e.g. resources of a sub-cgroup) fail
        return Check(
            "cgroups",
            "warn",
            f"{detail}: a hybrid layout mixes both; crun and runc use only its v1 controllers",
            "boot with systemd.unified_cgroup_hierarchy=1 (GRUB_CMDLINE_LINUX), then reboot",
        )
    if f.cgroups == "v2" and f.oci_runtime == "runc" and f.runtime_version.startswith("0."):
        return Check(
            "cgroups",
            "fail",
            f"{detail}: runc before 1.0 cannot run on cgroup v2",
            "apt-get install crun (podman prefers it on cgroup v2)",
        )
    return Check("cgroups", "ok", detail)


def _catatonit(f: HostFacts) -> Check:
    if f.catatonit:
        return Check("init", "ok", f"catatonit for init = true: {f.catatonit}")
    return Check(
        "init",
        "warn",
        "no catatonit: a container with init = true cannot start",
        "apt-get install catatonit",
    )


def _subids(f: HostFacts) -> Check:
    missing = [n for n, ok in (("/etc/subuid", f.subuid), ("/etc/subgid", f.subgid)) if not ok]
    if missing:
        return Check(
            "subids",
            "fail",
            f"no subordinate ids for {f.user} in {' and '.join(missing)}: rootless podman "
            "cannot map a container's users",
            f"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {f.user}",
        )
    return Check("subids", "ok", f"{f.user} has subordinate uids and gids")


def _linger(f: HostFacts) -> Check:
    if not f.linger:
        return Check(
            "linger",
            "warn",
            f"lingering is off for {f.user}: the units stop at logout and do not start at boot",
            f"loginctl enable-linger {f.user}",
        )
    return Check("linger", "ok", f"{f.user}'s manager runs without a login")


def _tun(f: HostFacts) -> Check:
    if not f.tun:
        return Check(
            "tun",
            "fail",
            "/dev/net/tun is missing: rootless networking (pasta, slirp4netns) cannot start",
            "modprobe tun (and give containers of containers the device)",
        )
    return Check("tun", "ok", "/dev/net/tun is there for rootless networking")


def _network_online(f: HostFacts) -> Check:
    if not f.network_online:
        return Check(
            "network-online",
            "warn",
            "no enabled unit provides network-online.target: containers start before the "
            "network is up (After=network-online.target does not wait)",
            "systemctl enable systemd-networkd-wait-online.service "
            "(or NetworkManager-wait-online.service)",
        )
    return Check("network-online", "ok", "provided by " + ", ".join(f.network_online))


def _registries(f: HostFacts) -> Check:
    files = ", ".join(f.registries_files) or "no registries.conf"
    if not f.search_registries:
        return Check(
            "short-names",
            "warn",
            f"no unqualified-search-registries ({files}): a short image name (nginx) cannot be "
            "pulled; name the registry (docker.io/library/nginx)",
            'unqualified-search-registries = ["docker.io"] in /etc/containers/registries.conf',
        )
    if len(f.search_registries) > 1 and f.short_name_mode == "enforcing":
        return Check(
            "short-names",
            "warn",
            f"short-name-mode is enforcing with {len(f.search_registries)} search registries: "
            "a unit has no terminal to choose, so short names fail unless aliased",
            'name the registry in each image, or short-name-mode = "permissive"',
        )
    search = ", ".join(f.search_registries)
    return Check("short-names", "ok", f"short names resolve through {search} ({files})")


def _security(f: HostFacts) -> Check:
    parts = [f"SELinux {f.selinux}", "AppArmor " + ("enabled" if f.apparmor else "disabled")]
    detail = "; ".join(parts)
    if f.selinux == "enforcing":
        detail += ": bind mounts need the z or Z option to be readable"
    return Check("security", "ok", detail)


def _journal(f: HostFacts) -> Check:
    persistent = f.journal_storage == "persistent" or (
        f.journal_storage == "auto" and f.journal_dir
    )
    if not persistent:
        return Check(
            "journal",
            "warn",
            f"the journal is not persistent (Storage={f.journal_storage}"
            + ("" if f.journal_dir else ", no /var/log/journal")
            + "): `orchestrator logs` loses everything before the last boot",
            "mkdir -p /var/log/journal && systemctl restart systemd-journald",
        )
    return Check("journal", "ok", "persistent (/var/log/journal)")


def definition_checks(spec: Spec, host: HostFacts, found: DefinitionFacts) -> list[Check]:
    """What the definitions need of this host."""
    checks: list[Check] = []
    for gather in _DEFINITION_CHECKS:
        checks += gather(spec, host, found)
    return checks


def _features(spec: Spec, host: HostFacts, _: DefinitionFacts) -> list[Check]:
    version = host.podman_version or OLDEST
    lacking = problems(spec, version)
    if not lacking:
        return [Check("podman features", "ok", f"podman {shown(version)} has every key used")]
    return [
        Check(f"{kind}.{name}.{key}", "fail", message, "install a newer podman")
        for (kind, name), key, message in lacking
    ]


def pulled_images(spec: Spec) -> list[str]:
    """The images the containers run that a registry provides: not a rootfs, nor a build's."""
    return sorted({c.image for c in spec.containers.values() if c.image and c.build is None})


def _images(spec: Spec, _: HostFacts, found: DefinitionFacts) -> list[Check]:
    checks = []
    for image in pulled_images(spec):
        users = sorted(n for n, c in spec.containers.items() if c.image == image)
        never = all(spec.containers[n].pull == "never" for n in users)
        name = f"image {image}"
        if found.images.get(image):
            checks.append(Check(name, "ok", "present in podman's storage"))
        elif never:
            checks.append(
                Check(
                    name,
                    "fail",
                    f'missing, and {users[0]} says pull = "never"',
                    f"podman pull {image}",
                )
            )
        elif image in found.unpullable:
            checks.append(
                Check(name, "fail", found.unpullable[image], "name the registry in the image")
            )
        else:
            checks.append(Check(name, "ok", "not present yet; apply pulls it first"))
    return checks


def _secrets(spec: Spec, _: HostFacts, found: DefinitionFacts) -> list[Check]:
    names = sorted({s.name for c in spec.containers.values() for s in c.secrets})
    return [
        Check(f"secret {n}", "ok", "exists")
        if found.secrets.get(n)
        else Check(
            f"secret {n}",
            "fail",
            "no podman secret of this name",
            f"printf %s VALUE | podman secret create {n} -",
        )
        for n in names
    ]


def _paths(spec: Spec, _: HostFacts, found: DefinitionFacts) -> list[Check]:
    checks = []
    for path in sorted(needed_paths(spec)):
        if found.paths.get(path):
            checks.append(Check(f"path {path}", "ok", "exists"))
        else:
            checks.append(
                Check(
                    f"path {path}",
                    "fail",
                    "does not exist (a bind mount source or env file)",
                    f"create {path}",
                )
            )
    return checks


def _ports(spec: Spec, _: HostFacts, found: DefinitionFacts) -> list[Check]:
    checks = []
    for name, c in sorted(spec.containers.items()):
        for port in published(c.ports):
            why = found.busy_ports.get(port)
            if why is None or name in found.running:
                continue  # free, or held by this very container
            checks.append(
                Check(
                    f"port {port}",
                    "fail",
                    f"container.{name} publishes it, but {why}",
                    "stop what holds it, or publish another port",
                )
            )
    if not checks and any(c.ports for c in spec.containers.values()):
        checks.append(Check("ports", "ok", "every published port is free"))
    return checks


def _init(spec: Spec, host: HostFacts, _: DefinitionFacts) -> list[Check]:
    users = sorted(n for n, c in spec.containers.items() if c.init)
    if not users or host.catatonit:
        return []
    return [
        Check(
            f"container.{n}.init",
            "fail",
            "init = true, but podman has no catatonit",
            "apt-get install catatonit",
        )
        for n in users
    ]


_DEFINITION_CHECKS: tuple[Callable[[Spec, HostFacts, DefinitionFacts], list[Check]], ...] = (
    _features,
    _init,
    _images,
    _secrets,
    _paths,
    _ports,
)


def needed_paths(spec: Spec) -> set[str]:
    """Host paths the definitions need to exist: bind mount sources and env files."""
    paths: set[str] = set()
    for c in spec.containers.values():
        paths.update(m.source for m in c.volumes if m.is_bind)
        paths.update(s for s in (mount_source(m, "bind") for m in c.mounts or []) if s)
        paths.update(c.env_files)
    return {p for p in paths if os.path.isabs(p)}


def published(ports: list[str]) -> list[str]:
    """Each published host port as "IP:PORT/PROTO" (IP 0.0.0.0 when none is given)."""
    out = []
    for value in ports:
        text, _, proto = value.partition("/")
        ip = "0.0.0.0"
        if text.startswith("["):
            ip, _, text = text[1:].partition("]:")
        elif text.count(":") == 2:
            ip, text = text.split(":", 1)
        host = text.partition(":")[0]
        low, _, high = host.partition("-")
        for number in range(int(low), int(high or low) + 1):
            out.append(f"{ip}:{number}/{proto or 'tcp'}")
    return out


def failed(checks: list[Check]) -> bool:
    return any(c.status == "fail" for c in checks)
