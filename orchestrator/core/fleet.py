"""A fleet repository (pure): which hosts there are, and each host's definitions, merged from
its layers.

    fleet.toml            hosts, groups and variables
    base/*.toml           every host
    groups/GROUP/*.toml   the hosts in GROUP, in each host's group order
    hosts/HOST/*.toml     one host

A host's definitions are its layers merged per resource (`container.web`): tables merge key by
key, arrays and scalars are replaced, `remove = true` drops the resource. `${name}` in a string
value is replaced from the host's variables (host over groups over [defaults]); `$${` writes a
literal `${`. Every merged value remembers the file that set it, so errors and `fleet explain`
name the layer, not the merge.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestrator.core import loader, values
from orchestrator.core.models import KINDS, Document, Spec
from orchestrator.errors import DefinitionError, Problem

FLEET_FILE = "fleet.toml"
# $${ escapes; a `${` without its `}` is caught (group 3 empty) rather than left in silently
_VARIABLE = re.compile(r"\$(\$?)\{([^}]*)(\}?)")
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
Variable = str | int | float | bool
KeyPath = tuple[str | int, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupEntry(_Strict):
    vars: dict[str, Variable] = Field(default_factory=dict)


class HostEntry(_Strict):
    groups: list[str] = Field(default_factory=list)
    vars: dict[str, Variable] = Field(default_factory=dict)
    machine_id: str | None = None
    ring: str | None = None

    @field_validator("machine_id")
    @classmethod
    def _machine_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-f]{32}", value):
            raise ValueError(f"expected 32 lowercase hex digits (/etc/machine-id), got {value!r}")
        return value

    @field_validator("ring")
    @classmethod
    def _ring(cls, value: str | None) -> str | None:
        """The ring is the branch the host pulls: refused here, with its key, rather than as a
        failed fetch on the host."""
        if value is not None and (
            not _BRANCH.fullmatch(value) or ".." in value or "//" in value
            or value.endswith((".", "/", ".lock"))
        ):  # fmt: skip
            raise ValueError(
                f"expected a git branch name (letters, digits, '.', '_', '-', '/'), got {value!r}"
            )
        return value


class FleetFile(_Strict):
    defaults: dict[str, Variable] = Field(default_factory=dict)
    group: dict[str, GroupEntry] = Field(default_factory=dict)
    host: dict[str, HostEntry] = Field(default_factory=dict)


@dataclass(frozen=True)
class Host:
    name: str
    groups: tuple[str, ...]
    variables: dict[str, Variable]
    machine_id: str | None = None
    ring: str | None = None
    # the fleet.toml key that set each variable's value: defaults.x, group.web.vars.x, ...
    set_by: dict[str, str] = field(default_factory=dict)

    def variables_in(self, text: str) -> list[tuple[str, Variable]]:
        """(fleet.toml key, value) of each of this host's variables that text uses."""
        names = dict.fromkeys(m.group(2) for m in _VARIABLE.finditer(text) if not m.group(1))
        return [(self.set_by[n], self.variables[n]) for n in names if n in self.variables]


