"""Spec -> unit files (name -> text). Pure and deterministic: the same Spec gives the same bytes.

The unit shape (DESIGN section 4) is the one Quadlet, NixOS and `podman generate systemd --new`
converged on, restricted to flags podman 4.3 has.
"""

from __future__ import annotations

import json

from orchestrator.core.models import Container, Network, Spec, Volume, unit_name
from orchestrator.core.quoting import Raw, escape_specifiers, quote_argv, quote_words
from orchestrator.core.target import Mode
from orchestrator.core.unitfile import MARK_SECTION, UnitFile
from orchestrator.core.values import format_duration

PODMAN = "/usr/bin/podman"
SH = "/bin/sh"
CIDFILE = Raw("%t/%n.ctr-id")
DEFAULT_STOP_SECONDS = 10
STOP_MARGIN_SECONDS = 60
HEALTH_POLL = "0.5"
# Reads the status podman's own timer keeps: running the check from here would count towards the
# dependency's retries and could trigger its on_failure action.
WAIT_HEALTHY = (
    'echo "waiting until container $0 is healthy"; '
    f'until [ "$({PODMAN} inspect --format \'{{{{.State.Health.Status}}}}\' "$0" 2>/dev/null)" '
    f"= healthy ]; do sleep {HEALTH_POLL}; done"
)
CREATE_VOLUME = f'{PODMAN} volume exists "$0" || exec {PODMAN} volume create "$@" "$0"'
CREATE_NETWORK = f'{PODMAN} network exists "$0" || exec {PODMAN} network create "$@" "$0"'


def render(spec: Spec, mode: Mode = "system", *, cgroups_v1: bool = False) -> dict[str, str]:
    """Every unit file the spec asks for, keyed by unit name, sorted by name. cgroups_v1: the
    host has a v1 (or hybrid) cgroup layout, which changes how user-mode units run podman."""
    units: dict[str, str] = {}
    for name, container in spec.containers.items():
        units[unit_name("container", name)] = render_container(
            name, container, spec, mode, cgroups_v1
        )
    for name, volume in spec.volumes.items():
        units[unit_name("volume", name)] = render_volume(
            name, volume, spec.sources[("volume", name)]
        )
    for name, network in spec.networks.items():
        source = spec.sources[("network", name)]
        units[unit_name("network", name)] = render_network(name, network, source)
    return dict(sorted(units.items()))


def _common_unit(unit: UnitFile, description: str) -> None:
    unit.add("Unit", "Description", escape_specifiers(description))
    # No SourcePath=: systemd would mark the unit NeedDaemonReload whenever the definition file
    # is touched, even when the unit is unchanged. The source is in the mark instead.


def _mark(unit: UnitFile, kind: str, name: str) -> None:
    unit.add(MARK_SECTION, "Kind", kind)
    unit.add(MARK_SECTION, "Name", name)
    unit.add(MARK_SECTION, "Source", escape_specifiers(unit.source))


