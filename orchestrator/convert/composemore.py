"""The rest of the service keys: process, resources, health, restart, security, logging, secrets
and configs, and the keys that are left out (with a note) or refused."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

from orchestrator.convert import composevalues as cv
from orchestrator.convert.compose import Service, Translation, _mapping_of, _scalar
from orchestrator.convert.composekeys import _network_holder, _podman_args
from orchestrator.convert.tomlout import Table

if TYPE_CHECKING:
    from orchestrator.convert.composekeys import Handler


def _plain(key: str, convert: Any = str) -> Handler:
    """A key that means the same here: the value, converted (false, the default of every flag
    here, is left out)."""

    def handler(tr: Translation, service: Service, value: Any) -> None:
        if convert is bool and not isinstance(value, bool):
            raise ValueError("expected true or false")
        if value is not None and value is not False:
            service.container.set(key, convert(value))

    return handler


def _networked(key: str, as_list: bool = False) -> Handler:
    """A key of the network namespace: on the container, or on its pod."""

    def handler(tr: Translation, service: Service, value: Any) -> None:
        if value is None:
            return
        converted = [str(v) for v in value] if as_list and isinstance(value, list) else value
        if as_list and not isinstance(value, list):
            converted = [str(value)]
        _network_holder(tr, service).set(key, converted if as_list else str(value))

    return handler


def _flag(flag: str, note: str = "") -> Handler:
    """A podman flag orchestrator has no key for: passed in podman_args."""

    def handler(tr: Translation, service: Service, value: Any) -> None:
        if value is None or value is False:
            return
        arg = flag if value is True else f"{flag}={_scalar(value)}"
        _podman_args(service, [arg], note or f"compose {flag.lstrip('-')}: podman's {flag}")

    return handler


def _container_name(tr: Translation, service: Service, value: Any) -> None:
    """Said by _join: the definition keeps the service's name; container_name is an alias."""


def _labels(tr: Translation, service: Service, value: Any) -> None:
    labels = _mapping_of(value)
    if labels:
        table = service.container.get("labels") or Table()
        for key, item in labels.items():
            table.set(key, item)
        service.container.set("labels", table)


def _label_file(tr: Translation, service: Service, value: Any) -> None:
    from orchestrator.convert.composefile import read_env
    from orchestrator.errors import DefinitionError

    table = service.container.get("labels") or Table()
    for path in value if isinstance(value, list) else [value]:
        try:
            found = read_env(str(path))
        except DefinitionError as exc:
            why = "; ".join(p.message for p in exc.problems)
            tr.fail(service, service.path("label_file"), f"{tr.shown(str(path))}: {why}")
            continue
        for index, (key, item) in enumerate(found.items()):
            notes = [f"from compose label_file {tr.shown(str(path))}"] if index == 0 else []
            table.set(key, item, *notes)
    service.container.set("labels", table)


def _depends_on(tr: Translation, service: Service, value: Any) -> None:
    if not isinstance(value, dict):
        tr.fail(service, service.path("depends_on"), "expected a list or mapping of services")
        return
    depends, notes = dict(service.container.get("depends_on", {})), []
    for other, options in value.items():
        options = options if isinstance(options, dict) else {}
        if other not in tr.project.services:
            if options.get("required") is False:
                notes.append(f"compose depends_on {other} (not required): not in this project")
                continue
            tr.fail(
                service, service.path("depends_on", other), f"no service {other!r} in this project"
            )
            continue
        condition = options.get("condition", "service_started")
        depends[tr.names[other]] = _condition(tr, service, other, condition, notes)
        if options.get("required") is False:
            notes.append(f"compose depends_on {other} is not required: here it is (Requires=)")
        if options.get("restart"):
            notes.append(f"compose restarts {service.key} with {other}: systemd does (Requires=)")
    if depends:
        service.container.set("depends_on", depends, *notes)


def _condition(
    tr: Translation, service: Service, other: str, condition: Any, notes: list[str]
) -> str:
    if condition == "service_healthy":
        health = tr.project.services[other].get("healthcheck")
        health = health if isinstance(health, dict) else {}
        test = health.get("test")
        if test and test not in (["NONE"], "NONE") and not health.get("disable"):
            return "healthy"
        notes.append(
            f"compose waits for {other} to be healthy, but its health check is in its "
            "image, which orchestrator cannot wait for: it waits for the start"
        )
        return "started"
    if condition == "service_completed_successfully":
        notes.append(
            f"compose waits for {other} to finish successfully; here {service.key} starts "
            f"once {other} has started (systemd orders starts, not ends)"
        )
        return "started"
    if condition != "service_started":
        tr.fail(
            service,
            service.path("depends_on", other, "condition"),
            f"unknown condition {condition!r}",
        )
    return "started"


