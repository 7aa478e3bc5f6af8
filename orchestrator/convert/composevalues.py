"""Compose's value syntaxes (sizes, Go durations, ports, volumes), read into orchestrator's.

Each reader raises ValueError with a message for people; the translator adds the file and key.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(?:i?b)?", re.IGNORECASE)
_FACTORS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ms": 1, "s": 1000, "m": 60_000}


def show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).lower()


def size_bytes(value: Any) -> int:
    """A compose size ("512m", "1gb", "1.5G", 1048576) in bytes (base 1024, as docker reads it)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and value >= 0:
        return int(value)
    match = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(
            f'expected a size like "512m", "1g" or a number of bytes, got {show(value)}'
        )
    return int(float(match.group(1)) * _FACTORS[match.group(2).lower()])


def systemd_size(nbytes: int) -> str:
    """Bytes as a MemoryMax= value, in the largest unit that keeps it whole."""
    for suffix in ("T", "G", "M", "K"):
        factor = _FACTORS[suffix.lower()]
        if nbytes and nbytes % factor == 0:
            return f"{nbytes // factor}{suffix}"
    return str(nbytes)


def podman_size(nbytes: int) -> str:
    """Bytes as podman's --shm-size reads them (units b, k, m, g)."""
    for suffix in ("g", "m", "k"):
        factor = _FACTORS[suffix]
        if nbytes and nbytes % factor == 0:
            return f"{nbytes // factor}{suffix}"
    return str(nbytes)


def duration_ms(value: Any) -> int:
    """A Go duration as compose writes them ("1m30s", "500ms", "10s"), or a number of seconds,
    in milliseconds (rounded up: a timeout never gets shorter)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return math.ceil(value * 1000)
    text = value.strip() if isinstance(value, str) else None
    total, pos = 0.0, 0
    while text and pos < len(text):
        match = _DURATION.match(text, pos)
        if not match:
            break
        total += float(match.group(1)) * _DURATION_MS.get(match.group(2), 3_600_000)
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f'expected a duration like "30s", "1m30s" or "500ms", got {show(value)}')
    return math.ceil(total)


def duration_text(ms: int) -> str:
    """Milliseconds as a systemd time span a person reads at once ("1min 30s", "500ms")."""
    if ms % 1000:
        return f"{ms}ms"
    seconds = ms // 1000
    parts = []
    for unit, size in (("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0s"


@dataclass(frozen=True)
class Port:
    container: str  # a port or range
    host: str = ""  # a port or range, "" for one compose picks
    ip: str = ""
    protocol: str = "tcp"

    def text(self) -> str:
        ip = f"[{self.ip}]:" if ":" in self.ip else (f"{self.ip}:" if self.ip else "")
        proto = "" if self.protocol == "tcp" else f"/{self.protocol}"
        return f"{ip}{self.host}:{self.container}{proto}"


def port(value: Any) -> Port:
    """A ports entry, short ("[IP:][HOST:]CONTAINER[/PROTO]", a number) or long syntax."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Port(str(value))
    if isinstance(value, dict):
        return _long_port(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f'expected "[IP:][HOST:]CONTAINER[/PROTO]" or a table, got {show(value)}')
    text, _, protocol = value.partition("/")
    ip = ""
    if text.startswith("["):
        ip, sep, text = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"expected [IPv6]:HOST:CONTAINER, got {show(value)}")
    parts = text.split(":")
    if len(parts) > 3:  # an IPv6 address without brackets: everything before the last two
        ip, parts = ":".join(parts[:-2]), parts[-2:]
    elif len(parts) == 3:
        ip, parts = parts[0], parts[1:]
    host = parts[0] if len(parts) == 2 else ""
    return Port(parts[-1], host, ip, protocol or "tcp")


def _long_port(value: dict[str, Any]) -> Port:
    target = value.get("target")
    if target is None:
        raise ValueError("expected target, the container's port")
    published = value.get("published")
    return Port(
        str(target),
        "" if published in (None, "") else str(published),
        str(value.get("host_ip") or ""),
        str(value.get("protocol") or "tcp"),
    )


@dataclass(frozen=True)
class VolumeSpec:
    """A volumes entry: type is "bind", "volume" (source "" for an anonymous one), "tmpfs",
    "image", or what compose has and podman does not ("npipe", "cluster")."""

    type: str
    target: str
    source: str = ""
    options: tuple[str, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()


_SHORT_MODES = frozenset({"ro", "rw", "z", "Z", "nocopy", "cached", "delegated", "consistent"})


def volume(value: Any) -> VolumeSpec:
    if isinstance(value, dict):
        return _long_volume(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f'expected "[SOURCE:]TARGET[:MODE]" or a table, got {show(value)}')
    parts = value.split(":")
    if (
        len(parts) == 2
        and not parts[1].startswith("/")
        and set(parts[1].split(",")) <= _SHORT_MODES
    ):
        parts = ["", parts[0], parts[1]]  # "/data:ro": an anonymous volume with a mode
    if len(parts) == 1:
        return VolumeSpec("volume", parts[0])
    if len(parts) > 3:
        raise ValueError(f'expected "SOURCE:TARGET[:MODE]", got {show(value)}')
    source, target = parts[0], parts[1]
    options = tuple(parts[2].split(",")) if len(parts) == 3 and parts[2] else ()
    kind = "bind" if source.startswith("/") else "volume"
    return VolumeSpec(kind, target, source, options)


def _long_volume(value: dict[str, Any]) -> VolumeSpec:
    kind = str(value.get("type") or "volume")
    target = value.get("target")
    if not isinstance(target, str) or not target:
        raise ValueError("expected target, the path in the container")
    options: list[str] = ["ro"] if value.get("read_only") else []
    bind, vol, tmpfs = (value.get(k) or {} for k in ("bind", "volume", "tmpfs"))
    if isinstance(bind, dict):
        options += [str(bind["propagation"])] if bind.get("propagation") else []
        options += [str(bind["selinux"])] if bind.get("selinux") else []
    if isinstance(vol, dict) and vol.get("nocopy"):
        options.append("nocopy")
    if isinstance(tmpfs, dict):
        if tmpfs.get("size") is not None:
            options.append(f"size={size_bytes(tmpfs['size'])}")
        if tmpfs.get("mode") is not None:
            options.append(f"mode={tmpfs['mode']}")
    known = {"type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency"}
    extra = tuple((k, v) for k, v in value.items() if k not in known)
    if isinstance(bind, dict) and "create_host_path" in bind:
        extra += (("bind.create_host_path", bind["create_host_path"]),)
    if isinstance(vol, dict) and vol.get("subpath"):
        extra += (("volume.subpath", vol["subpath"]),)
    source = value.get("source")
    return VolumeSpec(kind, target, str(source or ""), tuple(options), extra)
