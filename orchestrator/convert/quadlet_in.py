"""`import quadlet`: Quadlet files -> definition tables (one per file), every problem collected.

Reads the files as Quadlet 5.4 reads them (unitsyntax), applies their drop-ins, resolves the
references between them (X.volume, X.network, X.pod, X.image, X.build) against the files given
and their directories, and maps each key through the one table (quadlet_keys).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.convert import quadlet_keys as keys
from orchestrator.convert.unitsyntax import Entry, SyntaxProblem, Unit, parse, split_words
from orchestrator.core.loader import display, key_path, read_definition
from orchestrator.core.models import default_build_tag
from orchestrator.core.render import PODMAN
from orchestrator.errors import DefinitionError, Problem

_EXPANDED = {"exec": re.compile(r"%[^%]|\$(?:[A-Za-z_{])"), "text": re.compile(r"%[^%]")}
_OUR_TARGETS = ("default.target", "multi-user.target")
_OURS_ONLY = ("ExecStart", "Type", "NotifyAccess")


@dataclass
class Converted:
    """One resource read from a Quadlet file: its kind, name, table and the comments to write."""

    kind: str
    name: str
    table: dict[str, Any]
    source: str
    notes: list[tuple[str, str]] = field(default_factory=list)
    # our key -> (Quadlet file, line) it was read from: a problem with it is shown there
    origins: dict[str, tuple[str, int]] = field(default_factory=dict)


@dataclass
class _File:
    path: str
    kind: str
    section: str
    rows: tuple[keys.Row, ...]
    unit: Unit
    name: str = ""


def read_quadlet(paths: Sequence[str]) -> list[Converted]:
    """Every resource the Quadlet files under paths declare; DefinitionError with every problem."""
    problems: list[Problem] = []
    files = _load_all(_find(paths, problems), problems)
    by_base = {os.path.basename(f.path): f for f in files}
    converted: list[Converted] = []
    implied: dict[tuple[str, str], str] = {}
    for file in files:
        result = _convert(file, by_base, problems)
        if result is None:
            continue
        item, extra = result
        converted.append(item)
        for kind, name, _ in extra:
            implied.setdefault((kind, name), file.path)
    declared = {(c.kind, c.name) for c in converted}
    for (kind, name), source in sorted(implied.items()):
        if (kind, name) not in declared:
            note = (
                "",
                f"declared by import: {display(source)} uses it, and Quadlet left it to "
                "podman to create",
            )
            converted.append(Converted(kind, name, {}, source, [note]))
    _check_names(converted, problems)
    if problems:
        raise DefinitionError(problems)
    return converted


def _find(paths: Sequence[str], problems: list[Problem]) -> list[str]:
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):  # with its subdirectories, as Quadlet searches its own
            for directory, subdirectories, entries in os.walk(path):
                subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
                found += [
                    os.path.join(directory, entry)
                    for entry in sorted(entries)
                    if _suffix(entry) in keys.KINDS
                    and not _nameless(os.path.join(directory, entry), problems)
                    and not entry.startswith(".")
                ]
        elif os.path.isfile(path):
            if _suffix(path) not in keys.KINDS:
                known = ", ".join(keys.KINDS)
                problems.append(Problem(path, message=f"not a Quadlet file: expected {known}"))
            elif not _nameless(path, problems):
                found.append(path)
        else:
            problems.append(Problem(path, message="no such file or directory"))
    if not found and not problems:  # an import of nothing is a mistake, not "wrote 0"
        known = ", ".join(keys.KINDS)
        for path in paths:
            message = f"no Quadlet files here ({known}; hidden ones are not read)"
            problems.append(Problem(path, message=message))
    return list(dict.fromkeys(os.path.normpath(p) for p in found))


def _suffix(path: str) -> str:
    """The suffix as Quadlet reads it: ..container and .volume have one (splitext says not)."""
    return os.path.splitext("x" + os.path.basename(path))[1]


def _nameless(path: str, problems: list[Problem]) -> bool:
    """Whether the file has no name before its suffix (..container, .volume), which is a
    problem: Quadlet names the unit after the file, and no definition can be named "." or ""."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem.strip(".") and stem != os.path.basename(path):
        return False
    message = f"no unit name before {_suffix(path)} (Quadlet names the unit after the file)"
    problems.append(Problem(display(path), message=f"{message}; rename the file"))
    return True