def _links(tr: Translation, service: Service, value: Any) -> None:
    depends = dict(service.container.get("depends_on", {}))
    for index, item in enumerate(value if isinstance(value, list) else []):
        other = str(item).partition(":")[0]
        if other not in tr.project.services:
            tr.fail(service, service.path("links", index), f"no service {other!r} in this project")
            continue
        depends.setdefault(tr.names[other], "started")
    service.container.set(
        "depends_on",
        depends,
        "compose links: a dependency; the name resolves on the shared network",
    )


def _volumes_from(tr: Translation, service: Service, value: Any) -> None:
    args = []
    for index, item in enumerate(value if isinstance(value, list) else []):
        kind, _, rest = str(item).partition(":")
        other, mode = (
            (rest.partition(":")[0], rest.partition(":")[2])
            if kind in ("service", "container")
            else (kind, rest)
        )
        name = tr.names.get(other, other if kind == "container" else "")
        if not name:
            tr.fail(
                service,
                service.path("volumes_from", index),
                f"no service {other!r} in this project",
            )
            continue
        args.append(f"--volumes-from={name}" + (f":{mode}" if mode else ""))
    if args:
        _podman_args(service, args, "compose volumes_from: podman's --volumes-from")


# --- health, restart, stop --------------------------------------------------------------------


def _healthcheck(tr: Translation, service: Service, value: Any) -> None:
    if not isinstance(value, dict):
        tr.fail(service, service.path("healthcheck"), "expected a mapping")
        return
    test = value.get("test")
    if value.get("disable") or test in (["NONE"], "NONE"):
        _podman_args(service, ["--no-healthcheck"], "compose disables the image's health check")
        return
    if test is None:
        return
    health = Table()
    if isinstance(test, str):
        health.set("command", test)
    elif isinstance(test, list) and test and test[0] == "CMD" and len(test) > 1:
        health.set("command", [str(t) for t in test[1:]])
    elif isinstance(test, list) and len(test) == 2 and test[0] == "CMD-SHELL":
        health.set("command", str(test[1]), "compose CMD-SHELL: a string runs in /bin/sh -c")
    else:
        tr.fail(
            service,
            service.path("healthcheck", "test"),
            'expected a string, ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]',
        )
        return
    for key in ("interval", "timeout", "start_period"):
        if value.get(key) is not None:
            _health_duration(tr, service, health, key, value[key])
    retries = value.get("retries")
    if isinstance(retries, int) and retries >= 1:
        health.set("retries", retries)
    elif retries is not None:
        health.note("command", f"compose retries {retries}: podman's default (3) here")
    if value.get("start_interval") is not None:
        health.note("command", "compose start_interval: podman 4.3 has none, left out")
    service.container.set("health", health)


def _health_duration(
    tr: Translation, service: Service, health: Table, key: str, value: Any
) -> None:
    try:
        ms = cv.duration_ms(value)
    except ValueError as exc:
        tr.fail(service, service.path("healthcheck", key), str(exc))
        return
    if key != "start_period" and ms < 1000:
        health.set(key, "1s", f"compose {key} {value}: podman's shortest is 1s")
    else:
        health.set(key, cv.duration_text(ms))


_RESTART = {"no": "no", "always": "always", "on-failure": "on-failure"}


def _restart(tr: Translation, service: Service, value: Any) -> None:
    text = "no" if value is False else str(value)
    policy, _, count = text.partition(":")
    if policy == "unless-stopped":
        service.container.set(
            "restart",
            "always",
            "compose unless-stopped: systemd restarts it "
            "always, except after `systemctl stop`; at boot it starts while enabled",
        )
    elif policy in _RESTART:
        notes = (
            [
                f"compose on-failure:{count}: systemd restarts it until its start limit "
                "(StartLimitBurst=) is hit"
            ]
            if count
            else []
        )
        service.container.set("restart", _RESTART[policy], *notes)
    else:
        tr.fail(
            service,
            service.path("restart"),
            f'expected "no", "always", "on-failure[:N]" or "unless-stopped", got {cv.show(value)}',
        )


