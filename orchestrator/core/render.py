"""Spec -> unit files (name -> text). Pure and deterministic: the same Spec gives the same bytes.

The unit shape (the README's "What a unit looks like"; docs/architecture.md for how to add a key)
is the one Quadlet, NixOS and `podman generate systemd --new` converged on, restricted to flags
podman 4.3 has.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.core.buildctx import Inputs
from orchestrator.core.models import (
    Build,
    Container,
    Image,
    Kube,
    Mount,
    Network,
    Pod,
    PodmanCall,
    Secret,
    Spec,
    Volume,
    build_tag,
    infra_name,
    mount_source,
    network_container,
    unit_name,
)
from orchestrator.core.quoting import Raw, escape_specifiers, quote_argv, quote_words
from orchestrator.core.target import Mode
from orchestrator.core.unitfile import MARK_SECTION, UnitFile
from orchestrator.core.values import format_duration

PODMAN = "/usr/bin/podman"
SH = "/bin/sh"
CIDFILE = Raw("%t/%n.ctr-id")
CIDFILE_OPTION = Raw("--cidfile=%t/%n.ctr-id")
DEFAULT_STOP_SECONDS = 10
STOP_MARGIN_SECONDS = 60
# podman runs a container's first health check as it starts, so a quick check passes within a
# few tenths of a second: the first polls come every 0.1 s (a start 0.4 s sooner than at a 0.5 s
# pace), then every 0.5 s, since a failed check is tried again only an interval later.
HEALTH_POLL_QUICK, HEALTH_POLLS_QUICK, HEALTH_POLL = "0.1", 5, "0.5"
# Reads the status podman's own timer keeps: running the check from here would count towards the
# dependency's retries and could trigger its on_failure action.
WAIT_HEALTHY = (
    'echo "waiting until container $0 is healthy"; n=0; '
    f'until [ "$({PODMAN} inspect --format \'{{{{.State.Health.Status}}}}\' "$0" 2>/dev/null)" '
    f"= healthy ]; do n=$((n+1)); if [ $n -le {HEALTH_POLLS_QUICK} ]; "
    f"then sleep {HEALTH_POLL_QUICK}; else sleep {HEALTH_POLL}; fi; done"
)
# ExecStop's podman rm removes the container, and then the cid file: a stop that went well leaves
# no file, and ExecStopPost's safety net starts no podman process for nothing (that process was a
# third of a take-down's). systemd runs ExecStop also when the container exited by itself; the net
# is for a start that failed after podman made the container, or an ExecStop that failed.
# (-f, not -e: unitdir.carries_values takes a " -e " in an Exec line for podman's --env and would
# make every unit private)
IF_CIDFILE = '[ ! -f "$0" ] || exec "$@"'


def render(spec: Spec, mode: Mode = "system", *, cgroups_v1: bool = False) -> dict[str, str]:
    """Every unit file the spec asks for, keyed by unit name, sorted by name. cgroups_v1: the
    host has a v1 (or hybrid) cgroup layout, which changes how user-mode units run podman."""
    units: dict[str, str] = {}
    for name, container in spec.containers.items():
        units[unit_name("container", name)] = render_container(
            name, container, spec, mode, cgroups_v1
        )
    for name, volume in spec.volumes.items():
        units[unit_name("volume", name)] = render_volume(name, volume, spec)
    for name, network in spec.networks.items():
        source = spec.sources[("network", name)]
        units[unit_name("network", name)] = render_network(name, network, source)
    for name, pod in spec.pods.items():
        units[unit_name("pod", name)] = render_pod(name, pod, spec, mode)
    for name, image in spec.images.items():
        units[unit_name("image", name)] = render_image(name, image, spec, mode)
    for name, build in spec.builds.items():
        units[unit_name("build", name)] = render_build(name, build, spec, mode)
    for name, kube in spec.kubes.items():
        units[unit_name("kube", name)] = render_kube(name, kube, spec, mode)
    return dict(sorted(units.items()))


def _common_unit(unit: UnitFile, description: str) -> None:
    unit.add("Unit", "Description", escape_specifiers(description))
    # No SourcePath=: systemd would mark the unit NeedDaemonReload whenever the definition file
    # is touched, even when the unit is unchanged. The source is in the mark instead.


def _mark(unit: UnitFile, kind: str, name: str) -> None:
    unit.add(MARK_SECTION, "Kind", kind)
    unit.add(MARK_SECTION, "Name", name)
    unit.add(MARK_SECTION, "Source", escape_specifiers(unit.source))


# Keys that map one-to-one onto a podman flag or a unit directive are rows of the tables below,
# as in Quadlet's generator: a new such key is a new row, not a new branch. Each row reads its
# field from the model and writes nothing for an absent value (None, false, empty list or table).
# Most keys are absent from most definitions, so that case returns early with a shared empty
# tuple instead of building a list: the table must cost render next to nothing.
NOTHING: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Flag:
    """A key whose value is one `--flag=VALUE`; format turns the value into the text."""

    field: str
    flag: str
    format: Callable[[Any], str] | None = None
    unless: str | bool | None = None  # a value that writes no flag: the podman default, spelled out
    since: tuple[int, int] | None = None  # the podman version that first has the flag

    def __call__(self, model: object) -> Sequence[str]:
        value = getattr(model, self.field)
        # "" as well as None: a volume or network driver given as "" has always meant the default
        if value is None or value == "" or value == self.unless:
            return NOTHING
        return (f"{self.flag}={value if self.format is None else self.format(value)}",)


class Switch(Flag):
    """A boolean key that writes the bare flag when true."""

    __slots__ = ()

    def __call__(self, model: object) -> Sequence[str]:
        return (self.flag,) if getattr(model, self.field) else NOTHING


class SwitchOff(Flag):
    """A boolean key that writes the bare flag when false (dns = false -> --disable-dns)."""

    __slots__ = ()

    def __call__(self, model: object) -> Sequence[str]:
        return NOTHING if getattr(model, self.field) else (self.flag,)


class Given(Flag):
    """A boolean key whose default is podman's: the bare flag when true, =false when false,
    nothing when not given (as Quadlet writes it)."""

    __slots__ = ()

    def __call__(self, model: object) -> Sequence[str]:
        value = getattr(model, self.field)
        if value is None:
            return NOTHING
        return (self.flag,) if value else (f"{self.flag}=false",)


class Each(Flag):
    """A list key: the flag once per item, in the order given."""

    __slots__ = ()

    def __call__(self, model: object) -> Sequence[str]:
        items = self.items(getattr(model, self.field))
        if not items:
            return NOTHING
        if self.format is None:
            return [f"{self.flag}={item}" for item in items]
        return [f"{self.flag}={self.format(item)}" for item in items]

    def items(self, value: Any) -> Sequence[Any]:
        return value  # type: ignore[no-any-return]


class Pairs(Each):
    """A table key: the flag once per entry, as `--flag=KEY=VALUE`, in the order given."""

    __slots__ = ()

    def items(self, value: Any) -> Sequence[Any]:
        return [f"{key}={item}" for key, item in value.items()] if value else NOTHING


class Joined(Flag):
    """A list key written as one flag, its items joined by format's separator (mask=/a:/b)."""

    __slots__ = ()

    def __call__(self, model: object) -> Sequence[str]:
        items = getattr(model, self.field)
        if not items:
            return NOTHING
        assert self.format is not None
        return (f"{self.flag}={self.format(items)}",)