@dataclass(frozen=True)
class Fleet:
    root: str
    hosts: dict[str, Host]

    def host(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            known = ", ".join(sorted(self.hosts)) or "none"
            raise DefinitionError(
                [Problem(self.fleet_file, f"host.{name}", f"no such host (hosts: {known})")]
            ) from None

    @property
    def fleet_file(self) -> str:
        return os.path.join(self.root, FLEET_FILE)

    def match(self, hostname: str, machine_id: str | None) -> Host | None:
        """The host this machine is: by machine id where fleet.toml gives one, else by name."""
        for candidate in self.hosts.values():
            if candidate.machine_id is not None and candidate.machine_id == machine_id:
                return candidate
        named = self.hosts.get(hostname) or self.hosts.get(hostname.split(".")[0])
        if named is not None and named.machine_id not in (None, machine_id):
            return None  # the name is taken by another machine
        return named


def read_fleet(root: str) -> Fleet:
    """fleet.toml, validated: hosts, their groups in order, their variables resolved."""
    path = os.path.join(root, FLEET_FILE)
    problems: list[Problem] = []
    shown = loader.display(path)
    data = loader.read_toml(path, shown, problems) if os.path.exists(path) else None
    if data is None:
        raise DefinitionError(problems or [Problem(shown, message="no such file: a fleet "
                                                   "repository has a fleet.toml")])  # fmt: skip
    try:
        parsed = FleetFile.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(
            [Problem(shown, loader.key_path(e["loc"]), loader.describe(e)) for e in exc.errors()]
        ) from None
    hosts = {}
    for name, entry in parsed.host.items():
        problems += _host_problems(root, shown, name, entry, parsed)
        merged, set_by = _variables(name, entry, parsed)
        hosts[name] = Host(name, tuple(entry.groups), merged, entry.machine_id, entry.ring, set_by)
    if problems:
        raise DefinitionError(problems)
    return Fleet(root, hosts)


def _variables(
    name: str, entry: HostEntry, parsed: FleetFile
) -> tuple[dict[str, Variable], dict[str, str]]:
    """The host's variables (its own over its groups', a later group over an earlier, over
    [defaults]) and the fleet.toml key that set each."""
    tables: list[tuple[KeyPath, dict[str, Variable]]] = [(("defaults",), parsed.defaults)]
    tables += [(("group", g, "vars"), parsed.group[g].vars) for g in entry.groups
               if g in parsed.group]  # fmt: skip
    tables.append((("host", name, "vars"), entry.vars))
    merged: dict[str, Variable] = {}
    set_by: dict[str, str] = {}
    for where, found in tables:
        merged.update(found)
        set_by.update({v: loader.key_path((*where, v)) for v in found})
    return merged, set_by


def _host_problems(
    root: str, shown: str, name: str, entry: HostEntry, parsed: FleetFile
) -> list[Problem]:
    problems = []
    try:
        values.hostname(name)
    except ValueError as exc:
        problems.append(Problem(shown, f"host.{values.quoted(name)}", str(exc)))
    for index, group in enumerate(entry.groups):
        exists = group in parsed.group or os.path.isdir(os.path.join(root, "groups", group))
        if not exists or entry.groups.index(group) != index:
            why = "listed twice" if exists else "no [group.X] in fleet.toml and no groups/X/"
            problems.append(Problem(shown, f"host.{name}.groups[{index}]", f"{group!r}: {why}"))
    return problems


@dataclass
class Merged:
    """One host's resources as raw TOML tables, with the file that set each value."""

    host: Host
    tables: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    declared_in: dict[tuple[str, str], str] = field(default_factory=dict)
    set_by: dict[KeyPath, str] = field(default_factory=dict)  # (kind, name, key...) -> file
    history: dict[KeyPath, list[tuple[str, Any]]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def origin(self, path: KeyPath) -> str | None:
        """The file that set the value at path, or the nearest enclosing table's."""
        for end in range(len(path), 1, -1):
            if path[:end] in self.set_by:
                return self.set_by[path[:end]]
        return self.declared_in.get((str(path[0]), str(path[1]))) if len(path) > 1 else None


def layers(fleet: Fleet, host: Host) -> list[tuple[str, str]]:
    """(label, directory) of each layer of host, in merge order."""
    found = [("base", os.path.join(fleet.root, "base"))]
    found += [(f"group {g}", os.path.join(fleet.root, "groups", g)) for g in host.groups]
    found.append((f"host {host.name}", os.path.join(fleet.root, "hosts", host.name)))
    return [(label, path) for label, path in found if os.path.isdir(path)]


def merge(fleet: Fleet, host: Host) -> Merged:
    """The host's layers merged, variables substituted; raises with every problem found."""
    merged = Merged(host)
    problems: list[Problem] = []
    for _label, directory in layers(fleet, host):
        files, found = loader.find_files([directory])
        problems += found
        seen: dict[tuple[str, str], str] = {}
        for file in files:
            shown = loader.display(os.path.abspath(file))
            data = loader.read_toml(file, shown, problems)
            if data is not None:
                merged.files.append(file)
                _merge_file(merged, data, file, seen, problems)
    _substitute_all(merged, problems)
    if problems:
        raise DefinitionError(problems)
    return merged


def _merge_file(
    merged: Merged,
    data: dict[str, Any],
    file: str,
    seen: dict[tuple[str, str], str],
    problems: list[Problem],
) -> None:
    shown = loader.display(os.path.abspath(file))
    for kind, table in data.items():
        if kind not in KINDS or not isinstance(table, dict):
            problems.append(Problem(shown, loader.key_path((kind,)), _not_a_kind(kind)))
            continue
        for name, resource in table.items():
            key = (kind, name)
            where = loader.key_path(key)
            if key in seen:
                other = loader.display(os.path.abspath(seen[key]))
                problems.append(Problem(shown, where, f"declared twice in one layer: here and "
                                                      f"in {other}"))  # fmt: skip
                continue
            seen[key] = file
            if not isinstance(resource, dict):
                problems.append(Problem(shown, where, f"expected a table, got {resource!r}"))
            elif resource.get("remove") is not None:
                _remove(merged, key, resource, file, problems)
            else:
                _overlay(merged, key, resource, file)


def _not_a_kind(kind: str) -> str:
    return f"expected one of {', '.join(KINDS)} (a table of resources)"


def _remove(
    merged: Merged,
    key: tuple[str, str],
    resource: dict[str, Any],
    file: str,
    problems: list[Problem],
) -> None:
    shown, where = loader.display(os.path.abspath(file)), loader.key_path(key)
    if resource.get("remove") is not True or len(resource) != 1:
        problems.append(Problem(shown, f"{where}.remove", "expected `remove = true` alone in "
                                                          "its table"))  # fmt: skip
    elif key not in merged.tables:
        problems.append(Problem(shown, f"{where}.remove", "no earlier layer declares it"))
    else:
        del merged.tables[key]
        merged.declared_in.pop(key)
        for path in [p for p in merged.set_by if p[:2] == key]:
            del merged.set_by[path]
        # `fleet explain` shows the removal, not values that no longer apply
        for path in [p for p in merged.history if p[:2] == key]:
            del merged.history[path]
        merged.history[(*key, "remove")] = [(file, True)]


def _overlay(merged: Merged, key: tuple[str, str], resource: dict[str, Any], file: str) -> None:
    if key not in merged.tables:
        merged.tables[key] = {}
        merged.declared_in[key] = file
    _deep_update(merged, merged.tables[key], resource, key, file)


def _deep_update(
    merged: Merged, into: dict[str, Any], new: dict[str, Any], path: KeyPath, file: str
) -> None:
    """Tables merge key by key; anything else (arrays, scalars) replaces what was there."""
    for name, value in new.items():
        here = (*path, name)
        if isinstance(value, dict) and isinstance(into.get(name), dict):
            _deep_update(merged, into[name], value, here, file)
            continue
        into[name] = _copy(value)
        for old in [p for p in merged.set_by if p[: len(here)] == here]:
            del merged.set_by[old]
        merged.set_by[here] = file
        merged.history.setdefault(here, []).append((file, _copy(value)))


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _substitute_all(merged: Merged, problems: list[Problem]) -> None:
    for key, table in merged.tables.items():
        _substitute(merged, table, key, problems)


def _substitute(merged: Merged, node: Any, path: KeyPath, problems: list[Problem]) -> Any:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for name, value in list(items):
        here = (*path, name)
        if isinstance(name, str) and any(not m.group(1) for m in _VARIABLE.finditer(name)):
            problems.append(_variable_problem(merged, here, "variables are replaced in values "
                                              "only, not in keys"))  # fmt: skip
        if isinstance(value, (dict, list)):
            _substitute(merged, value, here, problems)
        elif isinstance(value, str) and "${" in value:
            node[name] = _expand(merged, value, here, problems)
    return node


def _expand(merged: Merged, text: str, path: KeyPath, problems: list[Problem]) -> str:
    variables = merged.host.variables

    def one(match: re.Match[str]) -> str:
        escaped, name, closed = match.groups()
        if escaped:
            return "${" + name + closed
        if not closed:
            why = f"`${{{name}` has no closing `}}` (write `$${{` for a literal `${{`)"
            problems.append(_variable_problem(merged, path, why))
        elif _VARIABLE_NAME.fullmatch(name) and name in variables:
            return _as_text(variables[name])
        else:
            known = ", ".join(sorted(variables)) or "none"
            why = f"unknown variable ${{{name}}} for host {merged.host.name} "
            why += f"(its variables: {known})"
            problems.append(_variable_problem(merged, path, why))
        return match.group(0)

    return _VARIABLE.sub(one, text)


def _variable_problem(merged: Merged, path: KeyPath, message: str) -> Problem:
    file = loader.display(os.path.abspath(merged.origin(path) or ""))
    return Problem(file, loader.key_path(path), message)


def _as_text(value: Variable) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_host(fleet: Fleet, host: Host) -> tuple[Merged, Spec]:
    """The host's merged definitions, validated as `orchestrator validate` would; each problem
    names the layer file that set the offending value."""
    merged = merge(fleet, host)
    problems: list[Problem] = []
    documents: list[tuple[str, Document]] = []
    for (kind, name), table in sorted(merged.tables.items()):
        file = merged.declared_in[(kind, name)]
        shown = loader.display(os.path.abspath(file))
        document = loader.validate_document({kind: {name: table}}, file, shown, problems)
        if document is not None:
            documents.append((file, document))
    try:
        return merged, loader.checked_spec(documents, problems)
    except DefinitionError as exc:  # every problem blamed once, here
        raise DefinitionError([_blame(merged, p) for p in exc.problems]) from None


def _blame(merged: Merged, problem: Problem) -> Problem:
    """Point a problem found in the merge at the layer file that set the value."""
    path = parse_key_path(problem.path)
    origin = merged.origin(path) if len(path) > 1 else None
    file = loader.display(os.path.abspath(origin)) if origin else problem.file
    return Problem(file, problem.path, f"{problem.message} (host {merged.host.name})", None, None)


def parse_key_path(text: str) -> KeyPath:
    """container.web.ports[1] -> ("container", "web", "ports", 1); quoted keys kept whole."""
    parts: list[str | int] = []
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"|\[(\d+)\]|([^.\["]+)', text):
        quoted, index, bare = match.groups()
        if index is not None:
            parts.append(int(index))
        else:
            parts.append(quoted if quoted is not None else bare)
    return tuple(parts)


def host_definitions(fleet: Fleet, host: Host) -> dict[str, str]:
    """The host's merged definitions as files of their own, one per resource ("container-web.toml":
    TOML text), validated first: what a push (the Ansible collection) copies to the host, which
    then applies them as any directory of definitions."""
    from orchestrator.core.tomlout import dumps

    merged, _ = load_host(fleet, host)
    header = f"# The merge of host {host.name} in the fleet repository {fleet.root}.\n"
    return {
        f"{kind}-{name}.toml": header + dumps({kind: {name: table}})
        for (kind, name), table in sorted(merged.tables.items())
    }