def _load_all(paths: list[str], problems: list[Problem]) -> list[_File]:
    """The files, and the files they refer to that sit next to them (as Quadlet finds those)."""
    files: list[_File] = []
    pending, seen = list(paths), set(paths)
    while pending:
        path = pending.pop(0)
        file = _load(path, problems)
        if file is None:
            continue
        files.append(file)
        directory = os.path.dirname(path)
        for entries in file.unit.sections.values():
            for entry in entries:
                for word in (
                    entry.value.replace(":", " ").replace(",", " ").replace("=", " ").split()
                ):
                    near = os.path.normpath(os.path.join(directory, word))
                    if _referable(word) and near not in seen and os.path.isfile(near):
                        seen.add(near)
                        pending.append(near)
    return files


def _referable(word: str) -> bool:
    return "/" not in word and os.path.splitext(word)[1] in (
        ".volume",
        ".network",
        ".pod",
        ".image",
        ".build",
    )


def _load(path: str, problems: list[Problem]) -> _File | None:
    kind, section, rows = keys.KINDS[os.path.splitext(path)[1]]
    try:
        unit = _parse_file(path)
        for dropin in _dropins(path):
            unit.merge(_parse_file(dropin))
    except _Unreadable as exc:
        problems.append(Problem(exc.file, message=str(exc), line=exc.line))
        return None
    file = _File(path, kind, section, rows, unit)
    stem = os.path.splitext(os.path.basename(path))[0]
    if "@" in stem:
        message = "a template unit (NAME@.container): definitions here are not templates"
        problems.append(Problem(display(path), message=message))
        return None
    named = [e.value for e in unit.sections.get(section, []) if e.key == keys.NAME_KEYS.get(kind)]
    file.name = named[-1] if named else stem
    return file


class _Unreadable(Exception):
    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line


def _parse_file(path: str) -> Unit:
    try:
        text = read_definition(path).decode("utf-8")
    except UnicodeDecodeError:
        raise _Unreadable(display(path), "not valid UTF-8") from None
    except Exception as exc:  # the loader's _Unreadable: the message says why
        raise _Unreadable(display(path), str(exc)) from None
    try:
        return parse(text, display(path))
    except SyntaxProblem as exc:
        raise _Unreadable(display(path), str(exc), exc.line) from None


def _dropins(path: str) -> list[str]:
    """Drop-ins as Quadlet 5.4 finds them next to the file: KIND.d/ for every file of the kind,
    then foo-.container.d/ for foo-bar.container, then X.container.d/; one of the same name in
    a more specific directory replaces the other; applied in the order of their names."""
    directory, base = os.path.split(path)
    stem, suffix = os.path.splitext(base)
    parts = stem.split("-")
    names = [suffix[1:] + ".d"]
    names += ["-".join(parts[:i]) + "-" + suffix + ".d" for i in range(1, len(parts))]
    names.append(base + ".d")
    chosen: dict[str, str] = {}
    for name in names:
        folder = os.path.join(directory, name)
        if os.path.isdir(folder):
            for conf in os.listdir(folder):
                if conf.endswith(".conf"):
                    chosen[conf] = os.path.join(folder, conf)
    return [chosen[conf] for conf in sorted(chosen)]