@dataclass(frozen=True, slots=True)
class Directive:
    """A key that is one line of the unit's [Service] section."""

    field: str
    key: str
    format: Callable[[Any], str] = str

    def __call__(self, model: object) -> list[tuple[str, str]]:
        value = getattr(model, self.field)
        return [] if value is None else [(self.key, self.format(value))]


def render_container(
    name: str,
    c: Container,
    spec: Spec,
    mode: Mode,
    cgroups_v1: bool = False,
    *,
    argv: list[str] | None = None,
) -> str:
    """argv: podman_run_argv() of the same arguments, when the caller has it already."""
    unit = UnitFile(spec.sources[("container", name)])
    what = c.image or f"rootfs {c.rootfs}"
    _common_unit(unit, c.description or f"Container {name} ({what})")
    _container_requirements(unit, c, spec, mode)
    if argv is None:
        argv = podman_run_argv(name, c, mode, cgroups_v1)
    unit.extend("Service", _service(name, c, argv))
    # a member is wanted by its pod too, so that starting the pod starts its members
    _install(unit, c.enabled, mode, *([unit_name("pod", c.pod)] if c.pod else []))
    _overrides(unit, c.unit)
    _mark(unit, "container", name)
    if c.image is not None:  # what apply pre-pulls and status shows
        unit.add(MARK_SECTION, "Image", c.image)
        unit.add(MARK_SECTION, "Pull", c.pull or "missing")
    for provider in image_units(c, spec):  # apply leaves the image to this unit
        unit.add(MARK_SECTION, "ImageUnit", provider)
    if c.health is not None:
        unit.add(MARK_SECTION, "Health", "yes")
    return unit.text()


def _install(unit: UnitFile, enabled: bool, mode: Mode, *more: str) -> None:
    if enabled:
        target = "multi-user.target" if mode == "system" else "default.target"
        unit.add("Install", "WantedBy", " ".join([target, *more]))


def _overrides(unit: UnitFile, overrides: dict[str, dict[str, list[str]]]) -> None:
    for section, directives in overrides.items():
        for key, items in directives.items():
            for value in items:
                unit.add(section, key, value)


def _container_requirements(unit: UnitFile, c: Container, spec: Spec, mode: Mode) -> None:
    """[Unit] ordering: the network, the units this one uses, and the paths it mounts."""
    needs = [unit_name("container", dep) for dep in c.depends_on]
    needs += image_units(c, spec)
    other = network_container(c)
    if other is not None:  # its network namespace must exist first
        needs.append(unit_name("container", other))
    binds = _mount_sources(c, "bind")
    if c.rootfs is not None:
        binds.append(c.rootfs.removesuffix(":O"))
    _requirements(unit, mode, needs, c.volumes, c.networks, spec, _mount_sources(c, "volume"),
                  binds)  # fmt: skip
    if c.pod is not None:
        # stopped with its pod, and started after it (which starting a member does first)
        unit.add("Unit", "BindsTo", unit_name("pod", c.pod))
        unit.add("Unit", "After", unit_name("pod", c.pod))


def _requirements(unit: UnitFile, mode: Mode, needs: list[str], volumes: list[Mount],
                  networks: list[str], spec: Spec, volume_mounts: Sequence[str] = (),
                  bind_mounts: Sequence[str] = ()) -> None:  # fmt: skip
    """The network, the units of the volumes and networks used, and the paths mounted."""
    _network_online(unit, mode)
    needs = [*needs, *(unit_name("volume", m.source) for m in volumes if not m.is_bind)]
    needs += [unit_name("volume", v) for v in volume_mounts]
    # a network not defined here (host, none, or one created by hand) has no unit to require
    needs += [unit_name("network", n) for n in networks if n in spec.networks]
    _requires(unit, needs)
    binds = list(dict.fromkeys([*(m.source for m in volumes if m.is_bind), *bind_mounts]))
    unit.add("Unit", "RequiresMountsFor", quote_words([Raw("%t/containers"), *binds]))


