"""Text for people: the one table layout every command and `sandbox run` print.

A module of its own, importing nothing of orchestrator, so that both the commands and the
sandbox (which may not import the commands) can use it without a contract saying otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence


def table(
    rows: Sequence[Sequence[str]], headers: Sequence[str] = (), *, indent: str = ""
) -> list[str]:
    """One line per row (the headers first, if any), each column as wide as its widest cell, two
    spaces between columns, no trailing blanks. Lines rather than one text, so that a caller can
    leave some rows out and keep the columns as wide as they are with them."""
    body = [list(headers), *map(list, rows)] if headers else [list(row) for row in rows]
    if not body:
        return []
    widths = [max(len(row[i]) for row in body) for i in range(len(body[0]))]
    return [
        (indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip()
        for row in body
    ]