def _convert(
    file: _File, by_base: dict[str, _File], problems: list[Problem]
) -> tuple[Converted, list[tuple[str, str, dict[str, Any]]]] | None:
    shown = display(file.path)
    before = len(problems)

    def resolve(value: str, suffix: str) -> str | None:
        other = by_base.get(value)
        return other.name if other is not None and other.path.endswith(suffix) else None

    ctx = keys.Context(os.path.dirname(os.path.abspath(file.path)), resolve)
    table: dict[str, Any] = {}
    sections = dict(file.unit.sections)
    if file.section not in sections:
        problems.append(Problem(shown, message=f"no [{file.section}] section"))
        return None
    rows = {(r.section or file.section, r.key): r for r in file.rows}
    rows.update({(keys.NEWER, r.key): r for r in file.rows if r.newer})
    leftover: dict[str, list[Entry]] = {}
    origins: dict[str, tuple[str, int]] = {}
    for section, entries in sections.items():
        grouped: dict[str, list[Entry]] = {}
        for entry in entries:
            if (section, entry.key) in rows:
                grouped.setdefault(entry.key, []).append(entry)
            elif section in (file.section, keys.NEWER):
                problems.append(
                    Problem(entry.file, f"[{section}] {entry.key}", "unknown key", entry.line)
                )
            else:
                leftover.setdefault(section, []).append(entry)
        for key, group in grouped.items():
            _read_row(rows[(section, key)], section, group, ctx, table, problems, origins)
    for key, items in ctx.more.items():
        table[key] = [*table.get(key, []), *items]
    for row in file.rows:
        if row.absent is not None and row.ours and _get(table, row.ours) is None:
            _set(table, row.ours, row.absent)
    _special(file, by_base, table, ctx, problems)
    stem = os.path.splitext(os.path.basename(file.path))[0]
    if file.name != stem and file.kind == "container":
        ctx.notes.append(
            ("", f"the unit is {file.name}.service (its name); Quadlet's was {stem}.service")
        )
    _unit_sections(file, leftover, by_base, table, problems)
    if file.kind == "container" and "pod" in table:
        # a member starts with its pod unless StartWithPod=false: that is its `enabled`
        start = _last(file, "StartWithPod")
        try:
            table["enabled"] = True if start is None else keys.boolean(start)
        except keys.Refused as exc:
            problems.append(_problem(file, "StartWithPod", str(exc)))
    if len(problems) > before:
        return None
    return Converted(file.kind, file.name, table, file.path, ctx.notes, origins), ctx.extra


def _lines(entries: list[Entry]) -> list[str]:
    """The values of a key in order; an empty one resets what came before (as Quadlet reads)."""
    lines: list[str] = []
    for entry in entries:
        if entry.value == "":
            lines = []
        else:
            lines.append(entry.value)
    return lines


def _unescape(line: str, where: str) -> str:
    """A value that reaches podman's command line through an Exec line of Quadlet's unit:
    systemd turns %% into % and $$ into $ there, and expands specifiers and variables, which
    orchestrator, writing every value literally, cannot do."""
    doubled = ("%%", "$$") if where == "exec" else ("%%",)
    rest = line
    for pair in doubled:
        rest = rest.replace(pair, "")
    found = _EXPANDED[where].search(rest)
    if found:
        raise keys.Refused(
            f"{found.group()!r} in {line!r}: systemd would expand it in the unit Quadlet writes; "
            "orchestrator passes values as they are, so write the value itself"
        )
    for pair in doubled:
        line = line.replace(pair, pair[0])
    return line


def _read_row(
    row: keys.Row,
    section: str,
    group: list[Entry],
    ctx: keys.Context,
    table: dict[str, Any],
    problems: list[Problem],
    origins: dict[str, tuple[str, int]],
) -> None:
    last = group[-1]
    try:
        lines = _lines(group)
        if row.escaped:
            lines = [_unescape(line, row.escaped) for line in lines]
        value = row.codec.read(lines, ctx)
    except (keys.Refused, SyntaxProblem) as exc:
        problems.append(Problem(last.file, f"[{section}] {row.key}", str(exc), last.line))
        return
    if value is None or not row.ours:
        return
    origins[row.ours.split(".")[0]] = (last.file, last.line)
    if isinstance(value, list) and isinstance(_get(table, row.ours), list):
        value = _get(table, row.ours) + value  # several Quadlet keys to one list (podman_args)
    _set(table, row.ours, value)


def _get(table: dict[str, Any], path: str) -> Any:
    for part in path.split(".")[:-1]:
        table = table.get(part, {})
    return table.get(path.split(".")[-1])


