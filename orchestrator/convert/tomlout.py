"""Definitions written as TOML a person reads (tomlkit, imported when used): keys in the order
given, a comment above (or after) each key whose translation is not word for word, short arrays
on one line, tables of values as tables. `dumps` writes the tables compose import builds,
`document` one resource of import quadlet."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import safe  # a comment holds no control character: TOML forbids them

WIDTH = 96


@dataclass
class Table:
    """An ordered table: (key, value, notes) rows; a value that is a Table becomes a sub-table."""

    rows: list[tuple[str, Any, list[str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said at the top of the table
    tail: list[str] = field(default_factory=list)  # said after its keys, before its sub-tables

    def set(self, key: str, value: Any, *notes: str) -> None:
        for index, (existing, _, old) in enumerate(self.rows):
            if existing == key:
                self.rows[index] = (key, value, [*old, *notes])
                return
        self.rows.append((key, value, list(notes)))

    def note(self, key: str, *notes: str) -> None:
        """More notes for a key already set (or, if it is not, for the table)."""
        for _, _, old in (row for row in self.rows if row[0] == key):
            old.extend(notes)
            return
        self.notes.extend(notes)

    def get(self, key: str, default: Any = None) -> Any:
        return next((value for k, value, _ in self.rows if k == key), default)

    def pop(self, key: str) -> tuple[Any, list[str]] | None:
        for index, (existing, value, notes) in enumerate(self.rows):
            if existing == key:
                del self.rows[index]
                return value, notes
        return None

    def __contains__(self, key: str) -> bool:
        return any(k == key for k, _, _ in self.rows)


def dumps(header: list[str], resources: list[tuple[str, str, Table]]) -> str:
    """A TOML file: header comment lines, then [KIND.NAME] tables in the order given."""
    import tomlkit

    document = tomlkit.document()
    for line in header:
        _comment(document, line)
    kinds: dict[str, Any] = {}
    for kind, name, table in resources:
        if kind not in kinds:
            kinds[kind] = tomlkit.table(is_super_table=True)
            document.add(kind, kinds[kind])
        kinds[kind].add(name, _table(table))
    return tomlkit.dumps(document)


def _comment(container: Any, text: str) -> None:
    import tomlkit

    for paragraph in text.splitlines() or [""]:
        for line in textwrap.wrap(paragraph, WIDTH - 2) or [""]:
            container.add(tomlkit.comment(safe(line)))


def _table(table: Table) -> Any:
    import tomlkit

    only_tables = bool(table.rows) and all(isinstance(v, Table) for _, v, _ in table.rows)
    result = tomlkit.table(is_super_table=only_tables and not table.notes)
    for line in table.notes:
        _comment(result, line)
    plain = [row for row in table.rows if not isinstance(row[1], Table)]
    nested = [row for row in table.rows if isinstance(row[1], Table)]
    for key, value, notes in plain:
        for line in notes:
            _comment(result, line)
        result.add(key, _value(value))
    for line in table.tail:
        _comment(result, line)
    for key, value, notes in nested:
        # a sub-table's notes go inside it, under its header, where a reader looks for them
        value.notes[:0] = notes
        result.add(key, _table(value))
    return result


def _value(value: Any) -> Any:
    import tomlkit

    if isinstance(value, dict):
        inline = tomlkit.inline_table()
        inline.update({k: _value(v) for k, v in value.items()})
        return inline
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend([_value(v) for v in value])
        if len(value) > 1 and len(tomlkit.dumps({"k": value})) > WIDTH - 20:
            array.multiline(True)
        return array
    return value


def document(
    kind: str, name: str, table: dict[str, Any], header: list[str], notes: list[tuple[str, str]]
) -> str:
    """[KIND.NAME] with table's keys in their order; header lines on top, each note after its key
    (a note for "" goes above the table)."""
    import tomlkit

    doc = tomlkit.document()
    for line in header:
        doc.add(tomlkit.comment(safe(line)))
    kinds = tomlkit.table(is_super_table=True)
    body = tomlkit.table()
    for key, comment in notes:
        if not key:
            body.add(tomlkit.comment(safe(comment)))
    first = [key for key in _FIRST if key in table]
    for key, value in [(k, table[k]) for k in first + [k for k in table if k not in first]]:
        item = tomlkit.item(value)
        if isinstance(value, dict) and key != "unit":
            item = _inline(value) if all(not isinstance(v, dict) for v in value.values()) else item
        body.add(key, item)
        for noted, comment in notes:
            if noted == key:
                body.add(tomlkit.comment(safe(comment)))
    kinds.add(name, body)
    doc.add(kind, kinds)
    return tomlkit.dumps(doc)


_FIRST = ("image", "build", "pod", "description")  # what a reader looks for first


def _inline(value: dict[str, Any]) -> Any:
    import tomlkit

    table = tomlkit.inline_table()
    table.update(value)
    return table
