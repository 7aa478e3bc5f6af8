"""`build:` as a [build.NAME] table (kinds.md): the container then runs its tag."""

from __future__ import annotations

import os
from typing import Any

from orchestrator.convert import composevalues as cv
from orchestrator.convert.compose import (
    Service,
    Translation,
    _mapping_of,
    _scalar,
    file_name,
)
from orchestrator.convert.tomlout import Table

_DROPPED = {
    "cache_from": "podman keeps its own layer cache",
    "cache_to": "podman keeps its own layer cache",
    "isolation": "Windows only",
    "privileged": "podman builds without it",
    "no_cache": "a rebuild happens when the inputs change",
}
_REFUSED = {
    "ssh": "SSH agent forwarding into a build has no meaning here (a unit has no agent)",
    "entitlements": "build entitlements have no meaning here",
    "additional_contexts": "podman 4.3 has no additional build contexts",
}


def build_table(tr: Translation, service: Service, value: Any) -> Table | None:
    if not isinstance(value, dict):
        tr.fail(service, service.path("build"), "expected a context path or a mapping")
        return None
    context = value.get("context")
    if not isinstance(context, str) or "://" in context or context.startswith("git@"):
        tr.fail(
            service,
            service.path("build", "context"),
            f"expected a local directory, got {cv.show(context)} (podman builds from a "
            "directory here: clone the repository first)",
        )
        return None
    table = Table()
    table.set("context", context)
    _file(tr, service, table, value, context)
    image = service.data.get("image")
    if isinstance(image, str) and image:
        table.set("tag", image, "compose image: the tag of the build, which the container runs")
    args = value.get("args")
    if isinstance(args, dict) and args:
        table.set("args", _args(tr, args))
    for key in ("target", "network"):
        if value.get(key) is not None:
            table.set(key, str(value[key]))
    if value.get("pull") is not None:
        table.set("pull", bool(value["pull"]))
    labels = _mapping_of(value.get("labels"))
    if labels:
        table.set("labels", Table([(k, v, []) for k, v in labels.items()]))
    _rest(tr, service, table, value)
    return table


def _file(
    tr: Translation, service: Service, table: Table, value: dict[str, Any], context: str
) -> None:
    if value.get("dockerfile_inline") is not None:
        name = file_name(service.key, ".Containerfile")
        tr.extra_files[name] = str(value["dockerfile_inline"])
        table.set(
            "file",
            os.path.join(tr.out_dir, name),
            f"compose dockerfile_inline: written to {name} beside this file",
        )
    elif isinstance(value.get("dockerfile"), str):
        table.set("file", value["dockerfile"])


def _args(tr: Translation, args: dict[str, Any]) -> Table:
    table = Table()
    for key, item in args.items():
        if item is None:
            found = tr.project.env.get(key)
            if found is not None:
                table.set(
                    key, found, f"{key}: compose takes it from its environment; its value at import"
                )
            else:
                table.notes.append(
                    f"{key}: compose takes it from its environment, where it is not set"
                )
            continue
        table.set(key, _scalar(item))
    return table


def _rest(tr: Translation, service: Service, table: Table, value: dict[str, Any]) -> None:
    extra: list[str] = []
    for host in value.get("extra_hosts") or []:
        extra.append(f"--add-host={str(host).replace('=', ':', 1)}")
    if value.get("shm_size") is not None:
        extra.append(f"--shm-size={cv.podman_size(cv.size_bytes(value['shm_size']))}")
    for tag in value.get("tags") or []:
        extra.append(f"--tag={tag}")
    platforms = value.get("platforms") or []
    if platforms:
        extra.append(f"--platform={','.join(map(str, platforms))}")
    if extra:
        table.set("podman_args", extra)
    secrets = value.get("secrets") or []
    for index, secret in enumerate(secrets):
        name = secret if isinstance(secret, str) else (secret or {}).get("source")
        source = tr.project.secrets.get(str(name)) if name else None
        if not isinstance(source, dict) or not source.get("file"):
            tr.fail(
                service,
                service.path("build", "secrets", index),
                "only file secrets can be passed to a build here",
            )
            continue
        table.set("secrets", [*table.get("secrets", []), f"id={name},src={source['file']}"])
    known = {
        "context",
        "dockerfile",
        "dockerfile_inline",
        "args",
        "target",
        "network",
        "pull",
        "labels",
        "extra_hosts",
        "shm_size",
        "tags",
        "platforms",
        "secrets",
    }
    for key in value:
        if key in _DROPPED:
            table.notes.append(f"compose build.{key}: {_DROPPED[key]}, left out")
        elif key in _REFUSED:
            tr.fail(service, service.path("build", key), _REFUSED[key])
        elif key not in known and not key.startswith("x-"):
            tr.fail(service, service.path("build", key), "unknown build key")
