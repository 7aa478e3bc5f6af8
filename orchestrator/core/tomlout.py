"""TOML text from plain tables (pure): how a fleet host's merged definitions travel to a host
that reads them as ordinary definition files (the Ansible collection's `fleet`)."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}  # fmt: skip


def dumps(document: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """{kind: {name: table}} as TOML: a [kind.name] header per resource, nested tables inline,
    so that tomllib reads back exactly the tables given."""
    lines: list[str] = []
    for kind, resources in document.items():
        for name, table in resources.items():
            lines.append(f"[{key(kind)}.{key(name)}]")
            lines += [f"{key(k)} = {value(v)}" for k, v in table.items()]
            lines.append("")
    return "\n".join(lines)


def key(text: str) -> str:
    return text if _BARE_KEY.fullmatch(text) else string(text)


def value(item: Any) -> str:
    if isinstance(item, bool):  # before int: a bool is an int to Python
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, float):
        if math.isnan(item):
            return "nan"
        return repr(item) if math.isfinite(item) else ("inf" if item > 0 else "-inf")
    if isinstance(item, str):
        return string(item)
    if isinstance(item, (datetime.date, datetime.time)):  # datetime is a date
        return item.isoformat()
    if isinstance(item, list):
        return "[" + ", ".join(value(v) for v in item) + "]"
    if isinstance(item, Mapping):
        return "{" + ", ".join(f"{key(k)} = {value(v)}" for k, v in item.items()) + "}"
    raise TypeError(f"no TOML value for {type(item).__name__}")


def string(text: str) -> str:
    """A basic string: quotes, backslashes and control characters escaped, the rest as is."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