def _stop_grace_period(tr: Translation, service: Service, value: Any) -> None:
    try:
        ms = cv.duration_ms(value)
    except ValueError as exc:
        tr.fail(service, service.path("stop_grace_period"), str(exc))
        return
    seconds = math.ceil(ms / 1000)
    notes = [] if ms % 1000 == 0 else [f"compose {value}: podman counts whole seconds"]
    service.container.set("stop_timeout", cv.duration_text(seconds * 1000), *notes)


# --- resources ----------------------------------------------------------------------------


def _memory(key: str, note: str = "") -> Handler:
    def handler(tr: Translation, service: Service, value: Any) -> None:
        try:
            size = cv.size_bytes(value)
        except ValueError as exc:
            tr.fail(service, service.path(key), str(exc))
            return
        if size:
            service.container.set(
                "memory_max",
                cv.systemd_size(size),
                note or f"compose {key}: enforced by systemd on the unit (MemoryMax=)",
            )

    return handler


def _cpus(tr: Translation, service: Service, value: Any, key: str = "cpus") -> None:
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        tr.fail(service, service.path(key), f"expected a number of CPUs, got {cv.show(value)}")
        return
    if cpus > 0:
        percent = f"{round(cpus * 100, 2):g}%"
        service.container.set("cpu_quota", percent, f"compose {key} {value}: systemd's CPUQuota=")


def _shm_size(tr: Translation, service: Service, value: Any) -> None:
    try:
        service.container.set("shm_size", cv.podman_size(cv.size_bytes(value)))
    except ValueError as exc:
        tr.fail(service, service.path("shm_size"), str(exc))


def _size_flag(flag: str) -> Handler:
    def handler(tr: Translation, service: Service, value: Any) -> None:
        try:
            size = cv.size_bytes(value) if value != -1 else -1
        except ValueError as exc:
            tr.fail(service, service.path(flag.strip("-")), str(exc))
            return
        _podman_args(service, [f"{flag}={size}"], f"compose: podman's {flag}")

    return handler


def _deploy(tr: Translation, service: Service, value: Any) -> None:
    from orchestrator.convert.composedeploy import deploy

    deploy(tr, service, value)


def _ulimits(tr: Translation, service: Service, value: Any) -> None:
    table = Table()
    for name, limit in value.items() if isinstance(value, dict) else ():
        if isinstance(limit, dict):
            table.set(name, f"{limit.get('soft')}:{limit.get('hard')}")
        else:
            table.set(name, limit if isinstance(limit, int) else str(limit))
    if "nproc" not in table and table.rows:
        table.notes.append(
            "podman 4.3 drops its default nproc limit once any ulimit is given: consider nproc too"
        )
    service.container.set("ulimits", table)


def _sysctls(tr: Translation, service: Service, value: Any) -> None:
    table = Table([(k, v, []) for k, v in _mapping_of(value).items()])
    service.container.set("sysctls", table)


def _extra_hosts(tr: Translation, service: Service, value: Any) -> None:
    holder = _network_holder(tr, service)
    table = holder.get("add_hosts") or Table()
    for index, item in enumerate(value if isinstance(value, list) else []):
        text = str(item)
        host, sep, ip = text.partition("=")
        if not sep:
            host, sep, ip = text.partition(":")
        if not sep or not host:
            tr.fail(
                service,
                service.path("extra_hosts", index),
                f'expected "HOST=IP" or "HOST:IP", got {text!r}',
            )
            continue
        ip = ip.strip("[]")
        if ip == "host-gateway":
            _podman_args(
                service,
                [f"--add-host={host}:host-gateway"],
                "compose host-gateway: podman 5.3 and later read it; older podman adds "
                "host.containers.internal itself",
            )
            continue
        table.set(host, ip)
    if table.rows:
        holder.set("add_hosts", table)


def _devices(tr: Translation, service: Service, value: Any) -> None:
    devices, cdi = list(service.container.get("devices", [])), []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            item = ":".join(
                str(item[k]) for k in ("source", "target", "permissions") if item.get(k)
            )
        text = str(item)
        if not text.startswith("/"):
            cdi.append(f"--device={text}")
        else:
            devices.append(text)
    if devices:
        service.container.set("devices", devices)
    if cdi:
        _podman_args(service, cdi, "compose CDI devices: podman's --device")