def _set(table: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        table = table.setdefault(part, {})
    table[last] = value


def _values(file: _File, key: str) -> list[Entry]:
    return [e for e in file.unit.sections.get(file.section, []) if e.key == key]


def _last(file: _File, key: str) -> str | None:
    lines = _lines(_values(file, key))
    return lines[-1] if lines else None


def _problem(file: _File, key: str, message: str) -> Problem:
    entries = _values(file, key)
    line = entries[-1].line if entries else None
    where = entries[-1].file if entries else display(file.path)
    return Problem(where, f"[{file.section}] {key}", message, line)


def _special(
    file: _File,
    by_base: dict[str, _File],
    table: dict[str, Any],
    ctx: keys.Context,
    problems: list[Problem],
) -> None:
    """What more than one Quadlet key, or a key of another file, makes."""
    for word in table.pop("podman_args", []):
        if not any(beyond.lift(word, table) for beyond in keys.BEYOND.get(file.kind, ())):
            table.setdefault("podman_args", []).append(word)
    if file.kind in ("container", "pod", "kube"):
        _remap(file, table, problems)
    if file.kind == "container":
        _container(file, by_base, table, problems)
    elif file.kind == "network":
        if "dns" in table:
            table["dns"] = not table["dns"]  # DisableDNS=true is dns = false
        _subnets(file, table)
    elif file.kind == "build":
        table["context"] = _context(file, ctx)
    elif file.kind == "volume" and "image" in table:
        if table["image"].endswith((".image", ".build")):
            table["image"] = _image_reference(file, "Image", table["image"], by_base, problems)
        if table.get("driver") == "image":
            del table["driver"]  # an image volume here is one of podman's image driver
        else:  # Quadlet 5.4 passes the image on only to podman's image driver
            del table["image"]
            note = "Image= without Driver=image, which Quadlet 5.4 ignores: left out"
            ctx.notes.append(("", note))


def _container(
    file: _File, by_base: dict[str, _File], table: dict[str, Any], problems: list[Problem]
) -> None:
    image = table.get("image")
    if isinstance(image, str) and image.endswith(".build"):
        other = by_base.get(image)
        if other is None:
            problems.append(_problem(file, "Image", f"{image} is not among the files given"))
        else:
            del table["image"]
            table["build"] = other.name
    elif isinstance(image, str) and image.endswith(".image"):
        table["image"] = _image_reference(file, "Image", image, by_base, problems)
    if image is None and not {"image", "build", "rootfs"} & set(table):
        problems.append(Problem(display(file.path), "[Container] Image", "Image= is required"))
    volatile = _last(file, "VolatileTmp")
    try:
        if volatile is not None and keys.boolean(volatile) and not table.get("read_only"):
            # Quadlet's tmpfs on /tmp (a read-only container has one from podman already)
            table["tmpfs"] = [*table.get("tmpfs", []), "/tmp:rw,size=512M,mode=1777"]
    except keys.Refused as exc:
        problems.append(_problem(file, "VolatileTmp", str(exc)))
    group = _last(file, "Group")
    if group is not None:
        user = table.get("user")
        if user is None:
            problems.append(_problem(file, "Group", "Group= needs User="))
        else:
            table["user"] = f"{user}:{group}"


def _image_reference(
    file: _File, key: str, image: str, by_base: dict[str, _File], problems: list[Problem]
) -> str:
    """The reference an X.image file pulls, or the tag an X.build file gives (a volume's Image=),
    which is what Quadlet puts in its place."""
    other = by_base.get(image)
    if other is None:
        problems.append(_problem(file, key, f"{image} is not among the files given"))
        return image
    if other.kind == "build":  # its first ImageTag=, else the tag its build gets here
        tags = _lines(_values(other, "ImageTag"))
        return tags[0].strip('"') if tags else default_build_tag(other.name)
    # ImageTag= names the image pulled from an archive; it is used by that name
    reference = _last(other, "ImageTag") or _last(other, "Image")
    return reference if reference is not None else other.name


def _remap(file: _File, table: dict[str, Any], problems: list[Problem]) -> None:
    """RemapUsers= with RemapUid=, RemapGid= and RemapUidSize=, as Quadlet 5.4 makes flags of
    them: auto and keep-id are a userns with options, manual the uid and gid maps."""
    how = _last(file, "RemapUsers")
    uids, gids = (
        [w for line in _lines(_values(file, key)) for w in split_words(line)]
        for key in ("RemapUid", "RemapGid")
    )
    if how is None:
        if uids or gids:
            key = "RemapUid" if uids else "RemapGid"
            problems.append(_problem(file, key, "RemapUid= and RemapGid= need RemapUsers="))
        return
    if {"userns", "uid_map", "gid_map", "sub_uid_map", "sub_gid_map"} & set(table):
        why = "RemapUsers= is the deprecated spelling of UserNS=, UIDMap= and GIDMap=: give one"
        problems.append(_problem(file, "RemapUsers", why))
        return
    size = _last(file, "RemapUidSize")
    if how == "manual" and file.kind != "kube":
        table.update({k: v for k, v in (("uid_map", uids), ("gid_map", gids)) if v})
    elif how == "auto":
        options = [f"uidmapping={u}" for u in uids] + [f"gidmapping={g}" for g in gids]
        options += [f"size={size}"] if size not in (None, "0") else []
        table["userns"] = ":".join(["auto", ",".join(options)] if options else ["auto"])
    elif how == "keep-id" and len(uids) <= 1 and len(gids) <= 1:
        options = [f"uid={u}" for u in uids] + [f"gid={g}" for g in gids]
        table["userns"] = ":".join(["keep-id", ",".join(options)] if options else ["keep-id"])
    else:
        why = f"Quadlet 5.4 takes no RemapUsers={how} with these RemapUid=/RemapGid= here"
        problems.append(_problem(file, "RemapUsers", why))


def _subnets(file: _File, table: dict[str, Any]) -> None:
    """Subnet=, Gateway= and IPRange= lines, paired by position as podman pairs them: one subnet
    as the keys subnet, gateway, ip_range; several as subnets."""
    given = {
        key: [v.strip('"') for v in _lines(_values(file, quadlet))]
        for key, quadlet in (("subnet", "Subnet"), ("gateway", "Gateway"), ("ip_range", "IPRange"))
    }
    count = max(len(lines) for lines in given.values())
    if count <= 1:
        table.update({key: lines[0] for key, lines in given.items() if lines})
        return
    table["subnets"] = [
        {key: lines[i] for key, lines in given.items() if i < len(lines)} for i in range(count)
    ]


def _context(file: _File, ctx: keys.Context) -> str:
    """The build context: SetWorkingDirectory= (a path, "file" or "unit"), else the directory of
    an absolute File=, else the directory of the .build file."""
    where = _last(file, "SetWorkingDirectory")
    build_file = _last(file, "File")
    if where == "file" and build_file:
        return os.path.dirname(ctx.path(build_file))
    if where not in (None, "unit", "file"):
        return ctx.path(where)
    if where is None and build_file and build_file.startswith("/"):
        return os.path.dirname(build_file)
    return ctx.directory


def _unit_sections(
    file: _File,
    leftover: dict[str, list[Entry]],
    by_base: dict[str, _File],
    table: dict[str, Any],
    problems: list[Problem],
) -> None:
    """[Unit], [Service], [Install] and X- sections: our keys where there are (rows), unit
    overrides for the rest; [Quadlet]'s DefaultDependencies only as true."""
    containers = {f"{f.name}.service": f.name for f in by_base.values() if f.kind == "container"}
    overrides: dict[str, dict[str, list[str]]] = {}
    enabled = False
    for section, entries in leftover.items():
        for entry in entries:
            where = Problem(entry.file, f"[{section}] {entry.key}", "", entry.line)
            if section == "Quadlet":
                if entry.key != "DefaultDependencies" or entry.value.lower() not in keys._TRUE:
                    problems.append(_with(where, "only DefaultDependencies=true is supported"))
                continue
            if section == "Install" and entry.key in ("WantedBy", "RequiredBy"):
                enabled = True
                words = [w for w in entry.value.split() if w not in _OUR_TARGETS]
                if not words:
                    continue
                entry = Entry(entry.key, " ".join(words), entry.file, entry.line)
            if section == "Unit" and entry.key == "Requires" and file.kind == "container":
                deps = [containers[w] for w in entry.value.split() if w in containers]
                for dep in deps:
                    table.setdefault("depends_on", {}).setdefault(dep, "started")
                rest = [w for w in entry.value.split() if w not in containers]
                if not rest:
                    continue
                entry = Entry(entry.key, " ".join(rest), entry.file, entry.line)
            if section == "Service" and _lifted(file, entry, table, containers):
                continue
            if section not in ("Unit", "Service", "Install") and not section.startswith("X-"):
                problems.append(_with(where, f"unknown section [{section}]"))
            elif entry.key in _OURS_ONLY:
                problems.append(_with(where, f"{entry.key}= is orchestrator's to set"))
            elif file.kind in ("volume", "network"):
                problems.append(_with(where, f"a {file.kind} here has no unit overrides"))
            else:
                overrides.setdefault(section, {}).setdefault(entry.key, []).append(entry.value)
    _after_dependencies(table, overrides, containers)
    if file.kind in ("container", "kube", "pod"):
        table["enabled"] = enabled
    if overrides:
        table["unit"] = {
            s: {k: v[0] if len(v) == 1 else v for k, v in d.items()} for s, d in overrides.items()
        }


def _lifted(file: _File, entry: Entry, table: dict[str, Any], containers: dict[str, str]) -> bool:
    """[Service] lines export writes for keys Quadlet lacks, read back into those keys: the wait
    for a healthy dependency (ExecStartPre=) and reload_command/reload_signal (ExecReload=)."""
    from orchestrator.convert.quadlet_out import wait_healthy_line

    if file.kind != "container":
        return False
    if entry.key == "ExecStartPre":
        for dep in containers.values():
            if entry.value == wait_healthy_line(dep):
                table.setdefault("depends_on", {})[dep] = "healthy"
                return True
        return False
    if entry.key != "ExecReload":
        return False
    try:
        words = [w.replace("%%", "%").replace("$$", "$") for w in split_words(entry.value)]
    except SyntaxProblem:
        return False
    if words[:1] != [PODMAN]:
        return False
    for at in range(1, len(words) - 1):
        if words[at] == "exec" and words[at + 1] == file.name and len(words) > at + 2:
            table["reload_command"] = words[at + 2 :]
            return True
        signal = words[at + 1].removeprefix("--signal=")
        if words[at] == "kill" and words[at + 2 :] == [file.name] and signal != words[at + 1]:
            table["reload_signal"] = signal
            return True
    return False


def _after_dependencies(
    table: dict[str, Any], overrides: dict[str, dict[str, list[str]]], containers: dict[str, str]
) -> None:
    """After= lines that only order after the dependencies found in Requires=: depends_on does."""
    deps = table.get("depends_on")
    after = overrides.get("Unit", {}).get("After")
    if not deps or not after:
        return
    units = {f"{name}.service" for name in deps}
    kept = [" ".join(w for w in line.split() if w not in units) for line in after]
    kept = [line for line in kept if line]
    if kept:
        overrides["Unit"]["After"] = kept
    else:
        del overrides["Unit"]["After"]
        if not overrides["Unit"]:
            del overrides["Unit"]


def _with(problem: Problem, message: str) -> Problem:
    return Problem(problem.file, problem.path, message, problem.line)


def _check_names(converted: list[Converted], problems: list[Problem]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for item in converted:
        kind = "container" if item.kind == "kube" else item.kind  # names shared, as units are
        other = seen.setdefault((kind, item.name), item.source)
        if other != item.source:
            problems.append(
                Problem(
                    display(item.source),
                    message=f'{item.kind} "{item.name}" is also declared by {display(other)}',
                )
            )


def toml_files(converted: list[Converted]) -> dict[str, str]:
    """One TOML file per resource, named after the Quadlet file it came from (web.container ->
    web.container.toml), the kinds apart so that no two names clash."""
    from orchestrator.convert.tomlout import document

    files: dict[str, str] = {}
    for item in converted:
        header = [f"Imported by orchestrator from the Quadlet file {display(item.source)}."]
        text = document(item.kind, item.name, item.table, header, item.notes)
        files[f"{item.name}.{item.kind}.toml"] = text
    return dict(sorted(files.items()))


def check_written(converted: list[Converted], files: dict[str, str], out: str) -> None:
    """The files as they will be in out validate together; else DefinitionError (nothing gets
    written), each problem naming the Quadlet file it comes from: an import must give
    definitions that run."""
    import tomllib

    from orchestrator.core.loader import checked_spec, validate_document

    origin: dict[str, Converted] = {}
    for item in converted:
        path = os.path.join(out, f"{item.name}.{item.kind}.toml")
        origin[display(path)] = origin[display(os.path.abspath(path))] = item
    problems: list[Problem] = []
    documents = []
    for name, text in files.items():
        path = os.path.join(out, name)
        document = validate_document(tomllib.loads(text), path, display(path), problems)
        if document is not None:
            documents.append((path, document))
    try:
        if problems:
            raise DefinitionError(problems)
        checked_spec(documents, problems)
    except DefinitionError as exc:
        raise DefinitionError([_from_source(p, origin) for p in exc.problems]) from None


def _from_source(problem: Problem, origin: dict[str, Converted]) -> Problem:
    """A problem of the TOML to be written, shown at the Quadlet line its key came from."""
    item = origin.get(problem.file)
    if item is None:
        return problem
    prefix = key_path((item.kind, item.name)) + "."
    rest = problem.path.removeprefix(prefix) if problem.path.startswith(prefix) else ""
    key = re.split(r"[\[.]", rest)[0]
    file, line = item.origins.get(key, (display(item.source), None))
    return Problem(file, problem.path, f"{problem.message} (once imported)", line)
