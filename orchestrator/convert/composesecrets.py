"""Secrets and configs. A compose secret becomes a podman secret (mounted where compose mounts
it, /run/secrets/NAME), which the user creates once: the commands are printed. A config becomes
a read-only bind mount of its file; an inline one (`content`, `environment`) is written beside the
definitions first."""

from __future__ import annotations

import os
import shlex
from typing import Any

from orchestrator.convert.compose import Service, Translation, file_name


def _entries(
    tr: Translation, service: Service, key: str, value: Any
) -> list[tuple[int, str, str | None]]:
    """(index, source, target) of each entry, short or long syntax."""
    found: list[tuple[int, str, str | None]] = []
    for index, item in enumerate(value if isinstance(value, list) else []):
        if isinstance(item, str):
            found.append((index, item, None))
        elif isinstance(item, dict) and isinstance(item.get("source"), str):
            target = item.get("target")
            found.append((index, item["source"], str(target) if target else None))
            if any(k in item for k in ("uid", "gid", "mode")):
                service.container.tail.append(
                    f"compose {key}[{index}] uid/gid/mode: podman's defaults (root, 0444) here"
                )
        else:
            tr.fail(service, service.path(key, index), "expected a name, or a table with source")
    return found


def _declared(
    tr: Translation, service: Service, key: str, value: Any
) -> list[tuple[int, str, str | None, dict[str, Any]]]:
    """The entries whose source the top level declares (the others are refused)."""
    found = []
    for index, source, target in _entries(tr, service, key, value):
        declared = getattr(tr.project, key).get(source)
        if isinstance(declared, dict):
            found.append((index, source, target, declared))
        else:
            what = key.rstrip("s")
            tr.fail(
                service,
                service.path(key, index),
                f"no {what} {source!r} is declared at the top level",
            )
    return found


def secrets(tr: Translation, service: Service, value: Any) -> None:
    result = []
    for _, source, target, declared in _declared(tr, service, "secrets", value):
        name = (
            str(declared.get("name") or source)
            if declared.get("external")
            else _secret_name(tr, source)
        )
        _todo(tr, name, source, declared)
        entry: dict[str, str] = {"name": name}
        wanted = target or source
        if wanted != name:
            entry["target"] = wanted if wanted.startswith("/") else f"/run/secrets/{wanted}"
        result.append(entry if len(entry) > 1 else name)
    if result:
        service.container.set(
            "secrets", result, "podman secrets: create them once (see the import's output)"
        )


def _secret_name(tr: Translation, key: str) -> str:
    return f"{tr.prefix}-{key}" if tr.prefix else key


def _todo(tr: Translation, name: str, source: str, declared: dict[str, Any]) -> None:
    if declared.get("external"):
        line = f"podman secret exists {shlex.quote(name)}   # external in compose: it must exist"
    elif isinstance(declared.get("file"), str):
        line = f"podman secret create {shlex.quote(name)} {shlex.quote(declared['file'])}"
    elif isinstance(declared.get("environment"), str):
        var = declared["environment"]
        line = f'printf %s "${var}" | podman secret create {shlex.quote(name)} -'
    else:
        line = (
            f"podman secret create {shlex.quote(name)} FILE   # compose gives no file for {source}"
        )
    if line not in tr.todo:
        tr.todo.append(line)


def configs(tr: Translation, service: Service, value: Any) -> None:
    mounts = list(service.container.get("volumes", []))
    for index, source, target, declared in _declared(tr, service, "configs", value):
        path = _config_file(tr, service, index, source, declared)
        if path is None:
            continue
        where = target or f"/{source}"
        if not where.startswith("/"):
            where = f"/{where}"
        mounts.append(f"{path}:{where}:ro")
    if mounts:
        service.container.set(
            "volumes", mounts, "compose configs: read-only bind mounts of their files"
        )


def _config_file(
    tr: Translation, service: Service, index: int, source: str, declared: dict[str, Any]
) -> str | None:
    if isinstance(declared.get("file"), str):
        return str(declared["file"])
    content = declared.get("content")
    if content is None and isinstance(declared.get("environment"), str):
        content = tr.project.env.get(declared["environment"], "")
    if content is None:
        tr.fail(
            service,
            service.path("configs", index),
            f"config {source!r} is external or has no file: only Docker Swarm has such configs",
        )
        return None
    name = file_name(f"config-{source}", "")
    tr.extra_files[name] = str(content)
    return os.path.join(tr.out_dir, name)
