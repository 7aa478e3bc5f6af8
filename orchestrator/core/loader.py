"""Reading definitions: TOML files -> validated Spec, or a DefinitionError listing every problem.

Pure apart from reading the given files: nothing here talks to systemd or podman or writes.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from orchestrator.core import values
from orchestrator.core.models import KINDS, Document, Spec, unit_name
from orchestrator.core.quoting import check_printable
from orchestrator.errors import DefinitionError, Problem

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "an array",
    "tuple_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "float_type": "a number",
}


Fingerprint = list[tuple[str, int, int, int]]


def find_files(paths: Sequence[str]) -> tuple[list[str], list[Problem]]:
    """Every definition file named by paths: files as given, directories' *.toml recursively,
    except hidden ones (editors' lock and swap files such as .#web.toml, version control)."""
    files: list[str] = []
    problems: list[Problem] = []
    for path in paths:
        if os.path.isdir(path):
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found += [
                    os.path.normpath(os.path.join(root, n))
                    for n in names
                    if n.endswith(".toml") and not n.startswith(".")
                ]
            files += sorted(found)
        elif os.path.isfile(path):
            files.append(os.path.normpath(path))
        elif os.path.exists(path):
            problems.append(Problem(path, message="not a file or directory"))
        else:
            problems.append(Problem(path, message="no such file or directory"))
    return files, problems


def load(paths: Sequence[str]) -> Spec:
    """Load, validate and cross-check the definitions found under paths."""
    files, problems = find_files(paths)
    documents: list[tuple[str, Document]] = []
    for file in files:
        document = _load_file(file, display(os.path.abspath(file)), problems)
        if document is not None:
            documents.append((file, document))
    return checked_spec(documents, problems)


def checked_spec(documents: list[tuple[str, Document]], problems: list[Problem]) -> Spec:
    """The validated documents as one Spec, cross-checked; raises with every problem found."""
    spec = _merge(documents, problems)
    problems += cross_check(spec)
    if problems:
        raise DefinitionError(problems)
    return spec


def _load_file(file: str, shown: str, problems: list[Problem]) -> Document | None:
    """Parse and validate one file; problems name it as shown."""
    data = read_toml(file, shown, problems)
    if data is None:
        return None
    return validate_document(data, file, shown, problems)


def read_toml(file: str, shown: str, problems: list[Problem]) -> dict[str, Any] | None:
    """One definition file's TOML, or None with its problems (named as shown) added."""
    try:
        with open(file, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        problems.append(Problem(shown, message=f"cannot read: {exc.strerror}"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        at_line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(shown, message="not valid UTF-8", line=at_line))
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line: int | None = None
        column: int | None = None
        if match:
            line, column = int(match.group(1)), int(match.group(2))
            message = message[: match.start()]
        elif message.endswith("(at end of document)"):
            lines = text.split("\n")
            line, column = len(lines), len(lines[-1]) + 1
            message = message.removesuffix("(at end of document)").rstrip() + " at end of file"
        problems.append(
            Problem(shown, message=f"TOML syntax error: {message}", line=line, column=column)
        )
        return None
    return data


def validate_document(
    data: dict[str, Any], file: str, shown: str, problems: list[Problem]
) -> Document | None:
    """Validate one file's tables; relative paths in them are relative to file's directory."""
    before = len(problems)
    _check_text(shown, data, (), problems)
    _check_names(shown, data, problems)
    if len(problems) > before:
        return None
    base_dir = os.path.dirname(os.path.abspath(file))
    try:
        return Document.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems += [Problem(shown, key_path(e["loc"]), describe(e)) for e in exc.errors()]
        return None


def _check_text(file: str, data: Any, loc: tuple[str | int, ...], problems: list[Problem]) -> None:
    """Control characters can never reach a unit file: report them where they are."""
    if isinstance(data, dict):
        for key, value in data.items():
            try:
                check_printable(key)
            except ValueError as exc:
                problems.append(Problem(file, key_path((*loc, key)), f"key name: {exc}"))
            _check_text(file, value, (*loc, key), problems)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _check_text(file, value, (*loc, index), problems)
    elif isinstance(data, str):
        try:
            check_printable(data)
        except ValueError as exc:
            problems.append(Problem(file, key_path(loc), str(exc)))


def _check_names(file: str, data: dict[str, Any], problems: list[Problem]) -> None:
    for kind in KINDS:
        table = data.get(kind)
        if not isinstance(table, dict):
            continue
        for name in table:
            try:
                values.name(name, f"a {kind} name")
            except ValueError as exc:
                problems.append(Problem(file, key_path((kind, name)), str(exc)))
            if kind == "network" and name in values.RESERVED_NETWORKS:
                problems.append(
                    Problem(
                        file,
                        key_path((kind, name)),
                        f'"{name}" is one of podman\'s network modes and cannot name a network',
                    )
                )


def key_path(loc: Iterable[str | int]) -> str:
    """A pydantic location as the TOML key path an operator would write: a.b[1]."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            segment = part if _BARE_KEY.fullmatch(part) else values.quoted(part)
            text += f".{segment}" if text else segment
    return text


def describe(error: Any) -> str:
    """A pydantic error as 'expected X, got Y'."""
    kind = error["type"]
    found = error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        known = [k for k in _keys_of_table(tuple(error["loc"][:-1])) if k != key]
        hint = difflib.get_close_matches(key, known, n=1)
        return f"unknown key {values.quoted(key)}" + (
            f' (did you mean "{hint[0]}"?)' if hint else ""
        )
    if kind in ("value_error", "assertion_error"):
        return str(error["ctx"]["error"])
    if kind == "literal_error":
        expected = str(error["ctx"]["expected"]).replace("'", '"')
        return f"expected {expected}, got {values.show(found)}"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {values.show(found)}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return f"{error['msg'].lower()}, got {values.show(found)}"
    return f"{error['msg']}, got {values.show(found)}"


def _keys_of_table(loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed in the table at loc (a pydantic location without the unknown key)."""
    from orchestrator.core import models

    path = tuple(part for part in loc if not isinstance(part, int))
    tables: dict[tuple[str, ...], type[models.Model]] = {
        (): models.Document,
        ("container",): models.Container,
        ("container", "health"): models.Health,
        ("container", "volumes"): models.Mount,
        ("container", "secrets"): models.Secret,
        ("volume",): models.Volume,
        ("network",): models.Network,
    }
    model = tables.get(path[:1] + path[2:]) if path else models.Document
    return sorted(model.model_fields) if model else []


def _merge(documents: list[tuple[str, Document]], problems: list[Problem]) -> Spec:
    spec = Spec(files=tuple(file for file, _ in documents))
    for file, document in documents:
        absolute = os.path.abspath(file)
        for kind in KINDS:
            target: dict[str, Any] = getattr(spec, kind + "s")
            for name, resource in getattr(document, kind).items():
                if name in target:
                    other = spec.sources[(kind, name)]
                    problems.append(
                        Problem(
                            file,
                            f"{kind}.{name}",
                            f'{kind} "{name}" is defined twice: here and in {display(other)}',
                        )
                    )
                    continue
                target[name] = resource
                spec.sources[(kind, name)] = absolute
    return spec


def display(path: str) -> str:
    """Relative to the working directory when below it (what the user typed, usually), else
    absolute; never relative to / (a service runs there)."""
    if os.getcwd() == "/":
        return path
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path


def cross_check(spec: Spec) -> list[Problem]:
    """Checks across resources: references, cycles, unit name and host port clashes."""
    problems: list[Problem] = []

    def where(kind: str, name: str) -> str:
        return display(spec.sources[(kind, name)])

    for name, c in spec.containers.items():
        file = where("container", name)
        for dep, condition in c.depends_on.items():
            path = f"container.{name}.depends_on.{dep}"
            if dep == name:
                problems.append(Problem(file, path, "a container cannot depend on itself"))
            elif dep not in spec.containers:
                problems.append(
                    Problem(file, path, f'unknown container "{dep}"{_hint(dep, spec.containers)}')
                )
            elif condition == "healthy" and spec.containers[dep].health is None:
                problems.append(
                    Problem(
                        file,
                        path,
                        f'"healthy" needs a health check, and container "{dep}" has none '
                        f'(add [container.{dep}.health] or depend on it as "started")',
                    )
                )
        for index, mount in enumerate(c.volumes):
            if not mount.is_bind and mount.source not in spec.volumes:
                problems.append(
                    Problem(
                        file,
                        f"container.{name}.volumes[{index}]",
                        f'unknown volume "{mount.source}"{_hint(mount.source, spec.volumes)}; '
                        f"declare it with [volume.{mount.source}]",
                    )
                )
        for index, network in enumerate(c.networks):
            if network not in ("host", "none") and network not in spec.networks:
                problems.append(
                    Problem(
                        file,
                        f"container.{name}.networks[{index}]",
                        f'unknown network "{network}"{_hint(network, spec.networks)}; '
                        f"declare it with [network.{network}]",
                    )
                )
        if c.network_aliases and not [n for n in c.networks if n not in ("host", "none")]:
            problems.append(
                Problem(
                    file,
                    f"container.{name}.network_aliases",
                    "network aliases need at least one declared network in networks",
                )
            )
    problems += _cycles(spec, where)
    problems += _unit_clashes(spec, where)
    problems += _port_clashes(spec, where)
    return problems


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _cycles(spec: Spec, where: Any) -> list[Problem]:
    problems: list[Problem] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    reported: set[frozenset[str]] = set()

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        path.append(name)
        for dep in spec.containers[name].depends_on:
            if dep not in spec.containers or dep == name:
                continue
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    problems.append(
                        Problem(
                            where("container", dep),
                            f"container.{dep}.depends_on",
                            "dependency cycle: " + " -> ".join(cycle),
                        )
                    )
            elif dep not in state:
                visit(dep, path)
        path.pop()
        state[name] = 2

    for name in spec.containers:
        if name not in state:
            visit(name, [])
    return problems


def _unit_clashes(spec: Spec, where: Any) -> list[Problem]:
    problems: list[Problem] = []
    owners: dict[str, tuple[str, str]] = {}
    for kind in KINDS:
        for name in getattr(spec, kind + "s"):
            unit = unit_name(kind, name)
            if unit in owners:
                other_kind, other = owners[unit]
                problems.append(
                    Problem(
                        where(kind, name),
                        f"{kind}.{name}",
                        f'its unit {unit} clashes with {other_kind} "{other}" '
                        f"in {where(other_kind, other)}; rename one of them",
                    )
                )
            else:
                owners[unit] = (kind, name)
    return problems


def _port_clashes(spec: Spec, where: Any) -> list[Problem]:
    problems: list[Problem] = []
    claimed: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for name, c in spec.containers.items():
        for index, text in enumerate(c.ports):
            clash = None
            for ip, proto, number in values.published(text):
                key = (proto, number)
                for other_ip, other in claimed.get(key, []):
                    if clash is None and (not ip or not other_ip or ip == other_ip):
                        clash = (number, proto, other)
                claimed.setdefault(key, []).append((ip, name))
            if clash is not None:
                number, proto, other = clash
                problems.append(
                    Problem(
                        where("container", name),
                        f"container.{name}.ports[{index}]",
                        f'host port {number}/{proto} is also published by container "{other}"'
                        + ("" if other == name else f" in {where('container', other)}"),
                    )
                )
    return problems


def fingerprint(paths: Sequence[str]) -> Fingerprint:
    """What the definitions look like on disk (name, inode, size, mtime), to tell a change."""
    found, _ = find_files(paths)
    prints: Fingerprint = []
    for file in found:
        try:
            stat = os.stat(file)
        except OSError:
            continue
        prints.append((file, stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return prints