def _gpus(tr: Translation, service: Service, value: Any) -> None:
    count = value if value == "all" else "all"
    _podman_args(
        service,
        [f"--device=nvidia.com/gpu={count}"],
        "compose gpus: the NVIDIA GPUs through CDI (nvidia-ctk cdi generate, once)",
    )


_SECURITY = {"no-new-privileges": "no_new_privileges"}


def _security_opt(tr: Translation, service: Service, value: Any) -> None:
    for item in value if isinstance(value, list) else []:
        text = str(item)
        key, _, option = text.replace("=", ":", 1).partition(":")
        if key == "no-new-privileges" and option in ("", "true"):
            service.container.set("no_new_privileges", True)
        elif key == "label" and option == "disable":
            service.container.set("security_label_disable", True)
        elif key == "label" and option.startswith(("type:", "level:", "filetype:")):
            part, _, label = option.partition(":")
            service.container.set(
                {
                    "type": "security_label_type",
                    "level": "security_label_level",
                    "filetype": "security_label_file_type",
                }[part],
                label,
            )
        elif key == "seccomp":
            service.container.set(
                "seccomp_profile",
                option if option == "unconfined" else os.path.join(tr.project.directory, option),
            )
        elif key == "apparmor":
            service.container.set("apparmor", option)
        else:
            _podman_args(
                service, [f"--security-opt={text}"], "compose security_opt: podman's --security-opt"
            )


def _logging(tr: Translation, service: Service, value: Any) -> None:
    if not isinstance(value, dict):
        return
    driver = value.get("driver")
    options = value.get("options") if isinstance(value.get("options"), dict) else {}
    if driver in ("journald", "none", "k8s-file", "passthrough"):
        service.container.set("log_driver", driver)
        if options:
            service.container.set(
                "log_options", Table([(k, _scalar(v), []) for k, v in options.items()])
            )
    elif driver in (None, "json-file", "local"):
        note = f"compose logging {driver or 'options'}"
        service.container.tail.append(
            f"{note}: the output goes to the journal here, which rotates it itself"
            + (f" (options {', '.join(options)} left out)" if options else "")
        )
    else:
        service.container.tail.append(
            f"compose logging driver {driver!r}: podman has none; the output goes to the journal"
        )


def _pull_policy(tr: Translation, service: Service, value: Any) -> None:
    policy = {
        "always": "always",
        "never": "never",
        "missing": "missing",
        "if_not_present": "missing",
    }
    if value in policy:
        service.container.set("pull", policy[value])
    elif value == "build":
        service.container.tail.append("compose pull_policy build: the image is built (build)")
    elif isinstance(value, str) and (value in ("daily", "weekly") or value.startswith("every_")):
        service.container.set(
            "pull",
            "newer",
            f"compose pull_policy {value}: podman pulls a newer image at each start",
        )
    else:
        tr.fail(service, service.path("pull_policy"), f"unknown pull policy {cv.show(value)}")


def _namespace(flag: str) -> Handler:
    def handler(tr: Translation, service: Service, value: Any) -> None:
        text = str(value)
        if text.startswith("service:"):
            other = text.partition(":")[2]
            if other not in tr.project.services:
                tr.fail(
                    service, service.path(flag.strip("-")), f"no service {other!r} in this project"
                )
                return
            text = f"container:{tr.names[other]}"
            depends = dict(service.container.get("depends_on", {}))
            depends.setdefault(tr.names[other], "started")
            service.container.set("depends_on", depends)
        _podman_args(service, [f"{flag}={text}"], f"compose {flag.strip('-')}: podman's {flag}")

    return handler


def _userns(tr: Translation, service: Service, value: Any) -> None:
    service.container.set("userns", str(value))


def _scale(tr: Translation, service: Service, value: Any) -> None:
    if value not in (0, 1):
        tr.fail(
            service,
            service.path("scale"),
            f"{value} replicas: orchestrator runs one container per definition",
        )


def _profiles(tr: Translation, service: Service, value: Any) -> None:
    service.container.tail.append(
        f"compose profiles {', '.join(map(str, value))}: imported as active"
    )