def image_units(c: Container, spec: Spec) -> list[str]:
    """The [image.X] unit that pulls the container's image, or the [build.X] unit that builds
    it (named by build, or by its tag as image)."""
    if c.build is not None:
        return [unit_name("build", c.build)]
    return _provider_unit(c.image, spec)


def image_provider(image: str | None, spec: Spec) -> tuple[str, str] | None:
    """("image", X) for the [image.X] that pulls image, else ("build", X) for the [build.X]
    whose tag it is."""
    if image is not None:
        for n, i in spec.images.items():
            if i.image == image:
                return "image", n
        for n, b in spec.builds.items():
            if build_tag(n, b) == image:
                return "build", n
    return None


def _provider_unit(image: str | None, spec: Spec) -> list[str]:
    provider = image_provider(image, spec)
    return [unit_name(*provider)] if provider else []


def _mount_sources(c: Container, kind: str) -> list[str]:
    if not c.mounts:
        return []
    return [s for s in (mount_source(m, kind) for m in c.mounts) if s is not None]


def _stop_seconds(c: Container) -> int:
    return (DEFAULT_STOP_SECONDS * 1000 if c.stop_timeout is None else c.stop_timeout) // 1000


def _timeout_stop(c: Container) -> list[tuple[str, str]]:
    # systemd must not kill podman while podman still waits for the container to stop
    return [("TimeoutStopSec", f"{_stop_seconds(c) + STOP_MARGIN_SECONDS}s")]


# The [Service] lines from keys, in their order in the unit.
SERVICE_DIRECTIVES: tuple[Callable[[Container], list[tuple[str, str]]], ...] = (
    Directive("restart", "Restart"),
    Directive("restart_sec", "RestartSec", format_duration),
    Directive("start_timeout", "TimeoutStartSec", format_duration),
    _timeout_stop,
    Directive("memory_max", "MemoryMax"),
    Directive("cpu_quota", "CPUQuota"),
    Directive("tasks_max", "TasksMax"),
)
SERVICE_FIXED = (
    ("Environment", "PODMAN_SYSTEMD_UNIT=%n"),
    ("Type", "notify"),
    ("NotifyAccess", "all"),
    ("KillMode", "mixed"),
    ("Delegate", "yes"),
    ("SyslogIdentifier", "%N"),
)


def _service(name: str, c: Container, argv: list[str]) -> list[tuple[str, str]]:
    service = list(SERVICE_FIXED)
    for directive in SERVICE_DIRECTIVES:
        service += directive(c)
    service.append(("ExecStartPre", quote_argv(["/bin/rm", "-f", CIDFILE])))
    service += _optional_devices(c)
    for dep, condition in c.depends_on.items():
        if condition == "healthy":
            service.append(("ExecStartPre", quote_argv([SH, "-c", WAIT_HEALTHY, dep])))
    service.append(("ExecStart", quote_argv(argv)))
    # as Quadlet's: rm --force stops with the same grace period, then removes, in one process
    rm = [*podman(c), "rm", "--force", "--ignore", f"--time={_stop_seconds(c)}", CIDFILE_OPTION]
    service.append(("ExecStop", quote_argv(rm)))
    service.append(("ExecStop", quote_argv(["/bin/rm", "-f", CIDFILE])))
    service.append(("ExecStopPost", "-" + quote_argv([SH, "-c", IF_CIDFILE, CIDFILE, *rm])))
    service += _reload(name, c)
    return service


def podman(c: Container | Image | Build | Kube | PodmanCall) -> list[str]:
    """podman and its global options: the same in every podman line of the unit, so stop and rm
    see the containers.conf modules and storage the container was started with."""
    modules: list[str] = getattr(c, "containers_conf_module", [])
    if not c.global_args and not modules:
        return [PODMAN]
    return [PODMAN, *(f"--module={m}" for m in modules), *c.global_args]


def _reload(name: str, c: Container) -> list[tuple[str, str]]:
    """`systemctl reload`: a command run in the container, or a signal sent to it."""
    if c.reload_command is not None:
        return [("ExecReload", quote_argv([*podman(c), "exec", name, *c.reload_command]))]
    if c.reload_signal is not None:
        kill = [*podman(c), "kill", f"--signal={c.reload_signal}", name]
        return [("ExecReload", quote_argv(kill))]
    return []


# Optional devices ("-/dev/x", Quadlet's AddDevice=-): Quadlet keeps the ones present when its
# generator runs (boot, daemon-reload). Here the unit looks each time it starts, so a device
# plugged in later is passed at the next start: a start step writes the --device flags of those
# present into an environment file, and systemd splits the variable into zero or more words.
DEVICES_FILE = Raw("%t/%n.devices")
DEVICES_VARIABLE = "ORCHESTRATOR_DEVICES"
FIND_DEVICES = (
    'a=; for d do [ -e "${d%%:*}" ] && a="$a --device=$d"; done; '
    f'echo "{DEVICES_VARIABLE}=$a" > "$0"'
)


def _optional(c: Container) -> list[str]:
    return [d[1:] for d in c.devices if d.startswith("-")]


def _optional_devices(c: Container) -> list[tuple[str, str]]:
    optional = _optional(c)
    if not optional:
        return []
    return [
        ("EnvironmentFile", "-" + DEVICES_FILE),
        ("ExecStartPre", quote_argv([SH, "-c", FIND_DEVICES, DEVICES_FILE, *optional])),
    ]


def _devices(c: Container) -> Sequence[str]:
    if not c.devices:
        return NOTHING
    flags = [f"--device={d}" for d in c.devices if not d.startswith("-")]
    return [*flags, Raw("$" + DEVICES_VARIABLE)] if _optional(c) else flags