def render_container(
    name: str, c: Container, spec: Spec, mode: Mode, cgroups_v1: bool = False
) -> str:
    unit = UnitFile(spec.sources[("container", name)])
    _common_unit(unit, c.description or f"Container {name} ({c.image})")
    if mode == "system":
        unit.add("Unit", "Wants", "network-online.target")
        unit.add("Unit", "After", "network-online.target")
    needs = [unit_name("container", dep) for dep in c.depends_on]
    needs += [unit_name("volume", m.source) for m in c.volumes if not m.is_bind]
    needs += [unit_name("network", n) for n in c.networks if n in spec.networks]
    needs = list(dict.fromkeys(needs))
    if needs:
        unit.add("Unit", "Requires", " ".join(needs))
        unit.add("Unit", "After", " ".join(needs))
    binds = list(dict.fromkeys(m.source for m in c.volumes if m.is_bind))
    unit.add("Unit", "RequiresMountsFor", quote_words([Raw("%t/containers"), *binds]))

    stop_ms = DEFAULT_STOP_SECONDS * 1000 if c.stop_timeout is None else c.stop_timeout
    stop_seconds = stop_ms // 1000
    service = [
        ("Environment", "PODMAN_SYSTEMD_UNIT=%n"),
        ("Type", "notify"),
        ("NotifyAccess", "all"),
        ("KillMode", "mixed"),
        ("Delegate", "yes"),
        ("SyslogIdentifier", "%N"),
        ("Restart", c.restart),
    ]
    if c.restart_sec is not None:
        service.append(("RestartSec", format_duration(c.restart_sec)))
    if c.start_timeout is not None:
        service.append(("TimeoutStartSec", format_duration(c.start_timeout)))
    service.append(("TimeoutStopSec", f"{stop_seconds + STOP_MARGIN_SECONDS}s"))
    for key, limit in (
        ("MemoryMax", c.memory_max),
        ("CPUQuota", c.cpu_quota),
        ("TasksMax", c.tasks_max),
    ):
        if limit is not None:
            service.append((key, limit))
    service.append(("ExecStartPre", quote_argv(["/bin/rm", "-f", CIDFILE])))
    for dep, condition in c.depends_on.items():
        if condition == "healthy":
            service.append(("ExecStartPre", quote_argv([SH, "-c", WAIT_HEALTHY, dep])))
    service.append(("ExecStart", quote_argv(podman_run_argv(name, c, mode, cgroups_v1))))
    stop = ["--ignore", f"--time={stop_seconds}", Raw("--cidfile=%t/%n.ctr-id")]
    service.append(("ExecStop", quote_argv([PODMAN, "stop", *stop])))
    service.append(("ExecStopPost", "-" + quote_argv([PODMAN, "rm", "--force", *stop])))
    for key, value in service:
        unit.add("Service", key, value)
    if c.enabled:
        unit.add(
            "Install", "WantedBy", "multi-user.target" if mode == "system" else "default.target"
        )
    for section, directives in c.unit.items():
        for key, items in directives.items():
            for value in items:
                unit.add(section, key, value)
    _mark(unit, "container", name)
    unit.add(MARK_SECTION, "Image", c.image)  # what apply pre-pulls and status shows
    unit.add(MARK_SECTION, "Pull", c.pull or "missing")
    if c.health is not None:
        unit.add(MARK_SECTION, "Health", "yes")
    return unit.text()


SECRETS_DIR = "/run/secrets"