def _secrets(tr: Translation, service: Service, value: Any) -> None:
    from orchestrator.convert.composesecrets import secrets

    secrets(tr, service, value)


def _configs(tr: Translation, service: Service, value: Any) -> None:
    from orchestrator.convert.composesecrets import configs

    configs(tr, service, value)


MORE_HANDLERS: dict[str, Handler] = {
    "container_name": _container_name,
    "user": _plain("user"),
    "working_dir": _plain("workdir"),
    "hostname": _networked("hostname"),
    "mac_address": _networked("mac_address"),
    "dns": _networked("dns", as_list=True),
    "dns_search": _networked("dns_search", as_list=True),
    "dns_opt": _networked("dns_options", as_list=True),
    "extra_hosts": _extra_hosts,
    "labels": _labels,
    "label_file": _label_file,
    "annotations": _plain("annotations", _mapping_of),
    "depends_on": _depends_on,
    "links": _links,
    "volumes_from": _volumes_from,
    "healthcheck": _healthcheck,
    "restart": _restart,
    "stop_signal": _plain("stop_signal"),
    "stop_grace_period": _stop_grace_period,
    "init": _plain("init", bool),
    "privileged": _plain("privileged", bool),
    "read_only": _plain("read_only", bool),
    "cap_add": _plain("cap_add", lambda v: [str(c) for c in v]),
    "cap_drop": _plain("cap_drop", lambda v: [str(c) for c in v]),
    "group_add": _plain("group_add", lambda v: [str(c) for c in v]),
    "devices": _devices,
    "gpus": _gpus,
    "device_cgroup_rules": _flag("--device-cgroup-rule"),
    "security_opt": _security_opt,
    "sysctls": _sysctls,
    "ulimits": _ulimits,
    "shm_size": _shm_size,
    "mem_limit": _memory("mem_limit"),
    "cpus": _cpus,
    "pids_limit": _plain("pids_limit", int),
    "memswap_limit": _size_flag("--memory-swap"),
    "mem_reservation": _size_flag("--memory-reservation"),
    "mem_swappiness": _flag("--memory-swappiness"),
    "cpu_shares": _flag("--cpu-shares"),
    "cpu_quota": _flag("--cpu-quota"),
    "cpu_period": _flag("--cpu-period"),
    "cpuset": _flag("--cpuset-cpus"),
    "cpu_rt_runtime": _flag("--cpu-rt-runtime"),
    "cpu_rt_period": _flag("--cpu-rt-period"),
    "oom_score_adj": _flag("--oom-score-adj"),
    "oom_kill_disable": _flag("--oom-kill-disable"),
    "deploy": _deploy,
    "logging": _logging,
    "tty": _flag("--tty"),
    "stdin_open": _flag("--interactive"),
    "platform": _flag("--platform"),
    "runtime": _flag("--runtime"),
    "pull_policy": _pull_policy,
    "pid": _namespace("--pid"),
    "ipc": _namespace("--ipc"),
    "uts": _namespace("--uts"),
    "cgroup": _namespace("--cgroupns"),
    "userns_mode": _userns,
    "scale": _scale,
    "profiles": _profiles,
    "secrets": _secrets,
    "configs": _configs,
}

DROPPED = {
    "attach": "whether `docker compose up` shows its output; the journal has it here",
    "develop": "docker compose watch's development settings, left out",
    "credential_spec": "Windows only, left out",
    "isolation": "Windows only, left out",
    "external_links": "containers outside the project: reach them by their network alias",
    "cpu_count": "Windows only, left out",
    "cpu_percent": "Windows only, left out",
    "domainname": "podman has no domain name setting; left out",
    "cgroup_parent": "systemd places the container in the unit's own cgroup, left out",
    "storage_opt": "per-container storage options: left out (set them in storage.conf)",
    "blkio_config": "block I/O weights and limits: left out (IOWeight= in unit.Service)",
}
REFUSED = {
    "post_start": "lifecycle hooks have no meaning here: run them from the service itself",
    "pre_stop": "lifecycle hooks have no meaning here: run them from the service itself",
    "provider": "a provider service (compose plugins) has no meaning here",
    "models": "AI models (Docker Model Runner) have no meaning here",
    "use_api_socket": "orchestrator gives no container access to the container engine's socket",
    "extends": "extends that could not be resolved",
}
