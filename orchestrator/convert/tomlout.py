"""Definition tables -> TOML text a person reads: one file per resource, comments where the
translation is not word for word. tomlkit (imported when used) writes the comments."""

from __future__ import annotations

from typing import Any


def document(
    kind: str, name: str, table: dict[str, Any], header: list[str], notes: list[tuple[str, str]]
) -> str:
    """[KIND.NAME] with table's keys in their order; header lines on top, each note after its key
    (a note for "" goes above the table)."""
    import tomlkit

    doc = tomlkit.document()
    for line in header:
        doc.add(tomlkit.comment(line))
    kinds = tomlkit.table(is_super_table=True)
    body = tomlkit.table()
    for key, comment in notes:
        if not key:
            body.add(tomlkit.comment(comment))
    first = [key for key in _FIRST if key in table]
    for key, value in [(k, table[k]) for k in first + [k for k in table if k not in first]]:
        item = tomlkit.item(value)
        if isinstance(value, dict) and key != "unit":
            item = _inline(value) if all(not isinstance(v, dict) for v in value.values()) else item
        body.add(key, item)
        for noted, comment in notes:
            if noted == key:
                body.add(tomlkit.comment(comment))
    kinds.add(name, body)
    doc.add(kind, kinds)
    return tomlkit.dumps(doc)


_FIRST = ("image", "build", "pod", "description")  # what a reader looks for first


def _inline(value: dict[str, Any]) -> Any:
    import tomlkit

    table = tomlkit.inline_table()
    table.update(value)
    return table
