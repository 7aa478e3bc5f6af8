"""`deploy:`, the part of it a single host has: resource limits and the restart policy. What only
Docker Swarm reads (placement, update and rollback settings) is left out with a note; more than
one replica is refused."""

from __future__ import annotations

from typing import Any

from orchestrator.convert import composevalues as cv
from orchestrator.convert.compose import Service, Translation
from orchestrator.convert.composekeys import _podman_args

_SWARM_ONLY = ("placement", "update_config", "rollback_config", "endpoint_mode", "labels", "mode")
_CONDITIONS = {"none": "no", "on-failure": "on-failure", "any": "always"}


def deploy(tr: Translation, service: Service, value: Any) -> None:
    if not isinstance(value, dict):
        tr.fail(service, service.path("deploy"), "expected a mapping")
        return
    replicas = value.get("replicas")
    if replicas not in (None, 0, 1):
        tr.fail(
            service,
            service.path("deploy", "replicas"),
            f"{replicas} replicas: orchestrator runs one container per definition (copy the "
            "service under other names, with other host ports)",
        )
    if value.get("mode") == "global":
        service.container.tail.append("compose deploy.mode global: one container on this host")
    for key in _SWARM_ONLY[:-1]:
        if key in value:
            service.container.tail.append(f"compose deploy.{key}: Docker Swarm only, left out")
    resources = value.get("resources")
    if isinstance(resources, dict):
        _limits(tr, service, resources.get("limits"))
        _reservations(tr, service, resources.get("reservations"))
    policy = value.get("restart_policy")
    if isinstance(policy, dict):
        _restart_policy(tr, service, policy)
    for key in set(value) - {"replicas", "resources", "restart_policy", *_SWARM_ONLY}:
        tr.fail(service, service.path("deploy", key), "unknown deploy key")


def _limits(tr: Translation, service: Service, limits: Any) -> None:
    if not isinstance(limits, dict):
        return
    if limits.get("cpus") is not None:
        from orchestrator.convert.composemore import _cpus

        _cpus(tr, service, limits["cpus"], "deploy.resources.limits.cpus")
    if limits.get("memory") is not None:
        try:
            size = cv.size_bytes(limits["memory"])
        except ValueError as exc:
            tr.fail(service, service.path("deploy", "resources", "limits", "memory"), str(exc))
        else:
            service.container.set(
                "memory_max",
                cv.systemd_size(size),
                "compose deploy.resources.limits.memory: systemd's MemoryMax=",
            )
    if isinstance(limits.get("pids"), int):
        service.container.set("pids_limit", limits["pids"])
    for key in set(limits) - {"cpus", "memory", "pids"}:
        service.container.tail.append(f"compose deploy.resources.limits.{key}: left out")


def _reservations(tr: Translation, service: Service, reservations: Any) -> None:
    if not isinstance(reservations, dict):
        return
    if reservations.get("memory") is not None:
        try:
            size = cv.size_bytes(reservations["memory"])
        except ValueError as exc:
            tr.fail(
                service, service.path("deploy", "resources", "reservations", "memory"), str(exc)
            )
        else:
            _podman_args(
                service,
                [f"--memory-reservation={size}"],
                "compose reservations.memory: podman's --memory-reservation",
            )
    for index, device in enumerate(reservations.get("devices") or []):
        capabilities = device.get("capabilities", []) if isinstance(device, dict) else []
        if "gpu" not in [
            c for group in capabilities for c in (group if isinstance(group, list) else [group])
        ]:
            tr.fail(
                service,
                service.path("deploy", "resources", "reservations", "devices", index),
                "only GPU device reservations have a meaning here",
            )
            continue
        count = device.get("count", "all")
        ids = device.get("device_ids")
        names = (
            [f"nvidia.com/gpu={i}" for i in ids]
            if isinstance(ids, list)
            else ["nvidia.com/gpu=all"]
        )
        notes = (
            "compose GPU reservation: the NVIDIA GPUs through CDI (nvidia-ctk cdi generate, once)"
        )
        if count not in ("all", None) and not isinstance(ids, list):
            notes += f"; compose asked for {count}, all are given here"
        _podman_args(service, [f"--device={n}" for n in names], notes)
    if reservations.get("cpus") is not None:
        service.container.tail.append(
            "compose reservations.cpus: systemd has no reservation, left out"
        )


def _restart_policy(tr: Translation, service: Service, policy: dict[str, Any]) -> None:
    if "restart" in service.data:
        service.container.note(
            "restart", "compose deploy.restart_policy: restart wins, as in docker compose"
        )
        return
    condition = policy.get("condition", "any")
    if condition not in _CONDITIONS:
        tr.fail(
            service,
            service.path("deploy", "restart_policy", "condition"),
            f'expected "none", "on-failure" or "any", got {cv.show(condition)}',
        )
        return
    notes = [f"compose deploy.restart_policy.condition {condition}"]
    if policy.get("max_attempts") is not None or policy.get("window") is not None:
        notes.append(
            "max_attempts and window: systemd's start limit (StartLimitBurst=) applies instead"
        )
    service.container.set("restart", _CONDITIONS[condition], *notes)
    if policy.get("delay") is not None:
        try:
            service.container.set("restart_sec", cv.duration_text(cv.duration_ms(policy["delay"])))
        except ValueError as exc:
            tr.fail(service, service.path("deploy", "restart_policy", "delay"), str(exc))
