"""Which podman a definition needs: every key or value newer than podman 4.3 (Debian 12, the
oldest supported) is refused for an older podman, naming the key and the version it needs, so
that nothing is silently dropped or left for podman to fail on at start.

Keys that are one flag carry their version on their table row in render.py (`since`); values
that need a newer podman than their key are rows of VALUES below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.core.loader import display
from orchestrator.core.models import Container, Network, Spec, Volume
from orchestrator.core.render import (
    HEALTH_FLAGS,
    IMAGE_FLAGS,
    KUBE_FLAGS,
    NETWORK_FLAGS,
    RUN_FLAGS,
    VOLUME_FLAGS,
    Flag,
)
from orchestrator.errors import DefinitionError, Problem

Version = tuple[int, int]
OLDEST: Version = (4, 3)
_VERSION_RE = re.compile(r"\s*v?([0-9]+)\.([0-9]+)(?:\.[0-9]+)?(?:[-+~].*)?\s*")


def parse_version(text: str) -> Version | None:
    """ "4.3", "4.3.1" or "5.4.2-dev" as (major, minor); None for anything else."""
    match = _VERSION_RE.fullmatch(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def shown(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Needs:
    """A value of a key that needs a newer podman than the key itself: used says where."""

    key: str
    since: Version
    what: str
    used: Callable[[Any], list[str]]  # the key paths (below the resource) that use it


def _mount_types(*kinds: str) -> Callable[[Container], list[str]]:
    def used(c: Container) -> list[str]:
        return [f"mounts[{i}]" for i, m in enumerate(c.mounts) if _mount_type(m) in kinds]

    return used


def _mount_type(value: str) -> str:
    return next((w[5:] for w in value.split(",") if w.startswith("type=")), "")


def _unlimited(c: Container) -> list[str]:
    return [f"ulimits.{name}" for name, v in c.ulimits.items() if "-1" in v.split(":")]


def _if(condition: Callable[[Container], Any], key: str) -> Callable[[Container], list[str]]:
    return lambda c: [key] if condition(c) else []


CONF_MODULE = Needs(
    "containers_conf_module",
    (4, 7),
    "containers_conf_module (podman's --module)",
    _if(lambda c: c.containers_conf_module, "containers_conf_module"),
)
VALUES: tuple[Needs, ...] = (
    Needs("notify", (4, 7), 'notify = "healthy"', _if(lambda c: c.notify == "healthy", "notify")),
    CONF_MODULE,
    Needs("mounts", (4, 7), "a glob or ramfs mount", _mount_types("glob", "ramfs")),
    Needs("ulimits", (4, 8), "an unlimited (-1) ulimit", _unlimited),
)


# The same for volumes and networks, whose one podman command takes the same global options.
ONESHOT_VALUES: tuple[Needs, ...] = (CONF_MODULE,)

Where = tuple[str, str]  # (kind, name)


def _versioned(table: tuple[Callable[[Any], Any], ...]) -> tuple[Flag, ...]:
    """The rows of a table that name the podman version they need: the few worth a look."""
    return tuple(row for row in table if isinstance(row, Flag) and row.since is not None)


# The kinds whose keys are rows of one table, and that table's versioned rows
TABLES = (("image", _versioned(IMAGE_FLAGS)), ("kube", _versioned(KUBE_FLAGS)),
          ("volume", _versioned(VOLUME_FLAGS)), ("network", _versioned(NETWORK_FLAGS)))  # fmt: skip
_RUN_VERSIONED = _versioned(RUN_FLAGS)
_HEALTH_VERSIONED = _versioned(HEALTH_FLAGS)


def problems(spec: Spec, version: Version) -> list[tuple[Where, str, str]]:
    """((kind, name), key path below it, message) for each key or value the podman cannot
    run."""
    found: list[tuple[Where, str, str]] = []
    for name, c in spec.containers.items():
        found += _messages(("container", name), _newer(c, version), version)
    for kind, table in TABLES:
        for name, resource in getattr(spec, kind + "s").items():
            newer = _rows(table, resource, version)
            if isinstance(resource, (Volume, Network)):
                newer += _newer_values(resource, version)
            found += _messages((kind, name), newer, version)
    return found


def _messages(
    where: Where, newer: list[tuple[str, Version, str]], version: Version
) -> list[tuple[Where, str, str]]:
    now = shown(version)
    return [
        (where, key, f"{what} needs podman {shown(since)} or later; this is podman {now}")
        for key, since, what in newer
    ]


def _rows(table: tuple[Flag, ...], model: Any, version: Version) -> list[tuple[str, Version, str]]:
    return [
        (row.field, row.since, f"{row.field} ({row.flag})")
        for row in table
        if row.since is not None and version < row.since and row(model)
    ]


def _newer_values(r: Volume | Network, version: Version) -> list[tuple[str, Version, str]]:
    return [
        (key, need.since, need.what)
        for need in ONESHOT_VALUES
        if version < need.since
        for key in need.used(r)
    ]


def _newer(c: Container, version: Version) -> list[tuple[str, Version, str]]:
    out: list[tuple[str, Version, str]] = []
    out += _rows(_RUN_VERSIONED, c, version)
    if c.health is not None:
        out += [(f"health.{k}", v, w) for k, v, w in _rows(_HEALTH_VERSIONED, c.health, version)]
    for need in VALUES:
        if version < need.since:
            out += [(key, need.since, need.what) for key in need.used(c)]
    return out


def check(spec: Spec, version: Version) -> None:
    """Raise DefinitionError naming every key or value this podman version cannot run."""
    found = [
        Problem(display(spec.sources[where]), f"{where[0]}.{where[1]}.{key}", message)
        for where, key, message in problems(spec, version)
    ]
    if found:
        raise DefinitionError(found)