SECRETS_DIR = "/run/secrets"


def _secrets_directory(c: Container) -> Sequence[str]:
    """On a read-only root, podman 4.3 with runc cannot create /run/secrets/NAME and the
    container fails to start (podman#15541); a tmpfs on /run/secrets gives it a place."""
    if not c.read_only:
        return NOTHING
    mounted = any(
        s.type == "mount" and (s.target is None or not s.target.startswith("/")) for s in c.secrets
    )
    taken = {m.target for m in c.volumes} | {t.partition(":")[0] for t in c.tmpfs}
    if mounted and SECRETS_DIR not in taken:
        return (f"--tmpfs={SECRETS_DIR}:rw,nosuid,nodev,noexec,mode=0755",)
    return NOTHING


def _entrypoint(value: str | list[str]) -> str:
    return value if isinstance(value, str) else _json(value)


def health_command(value: str | list[str]) -> str:
    """Podman 4.3 runs a one-element JSON array through a shell; "CMD word" runs it directly."""
    if isinstance(value, str):
        return value
    return f"CMD {value[0]}" if len(value) == 1 else _json(value)


def _whole_seconds(ms: int) -> str:
    return str(ms // 1000)  # podman's --stop-timeout counts seconds; the model allows no rest


# The [health] table's keys, in their order on the command line.
HEALTH_FLAGS: tuple[Flag, ...] = (
    Flag("command", "--health-cmd", health_command),
    Flag("interval", "--health-interval", format_duration),
    Flag("timeout", "--health-timeout", format_duration),
    Flag("start_period", "--health-start-period", format_duration),
    Flag("retries", "--health-retries"),
    Flag("on_failure", "--health-on-failure", unless="none"),
    Flag("startup_command", "--health-startup-cmd", health_command, since=(4, 4)),
    Flag("startup_interval", "--health-startup-interval", format_duration, since=(4, 4)),
    Flag("startup_timeout", "--health-startup-timeout", format_duration, since=(4, 4)),
    Flag("startup_retries", "--health-startup-retries", since=(4, 4)),
    Flag("startup_success", "--health-startup-success", since=(4, 4)),
    Flag("log_destination", "--health-log-destination", since=(5, 3)),
    Flag("log_count", "--health-max-log-count", since=(5, 3)),
    Flag("log_size", "--health-max-log-size", since=(5, 3)),
)


def _health(c: Container) -> Sequence[str]:
    if c.health is None:
        return NOTHING
    return [arg for flag in HEALTH_FLAGS for arg in flag(c.health)]


def _false(value: bool) -> str:
    return "false"  # the rows that use it write nothing for true, podman's default


def _host_entry(entry: str) -> str:
    name, _, ip = entry.partition("=")  # Pairs gives NAME=IP; podman reads NAME:IP
    return f"{name}:{ip}"


def _colon_list(option: str) -> Callable[[list[str]], str]:
    return lambda paths: f"{option}={':'.join(paths)}"


def _prefixed(prefix: str) -> Callable[[str], str]:
    return lambda value: prefix + value


# The `podman run` flags from keys, in their order on the command line (the goldens pin it).
RUN_FLAGS: tuple[Callable[[Container], Sequence[str]], ...] = (
    Flag("pull", "--pull"),
    # podman auto-update finds the containers it may update by this label
    Flag("auto_update", "--label=io.containers.autoupdate"),
    Pairs("labels", "--label"),
    Pairs("environment", "--env"),
    Each("env_files", "--env-file"),
    Each("ports", "--publish"),
    Each("volumes", "--volume", Mount.podman_value),
    Each("tmpfs", "--tmpfs"),
    Each("networks", "--network"),
    Each("network_aliases", "--network-alias"),
    Flag("hostname", "--hostname"),
    Flag("user", "--user"),
    Flag("workdir", "--workdir"),
    Flag("entrypoint", "--entrypoint", _entrypoint),
    Switch("read_only", "--read-only"),
    _secrets_directory,
    Each("cap_add", "--cap-add"),
    Each("cap_drop", "--cap-drop"),
    Switch("no_new_privileges", "--security-opt=no-new-privileges"),
    _devices,
    Each("secrets", "--secret", Secret.podman_value),
    Flag("stop_timeout", "--stop-timeout", _whole_seconds),
    # process and resources
    Switch("init", "--init"),
    Flag("stop_signal", "--stop-signal"),
    Flag("shm_size", "--shm-size"),
    Pairs("ulimits", "--ulimit"),
    Pairs("sysctls", "--sysctl"),
    Flag("pids_limit", "--pids-limit"),
    Each("group_add", "--group-add"),
    Switch("privileged", "--privileged"),
    Flag("timezone", "--tz"),
    Switch("environment_host", "--env-host"),
    Flag("http_proxy", "--http-proxy", _false, unless=True),
    Pairs("annotations", "--annotation"),
    # network
    Each("dns", "--dns"),
    Each("dns_search", "--dns-search"),
    Each("dns_options", "--dns-option"),
    Pairs("add_hosts", "--add-host", _host_entry),
    Each("expose", "--expose"),
    Flag("ip", "--ip"),
    Flag("ip6", "--ip6"),
    Flag("mac_address", "--mac-address"),
    # security
    Given("read_only_tmpfs", "--read-only-tmpfs"),
    Joined("mask", "--security-opt", _colon_list("mask")),
    Joined("unmask", "--security-opt", _colon_list("unmask")),
    Switch("security_label_disable", "--security-opt=label=disable"),
    Switch("security_label_nested", "--security-opt=label=nested", since=(4, 5)),
    Flag("security_label_type", "--security-opt", _prefixed("label=type:")),
    Flag("security_label_level", "--security-opt", _prefixed("label=level:")),
    Flag("security_label_file_type", "--security-opt", _prefixed("label=filetype:")),
    Flag("seccomp_profile", "--security-opt", _prefixed("seccomp=")),
    Flag("apparmor", "--security-opt", _prefixed("apparmor=")),
    Flag("userns", "--userns"),
    Each("uid_map", "--uidmap"),
    Each("gid_map", "--gidmap"),
    Flag("sub_uid_map", "--subuidname"),
    Flag("sub_gid_map", "--subgidname"),
    # logging and mounts
    Flag("log_driver", "--log-driver"),
    Pairs("log_options", "--log-opt"),
    Each("mounts", "--mount"),
    _health,
)

# The key that decides whether a row of code in RUN_FLAGS writes anything: at its default, the
# row writes nothing (as every Flag row does for its own key; tests/core/test_render.py checks)
_CODE_ROW_KEYS: dict[Callable[[Container], Sequence[str]], str] = {
    _secrets_directory: "read_only", _devices: "devices", _health: "health",
}  # fmt: skip


def row_key(row: Callable[[Container], Sequence[str]]) -> str:
    return row.field if isinstance(row, Flag) else _CODE_ROW_KEYS[row]


@functools.lru_cache(maxsize=1024)  # keyed by the keys a definition gives: a few shapes a run
def _run_rows(given: frozenset[str]) -> tuple[Callable[[Container], Sequence[str]], ...]:
    """The rows of RUN_FLAGS whose key the definition gives, in their order: a key left at its
    default writes nothing, and most definitions give a few keys of the sixty."""
    return tuple(row for row in RUN_FLAGS if row_key(row) in given)


# Container keys with no row in RUN_FLAGS or SERVICE_DIRECTIVES: code in this module renders them.
RENDERED_BY_CODE = frozenset(
    {
        "image",  # the argument after the flags, and the mark apply pre-pulls by
        "build",  # the build's tag as the image, and Requires= its unit (image_units)
        "command",  # the arguments after the image
        "podman_args",  # passed through last, after every flag of ours
        "description",  # Description=, with a default made from the name and image
        "depends_on",  # Requires=/After=, and a wait for healthy dependencies
        "health",  # --health-* (HEALTH_FLAGS), and the mark status reads
        "enabled",  # [Install]
        "unit",  # the unit directives given as they are
        "notify",  # --sdnotify=, which is always written
        "global_args",  # between podman and its command, in every podman line of the unit
        "containers_conf_module",  # --module=, a global option as well
        "reload_command",  # ExecReload=
        "reload_signal",  # ExecReload=
        "rootfs",  # --rootfs, and the directory in the image's place
        "pod",  # --pod-id-file=, and BindsTo= the pod's unit
        "devices",  # --device=, and the optional ones found when the unit starts
    }
)


# Where conmon and the container go: split, as Quadlet does (conmon stays in the unit's cgroup,
# the container in a sub-cgroup of it, so the unit's resource limits hold). Except for rootless
# podman on a cgroup v1 host: split makes it create a sub-cgroup in every v1 hierarchy, where the
# user owns only name=systemd, and the container fails to start ("mkdir .../runtime: permission
# denied", seen on Debian 12 with a hybrid layout); no-conmon, as `podman generate systemd --new`
# did, works there (and v1 gives users no resource controllers anyway).
SPLIT, NO_CONMON = "--cgroups=split", "--cgroups=no-conmon"


def podman_run_argv(
    name: str, c: Container, mode: Mode = "system", cgroups_v1: bool = False
) -> list[str]:
    """The `podman run` command line of a container unit, flags in a fixed order."""
    argv = [
        *podman(c),
        "run",
        f"--name={name}",
        CIDFILE_OPTION,
        "--replace",
        "--rm",
        NO_CONMON if mode == "user" and cgroups_v1 else SPLIT,
        f"--sdnotify={c.notify}",
        "-d",
    ]
    if c.pod is not None:
        argv.append(Raw(f"--pod-id-file=%t/{unit_name('pod', c.pod)}.pod-id"))
    for flag in _run_rows(frozenset(c.model_fields_set)):
        argv += flag(c)
    argv += c.podman_args
    # podman's --rootfs is a switch: the directory then takes the image's place
    argv += [c.image] if c.image is not None else ["--rootfs", c.rootfs or ""]
    argv += c.command or []
    return argv


def _json(words: list[str]) -> str:
    return json.dumps(words, ensure_ascii=False, separators=(",", ":"))


def _volume_driver(v: Volume) -> Sequence[str]:
    driver = v.driver or ("image" if v.image is not None else None)
    return (f"--driver={driver}",) if driver else NOTHING


def _volume_options(v: Volume) -> Sequence[str]:
    return [f"--opt={option}" for option in v.driver_options()]


def _subnets(n: Network) -> Sequence[str]:
    """Each subnet with its gateway and range: podman pairs them by position."""
    out: list[str] = []
    for s in n.all_subnets():
        out.append(f"--subnet={s.subnet}")
        out += [f"--gateway={s.gateway}"] if s.gateway else []
        out += [f"--ip-range={s.ip_range}"] if s.ip_range else []
    return out


# The `podman volume create` and `podman network create` flags from keys, in their order.
VOLUME_FLAGS: tuple[Callable[[Volume], Sequence[str]], ...] = (
    _volume_driver,  # driver, or "image" for an image volume
    _volume_options,  # device, type, mount_options, uid, gid, copy, image, options
    Pairs("labels", "--label"),
)
NETWORK_FLAGS: tuple[Callable[[Network], Sequence[str]], ...] = (
    Flag("driver", "--driver"),
    _subnets,  # subnet, gateway, ip_range, subnets
    Flag("ipam_driver", "--ipam-driver"),
    Switch("internal", "--internal"),
    Switch("ipv6", "--ipv6"),
    SwitchOff("dns", "--disable-dns"),
    Each("dns_servers", "--dns", since=(4, 4)),
    Pairs("options", "--opt"),
    Pairs("labels", "--label"),
)
# Keys of a volume or network with no row of their own above (and a network's delete_on_stop,
# its unit's ExecStopPost=).
ONESHOT_BY_CODE = frozenset(
    {
        "description",  # Description=
        "global_args",  # in both podman commands of the script
        "containers_conf_module",  # --module=, a global option as well
        "podman_args",  # passed through last, after every flag of ours
    }
)


def render_volume(name: str, v: Volume, spec: Spec) -> str:
    # podman's image driver needs the image there: after the unit that pulls or builds it, as
    # Quadlet orders a volume with Image=X.image or X.build
    needs = _provider_unit(v.image, spec)
    return _render_oneshot("volume", name, v, spec.sources[("volume", name)], needs)


def render_network(name: str, n: Network, source: str) -> str:
    return _render_oneshot("network", name, n, source)


def oneshot_argv(kind: Literal["volume", "network"], name: str, r: Volume | Network) -> list[str]:
    """The ExecStart= of a volume or network unit: a script that creates it unless it exists
    (podman 4.3 has no `create --ignore`), with the same global options for both commands."""
    flags: tuple[Callable[[Any], Sequence[str]], ...] = (
        VOLUME_FLAGS if kind == "volume" else NETWORK_FLAGS
    )
    words = " ".join(shlex.quote(word) for word in podman(r))
    script = f'{words} {kind} exists "$0" || exec {words} {kind} create "$@" "$0"'
    return [SH, "-c", script, name, *(arg for flag in flags for arg in flag(r)), *r.podman_args]


def _render_oneshot(kind: Literal["volume", "network"], name: str, r: Volume | Network,
                    source: str, needs: list[str] | None = None) -> str:  # fmt: skip
    unit = UnitFile(source)
    _common_unit(unit, r.description or f"{kind.capitalize()} {name}")
    unit.add("Unit", "RequiresMountsFor", "%t/containers")
    _requires(unit, needs or [])
    unit.add("Service", "Type", "oneshot")
    unit.add("Service", "RemainAfterExit", "yes")
    unit.add("Service", "SyslogIdentifier", "%N")
    unit.add("Service", "ExecStart", quote_argv(oneshot_argv(kind, name, r)))
    if isinstance(r, Network) and r.delete_on_stop:
        # as Quadlet 5.5's NetworkDeleteOnStop=: a restart recreates it with its new options
        unit.add("Service", "ExecStopPost", quote_argv([*podman(r), "network", "rm", name]))
    _mark(unit, kind, name)
    return unit.text()


# The `podman pod create` flags from keys, in their order on the command line.
POD_FLAGS: tuple[Flag, ...] = (
    Pairs("labels", "--label"),
    Each("ports", "--publish"),
    Each("volumes", "--volume", Mount.podman_value),
    Each("networks", "--network"),
    Each("network_aliases", "--network-alias"),
    Flag("hostname", "--hostname"),
    Flag("shm_size", "--shm-size"),
    Each("dns", "--dns"),
    Each("dns_search", "--dns-search"),
    Each("dns_options", "--dns-option"),
    Pairs("add_hosts", "--add-host", _host_entry),
    Flag("ip", "--ip"),
    Flag("ip6", "--ip6"),
    Flag("mac_address", "--mac-address"),
    Flag("userns", "--userns"),
    Each("uid_map", "--uidmap"),
    Each("gid_map", "--gidmap"),
    Flag("sub_uid_map", "--subuidname"),
    Flag("sub_gid_map", "--subgidname"),
)
# Pod keys with no row in POD_FLAGS: code renders them.
POD_RENDERED_BY_CODE = frozenset({"description", "global_args", "podman_args", "unit", "enabled"})
POD_ID_FILE = Raw("--pod-id-file=%t/%n.pod-id")


def podman_pod_create_argv(name: str, p: Pod) -> list[str]:
    """The `podman pod create` of a pod unit, whose main process is the infra container's conmon
    (its PID file). Quadlet writes --exit-policy=stop; systemd decides here: with stop, a
    one-member pod was torn down and made anew whenever its member restarted (podman 4.3), and
    a pod being stopped lost its network while members were still stopping."""
    argv = [
        PODMAN,
        *p.global_args,
        "pod",
        "create",
        Raw("--infra-conmon-pidfile=%t/%n.pid"),
        POD_ID_FILE,
        "--exit-policy=continue",
        "--replace",
        f"--name={name}",
        f"--infra-name={infra_name(name)}",
    ]
    for flag in POD_FLAGS:
        argv += flag(p)
    return [*argv, *p.podman_args]


def render_pod(name: str, p: Pod, spec: Spec, mode: Mode) -> str:
    unit = UnitFile(spec.sources[("pod", name)])
    _common_unit(unit, p.description or f"Pod {name}")
    _requirements(unit, mode, [], p.volumes, p.networks, spec)
    pod = [PODMAN, *p.global_args, "pod"]
    service = [
        ("Environment", "PODMAN_SYSTEMD_UNIT=%n"),
        ("Type", "forking"),
        ("PIDFile", "%t/%n.pid"),
        ("Restart", "on-failure"),
        ("TimeoutStopSec", f"{DEFAULT_STOP_SECONDS + STOP_MARGIN_SECONDS}s"),
        ("SyslogIdentifier", "%N"),
        ("ExecStartPre", quote_argv(["/bin/rm", "-f", Raw("%t/%n.pid"), Raw("%t/%n.pod-id")])),
        ("ExecStartPre", quote_argv(podman_pod_create_argv(name, p))),
        ("ExecStart", quote_argv([*pod, "start", POD_ID_FILE])),
        (
            "ExecStop",
            quote_argv([*pod, "stop", POD_ID_FILE, "--ignore", f"--time={DEFAULT_STOP_SECONDS}"]),
        ),
        ("ExecStopPost", "-" + quote_argv([*pod, "rm", POD_ID_FILE, "--ignore", "--force"])),
    ]
    unit.extend("Service", service)
    _install(unit, p.enabled, mode)
    _overrides(unit, p.unit)
    _mark(unit, "pod", name)
    return unit.text()


# --- images, builds and Kubernetes YAML (issue 12) -------------------------------------------


def _network_online(unit: UnitFile, mode: Mode) -> None:
    if mode == "system":  # a user manager has no network-online.target to wait for
        unit.add("Unit", "Wants", "network-online.target")
        unit.add("Unit", "After", "network-online.target")


def _requires(unit: UnitFile, needs: list[str]) -> None:
    needs = list(dict.fromkeys(needs))
    if needs:
        unit.add("Unit", "Requires", " ".join(needs))
        unit.add("Unit", "After", " ".join(needs))


def _seconds(ms: int) -> str:
    return f"{ms // 1000}s"


# The `podman image pull` flags from keys, in their order (Quadlet's .image, and podman 5's
# --retry and --retry-delay).
IMAGE_FLAGS: tuple[Flag, ...] = (
    Flag("arch", "--arch"),
    Flag("os", "--os"),
    Flag("variant", "--variant"),
    Switch("all_tags", "--all-tags"),
    Flag("auth_file", "--authfile"),
    Flag("cert_dir", "--cert-dir"),
    Flag("creds", "--creds"),
    Flag("decryption_key", "--decryption-key", since=(4, 4)),
    Given("tls_verify", "--tls-verify"),
    Flag("retry", "--retry", since=(5, 0)),
    Flag("retry_delay", "--retry-delay", _seconds, since=(5, 0)),
)
IMAGE_BY_CODE = frozenset(
    {
        "image",  # the argument after the flags
        "policy",  # the shell around the pull: whether it pulls at all (4.3 has no --policy)
        "description",  # Description=
        "global_args",  # between podman and image
        "podman_args",  # passed through last, before the reference
        "unit",  # the unit directives given as they are
    }
)
# podman 4.3 has no `pull --policy`: the unit asks whether the image is there itself
_PULL_SCRIPTS = {
    "missing": '{exists} "$0" || exec "$@"',
    "newer": '"$@" || {exists} "$0"',
    "never": '{exists} "$0" || {{ echo "image $0 is not here and policy = never" >&2; exit 1; }}',
}


def podman_pull_argv(i: Image) -> list[str]:
    """The `podman image pull` command line of an image unit."""
    flags = [arg for flag in IMAGE_FLAGS for arg in flag(i)]
    return [*podman(i), "image", "pull", *flags, *i.podman_args, i.image]


def _pull_command(i: Image) -> list[str]:
    pull = podman_pull_argv(i)
    if i.policy == "always":
        return pull
    exists = " ".join(shlex.quote(word) for word in [*podman(i), "image", "exists"])
    return [SH, "-c", _PULL_SCRIPTS[i.policy].format(exists=exists), i.image, *pull]


def render_image(name: str, i: Image, spec: Spec, mode: Mode) -> str:
    unit = UnitFile(spec.sources[("image", name)])
    _common_unit(unit, i.description or f"Image {name} ({i.image})")
    _network_online(unit, mode)
    unit.add("Unit", "RequiresMountsFor", "%t/containers")
    unit.add("Service", "Type", "oneshot")
    unit.add("Service", "RemainAfterExit", "yes")
    unit.add("Service", "SyslogIdentifier", "%N")
    unit.add("Service", "ExecStart", quote_argv(_pull_command(i)))
    _overrides(unit, i.unit)
    _mark(unit, "image", name)
    unit.add(MARK_SECTION, "Image", i.image)
    return unit.text()


# The `podman build` flags from keys, in their order (before them: --tag and --file).
BUILD_FLAGS: tuple[Flag, ...] = (
    Flag("pull", "--pull"),
    Flag("target", "--target"),
    Pairs("args", "--build-arg"),
    Pairs("labels", "--label"),
    Pairs("annotations", "--annotation"),
    Each("secrets", "--secret"),
    Flag("network", "--network"),
    Each("volumes", "--volume", Mount.podman_value),
)
BUILD_BY_CODE = frozenset(
    {
        "context",  # the last argument, RequiresMountsFor=, and its fingerprint
        "file",  # --file=, found by the loader (spec.inputs)
        "tag",  # --tag=, with a default made from the name
        "ignore_file",  # --ignorefile= when given
        "description",  # Description=
        "global_args",  # between podman and build
        "podman_args",  # passed through last, before the context
        "unit",  # the unit directives given as they are
    }
)
BUILD_INPUTS_VARIABLE = "ORCHESTRATOR_BUILD_INPUTS"


def podman_build_argv(name: str, b: Build, inputs: Inputs) -> list[str]:
    """The `podman build` command line of a build unit."""
    argv = [*podman(b), "build", f"--tag={build_tag(name, b)}", f"--file={inputs.file}"]
    for flag in BUILD_FLAGS:
        argv += flag(b)
    if b.ignore_file is not None:
        argv.append(f"--ignorefile={os.path.normpath(os.path.join(b.context, b.ignore_file))}")
    return [*argv, *b.podman_args, b.context]


def render_build(name: str, b: Build, spec: Spec, mode: Mode) -> str:
    unit = UnitFile(spec.sources[("build", name)])
    tag = build_tag(name, b)
    _common_unit(unit, b.description or f"Build {name} ({tag})")
    _network_online(unit, mode)
    needs = [unit_name("network", b.network)] if b.network in spec.networks else []
    _requires(unit, needs + [unit_name("volume", m.source) for m in b.volumes if not m.is_bind])
    binds = [b.context, *(m.source for m in b.volumes if m.is_bind)]
    unit.add("Unit", "RequiresMountsFor", quote_words([Raw("%t/containers"), *binds]))
    unit.add("Service", "Type", "oneshot")
    unit.add("Service", "RemainAfterExit", "yes")
    unit.add("Service", "SyslogIdentifier", "%N")
    inputs = spec.inputs[name]
    # the inputs' digest makes a change of the context a change of the unit: plan shows it as
    # a rebuild, and apply restarts this unit (a build) and the containers that require it
    unit.add("Service", "Environment", f"{BUILD_INPUTS_VARIABLE}={inputs.digest}")
    unit.add("Service", "ExecStart", quote_argv(podman_build_argv(name, b, inputs)))
    _overrides(unit, b.unit)
    _mark(unit, "build", name)
    unit.add(MARK_SECTION, "Image", tag)
    return unit.text()


# The `podman kube play` flags from keys, in their order (before them: --replace and
# --service-container=true, after them podman_args and the YAML file).
KUBE_FLAGS: tuple[Flag, ...] = (
    Flag("exit_code_propagation", "--service-exit-code-propagation", since=(4, 6)),
    Flag("log_driver", "--log-driver"),
    Pairs("log_options", "--log-opt"),
    Flag("userns", "--userns"),
    Each("networks", "--network"),
    Flag("auto_update", "--annotation=io.containers.autoupdate"),
    Each("config_maps", "--configmap"),
    Each("ports", "--publish", since=(4, 4)),
)
KUBE_BY_CODE = frozenset(
    {
        "yaml",  # the last argument, and podman kube down's
        "set_working_directory",  # WorkingDirectory=
        "description",  # Description=
        "enabled",  # [Install]
        "global_args",  # between podman and kube, in play and down
        "podman_args",  # passed through last, before the YAML file
        "unit",  # the unit directives given as they are
    }
)


def podman_kube_argv(k: Kube) -> list[str]:
    """The `podman kube play` command line of a kube unit."""
    argv = [*podman(k), "kube", "play", "--replace", "--service-container=true"]
    for flag in KUBE_FLAGS:
        argv += flag(k)
    return [*argv, *k.podman_args, k.yaml]


def render_kube(name: str, k: Kube, spec: Spec, mode: Mode) -> str:
    unit = UnitFile(spec.sources[("kube", name)])
    _common_unit(unit, k.description or f"Kubernetes YAML {name} ({os.path.basename(k.yaml)})")
    _network_online(unit, mode)
    _requires(unit, [unit_name("network", n) for n in k.networks if n in spec.networks])
    unit.add("Unit", "RequiresMountsFor", quote_words([Raw("%t/containers"), k.yaml]))
    # as Quadlet's .kube: the service container is what systemd supervises, and it says when
    # the pods are up
    unit.extend("Service", [
        ("Environment", "PODMAN_SYSTEMD_UNIT=%n"),
        ("Type", "notify"),
        ("NotifyAccess", "all"),
        ("KillMode", "mixed"),
        ("SyslogIdentifier", "%N"),
    ])  # fmt: skip
    if k.set_working_directory is not None:
        source = spec.sources[("kube", name)]
        directory = os.path.dirname(k.yaml if k.set_working_directory == "yaml" else source)
        unit.add("Service", "WorkingDirectory", escape_specifiers(directory))
    unit.add("Service", "ExecStart", quote_argv(podman_kube_argv(k)))
    unit.add("Service", "ExecStopPost", quote_argv([*podman(k), "kube", "down", k.yaml]))
    _install(unit, k.enabled, mode)
    _overrides(unit, k.unit)
    _mark(unit, "kube", name)
    return unit.text()


# The kinds render_one renders (a kind added later joins here to have its overrides checked).
RENDER_ONE_KINDS = ("container", "volume", "network", "pod", "image", "build", "kube")


def render_one(
    kind: str,
    name: str,
    spec: Spec,
    mode: Mode,
    cgroups_v1: bool = False,
    *,
    argv: list[str] | None = None,
) -> str:
    """The unit of one resource of the spec (the override check renders those with overrides,
    the size check those it cannot bound). argv: a container's podman_run_argv(), when the
    caller has it already."""
    if kind == "container":
        return render_container(name, spec.containers[name], spec, mode, cgroups_v1, argv=argv)
    if kind == "volume":
        return render_volume(name, spec.volumes[name], spec)
    if kind == "network":
        return render_network(name, spec.networks[name], spec.sources[(kind, name)])
    if kind == "pod":
        return render_pod(name, spec.pods[name], spec, mode)
    if kind == "image":
        return render_image(name, spec.images[name], spec, mode)
    if kind == "build":
        return render_build(name, spec.builds[name], spec, mode)
    if kind == "kube":
        return render_kube(name, spec.kubes[name], spec, mode)
    raise ValueError(f"render_one has no renderer for {kind!r}; add it to RENDER_ONE_KINDS")