def _secrets_need_a_directory(c: Container) -> bool:
    """On a read-only root, podman 4.3 with runc cannot create /run/secrets/NAME and the
    container fails to start (podman#15541); a tmpfs on /run/secrets gives it a place."""
    mounted = any(
        s.type == "mount" and (s.target is None or not s.target.startswith("/")) for s in c.secrets
    )
    taken = {m.target for m in c.volumes} | {t.partition(":")[0] for t in c.tmpfs}
    return mounted and SECRETS_DIR not in taken


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
        PODMAN,
        "run",
        f"--name={name}",
        Raw("--cidfile=%t/%n.ctr-id"),
        "--replace",
        "--rm",
        NO_CONMON if mode == "user" and cgroups_v1 else SPLIT,
        "--sdnotify=conmon",
        "-d",
    ]
    if c.pull is not None:
        argv.append(f"--pull={c.pull}")
    if c.auto_update is not None:
        argv.append(f"--label=io.containers.autoupdate={c.auto_update}")
    argv += [f"--label={key}={value}" for key, value in c.labels.items()]
    argv += [f"--env={key}={value}" for key, value in c.environment.items()]
    argv += [f"--env-file={path}" for path in c.env_files]
    argv += [f"--publish={port}" for port in c.ports]
    argv += [f"--volume={mount.podman_value()}" for mount in c.volumes]
    argv += [f"--tmpfs={mount}" for mount in c.tmpfs]
    argv += [f"--network={network}" for network in c.networks]
    argv += [f"--network-alias={alias}" for alias in c.network_aliases]
    if c.hostname is not None:
        argv.append(f"--hostname={c.hostname}")
    if c.user is not None:
        argv.append(f"--user={c.user}")
    if c.workdir is not None:
        argv.append(f"--workdir={c.workdir}")
    if c.entrypoint is not None:
        entrypoint = c.entrypoint if isinstance(c.entrypoint, str) else _json(c.entrypoint)
        argv.append(f"--entrypoint={entrypoint}")
    if c.read_only:
        argv.append("--read-only")
        if _secrets_need_a_directory(c):
            argv.append(f"--tmpfs={SECRETS_DIR}:rw,nosuid,nodev,noexec,mode=0755")
    argv += [f"--cap-add={cap}" for cap in c.cap_add]
    argv += [f"--cap-drop={cap}" for cap in c.cap_drop]
    if c.no_new_privileges:
        argv.append("--security-opt=no-new-privileges")
    argv += [f"--device={device}" for device in c.devices]
    argv += [f"--secret={secret.podman_value()}" for secret in c.secrets]
    if c.stop_timeout is not None:
        argv.append(f"--stop-timeout={c.stop_timeout // 1000}")
    if c.health is not None:
        h = c.health
        command = h.command if isinstance(h.command, str) else _health_exec(h.command)
        argv.append(f"--health-cmd={command}")
        for flag, value in (
            ("interval", h.interval),
            ("timeout", h.timeout),
            ("start-period", h.start_period),
        ):
            if value is not None:
                argv.append(f"--health-{flag}={format_duration(value)}")
        if h.retries is not None:
            argv.append(f"--health-retries={h.retries}")
        if h.on_failure != "none":
            argv.append(f"--health-on-failure={h.on_failure}")
    argv += c.podman_args
    argv.append(c.image)
    argv += c.command or []
    return argv


def _health_exec(words: list[str]) -> str:
    """Podman 4.3 runs a one-element JSON array through a shell; "CMD word" runs it directly."""
    return f"CMD {words[0]}" if len(words) == 1 else _json(words)


def _json(words: list[str]) -> str:
    return json.dumps(words, ensure_ascii=False, separators=(",", ":"))


def _oneshot(unit: UnitFile, script: str, name: str, args: list[str]) -> None:
    unit.add("Unit", "RequiresMountsFor", "%t/containers")
    unit.add("Service", "Type", "oneshot")
    unit.add("Service", "RemainAfterExit", "yes")
    unit.add("Service", "SyslogIdentifier", "%N")
    unit.add("Service", "ExecStart", quote_argv([SH, "-c", script, name, *args]))


def _options(flag: str, table: dict[str, str]) -> list[str]:
    return [f"--{flag}={key}={value}" for key, value in table.items()]


def render_volume(name: str, v: Volume, source: str) -> str:
    unit = UnitFile(source)
    _common_unit(unit, v.description or f"Volume {name}")
    args = [f"--driver={v.driver}"] if v.driver else []
    args += _options("opt", v.options) + _options("label", v.labels)
    _oneshot(unit, CREATE_VOLUME, name, args)
    _mark(unit, "volume", name)
    return unit.text()


def render_network(name: str, n: Network, source: str) -> str:
    unit = UnitFile(source)
    _common_unit(unit, n.description or f"Network {name}")
    args = [f"--driver={n.driver}"] if n.driver else []
    for flag, value in (("subnet", n.subnet), ("gateway", n.gateway), ("ip-range", n.ip_range)):
        if value:
            args.append(f"--{flag}={value}")
    args += [
        flag
        for flag, on in (
            ("--internal", n.internal),
            ("--ipv6", n.ipv6),
            ("--disable-dns", not n.dns),
        )
        if on
    ]
    args += _options("opt", n.options) + _options("label", n.labels)
    _oneshot(unit, CREATE_NETWORK, name, args)
    _mark(unit, "network", name)
    return unit.text()
