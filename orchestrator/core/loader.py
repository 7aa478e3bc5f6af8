"""Reading definitions: TOML files -> validated Spec, or a DefinitionError listing every problem.

Pure apart from reading the given files: nothing here talks to systemd or podman or writes.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from orchestrator.core import buildctx, limits, values
from orchestrator.core.models import (
    CONTAINER_NETWORK,
    KINDS,
    MODELS,
    POD_NAMESPACE_KEYS,
    Container,
    Document,
    Spec,
    build_tag,
    infra_name,
    mount_source,
    network_container,
    unit_name,
)
from orchestrator.core.quoting import check_printable, escape_specifiers
from orchestrator.core.reach import foreign_references
from orchestrator.errors import DefinitionError, Problem, QuotingError

_fast: ModuleType | None
try:  # a speed-up: see _loads
    import tomli as _fast
except ImportError:  # pragma: no cover - tomllib alone gives the same results, slower
    _fast = None

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

MAX_FILE_SIZE = 1024 * 1024  # a definition file is a page or two; more is a mistake or an attack
MAX_DIRECTORIES = 10_000  # in one definitions tree, links followed
MAX_DEPTH = 64  # arrays and tables nested deeper than any definition needs
# Dots in one table header or dotted key beyond which it cannot be a definition's: nesting is at
# most MAX_DEPTH, and the two names in a key path (a resource's, a unit section's) of at most 128
# characters hold at most 64 dots each
_MAX_KEY_DOTS = MAX_DEPTH + 2 * 64
_INT_DIGITS = 4300  # Python's limit on converting a decimal integer literal
_LONG_INTEGER = re.compile(rf"\d(?:_?\d){{{_INT_DIGITS},}}")
_FILE_TYPES = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a directory",
}


def find_files(paths: Sequence[str]) -> tuple[list[str], list[Problem]]:
    """Every definition file named by paths: files as given, directories' *.toml recursively,
    except hidden ones (editors' lock and swap files such as .#web.toml, version control).

    Whatever cannot be read is a problem, never skipped: a part of the definitions that is left
    out would have its units removed. Symbolic links to directories are followed; a directory
    reached twice (a loop) is a problem."""
    files: list[str] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            missing = exc.errno == errno.ENOENT
            message = "no such file or directory" if missing else f"cannot read: {exc.strerror}"
            problems.append(Problem(path, message=message))
            continue
        if stat.S_ISDIR(mode):
            files += _walk(os.path.normpath(path), problems)
        elif stat.S_ISREG(mode):
            files.append(os.path.normpath(path))
        else:
            problems.append(Problem(path, message=f"not a file or directory: {_file_type(mode)}"))
    return files, problems


def _walk(top: str, problems: list[Problem]) -> list[str]:
    """The *.toml files below top, sorted; without recursion, so no depth of directories
    can exhaust the stack."""
    found: list[str] = []
    seen: dict[tuple[int, int], str] = {}  # (st_dev, st_ino) of each directory listed
    pending = [top]
    while pending:
        if len(seen) >= MAX_DIRECTORIES:
            # a link to / or to a big tree would walk the whole file system, for minutes
            message = (
                f"more than {MAX_DIRECTORIES} directories below this one (a symbolic link "
                "leading out of the definitions?); definitions fit in fewer"
            )
            problems.append(Problem(top, message=message))
            break
        directory = pending.pop()
        for name, mode in _list(directory, seen, problems):
            path = os.path.join(directory, name)
            if stat.S_ISDIR(mode):
                pending.append(path)
            elif not name.endswith(".toml"):
                continue
            elif stat.S_ISREG(mode):
                found.append(path)
            else:
                problems.append(Problem(path, message=f"not a regular file: {_file_type(mode)}"))
    return sorted(found)


def _list(
    directory: str, seen: dict[tuple[int, int], str], problems: list[Problem]
) -> list[tuple[str, int]]:
    """The visible entries of directory with their types (symbolic links followed): those that
    may hold definitions. A directory that cannot be listed, or that was listed before, is a
    problem."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        problems.append(Problem(directory, message=f"cannot read this directory: {exc.strerror}"))
        return []
    entries: list[tuple[str, int]] = []
    try:
        info = os.fstat(fd)  # the directory opened, whatever the path now leads to
        first = seen.setdefault((info.st_dev, info.st_ino), directory)
        if first != directory:
            problems.append(
                Problem(
                    directory,
                    message=f"the same directory as {first}, reached again through a symbolic "
                    "link (a loop, or two links to one directory): its definitions would be "
                    "read twice",
                )
            )
            return []
        with os.scandir(fd) as listing:
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                mode = _entry_mode(entry, directory, problems)
                if mode is not None:
                    entries.append((entry.name, mode))
    except OSError as exc:
        problems.append(Problem(directory, message=f"cannot read this directory: {exc.strerror}"))
        return []
    finally:
        os.close(fd)
    return entries


def _entry_mode(entry: os.DirEntry[str], directory: str, problems: list[Problem]) -> int | None:
    """The type of what entry leads to; None for what cannot hold definitions. A symbolic
    link that leads nowhere is a problem whatever its name: it may stand for a directory."""
    path = os.path.join(directory, entry.name)
    try:
        if entry.is_symlink():
            return entry.stat().st_mode
        if entry.is_dir(follow_symlinks=False):
            return stat.S_IFDIR
        if not entry.name.endswith(".toml"):
            return None
        return entry.stat(follow_symlinks=False).st_mode
    except OSError as exc:
        what = "cannot follow this symbolic link" if _is_link(entry) else "cannot read"
        problems.append(Problem(path, message=f"{what}: {exc.strerror}"))
        return None


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _file_type(mode: int) -> str:
    return _FILE_TYPES.get(stat.S_IFMT(mode), "not a regular file")


def load(paths: Sequence[str]) -> Spec:
    """Load, validate and cross-check the definitions found under paths."""
    files, problems = find_files(paths)
    problems += _unwritable_sources(files)
    documents: list[tuple[str, Document]] = []
    for file in files:
        document = _load_file(file, display(os.path.abspath(file)), problems)
        if document is not None:
            documents.append((file, document))
    return checked_spec(documents, problems)


def checked_spec(documents: list[tuple[str, Document]], problems: list[Problem]) -> Spec:
    """The validated documents as one Spec, cross-checked; raises with every problem found."""
    spec = _merge(documents, problems)
    _run_built_images(spec)
    problems += cross_check(spec)
    if not problems:  # only whole definitions are worth reading contexts for
        problems += _fingerprint_builds(spec)
    if not problems:  # render needs definitions that are whole
        problems += [
            Problem(display(spec.sources[(kind, name)]), key_path(loc), message)
            for kind, name, loc, message in limits.check(spec)
        ]
    if problems:
        raise DefinitionError(problems)
    return spec


def _load_file(file: str, shown: str, problems: list[Problem]) -> Document | None:
    """Parse and validate one file; problems name it as shown."""
    text = _read_text(file, shown, problems)
    data = None if text is None else _parse_shallow(text, shown, problems)
    if text is None or data is None:
        return None
    return validate_document(data, file, shown, problems, printable=_printable(text))


def read_toml(file: str, shown: str, problems: list[Problem]) -> dict[str, Any] | None:
    """One definition file's TOML, or None with its problems (named as shown) added."""
    text = _read_text(file, shown, problems)
    return None if text is None else _parse_shallow(text, shown, problems)


def _read_text(file: str, shown: str, problems: list[Problem]) -> str | None:
    try:
        raw = read_definition(file)
    except _Unreadable as exc:
        problems.append(Problem(shown, message=str(exc)))
        return None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # a BOM, as some editors write
    except UnicodeDecodeError as exc:
        at_line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(shown, message="not valid UTF-8", line=at_line))
        return None
    return text


def _parse_shallow(text: str, shown: str, problems: list[Problem]) -> dict[str, Any] | None:
    """The TOML document, refused when it nests deeper than MAX_DEPTH."""
    data = _parse(text, shown, problems)
    # Every level below the first is opened by a "[", a "{" or a dot: a text with few of them
    # cannot nest deep, and the walk over all of its values is spared.
    if data is None or 1 + text.count("[") + text.count("{") + text.count(".") <= MAX_DEPTH:
        return data
    before = len(problems)
    _check_depth(shown, data, problems)
    return data if len(problems) == before else None


def _printable(text: str) -> bool:
    """True when no key or string of this TOML text can hold a character check_printable
    refuses: ASCII without escapes (backslash), tabs or multi-line strings, TOML allows no
    other control character in a key or a string."""
    return (
        text.isascii() and "\\" not in text and "\t" not in text
        and '"""' not in text and "'''" not in text
    )  # fmt: skip


def validate_document(
    data: dict[str, Any], file: str, shown: str, problems: list[Problem], *, printable: bool = False
) -> Document | None:
    """Validate one file's tables; relative paths in them are relative to file's directory.
    printable: its text can hold no character a unit file cannot carry (see _printable)."""
    before = len(problems)
    if not printable:
        _check_text(shown, data, (), problems)
    _check_names(shown, data, problems)
    if len(problems) > before:
        return None
    context = {"base_dir": os.path.dirname(os.path.abspath(file))}
    tables: dict[str, Any] = {}
    errors: list[Any] = []
    # One resource at a time with its kind's model, as Document would (its errors, in its
    # order): only the kinds a run declares have their models built (models are deferred).
    for kind in KINDS:
        table = data.get(kind)
        if table is None:
            continue
        if not isinstance(table, dict):
            errors.append({"type": "dict_type", "loc": (kind,), "input": table})
            continue
        model = MODELS[kind]
        tables[kind] = {}
        for name, value in table.items():
            try:
                tables[kind][name] = model.model_validate(value, context=context)
            except ValidationError as exc:
                errors += [{**e, "loc": (kind, name, *e["loc"])} for e in exc.errors()]
    errors += [{"type": "extra_forbidden", "loc": (key,)} for key in data if key not in MODELS]
    if errors:
        problems += [Problem(shown, key_path(e["loc"]), describe(e)) for e in errors]
        return None
    # every field given: model_construct would inspect each default factory's signature
    return Document.model_construct(set(tables), **{kind: tables.get(kind, {}) for kind in KINDS})


class _Unreadable(Exception):
    """A definition file that cannot be read, or is not one; the message says why."""


def read_definition(file: str) -> bytes:
    """The bytes of a definition file: a regular file (symbolic links followed) of at most
    MAX_FILE_SIZE bytes. Nothing else is opened or read: a FIFO would block, a device never end."""
    try:
        mode = os.stat(file).st_mode
        if not stat.S_ISREG(mode):  # not even opened: opening a device can have effects
            raise _Unreadable(f"not a regular file: {_file_type(mode)}")
        # O_NONBLOCK: a FIFO swapped in since the stat must not block the open or the reads
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Unreadable(f"not a regular file: {_file_type(info.st_mode)}")
        if info.st_size > MAX_FILE_SIZE:
            raise _Unreadable(_too_large(f"{info.st_size} bytes"))
        return _read_at_most(fd, MAX_FILE_SIZE)
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)


def _read_at_most(fd: int, limit: int) -> bytes:
    """All of fd, which must end within limit bytes (a file may grow while it is read)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := os.read(fd, limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _Unreadable(_too_large(f"more than {limit} bytes"))
    return b"".join(chunks)


def _too_large(size: str) -> str:
    return f"too large: {size}; a definition file holds at most 1 MiB ({MAX_FILE_SIZE} bytes)"


def _parse(text: str, shown: str, problems: list[Problem]) -> dict[str, Any] | None:
    """The TOML document, or None with the reason in problems."""
    deep = _dotted_too_deep(text)
    if deep is not None:  # tomllib takes minutes over [a.a.a...] a hundred thousand deep
        problems.append(Problem(shown, message=_too_deep(), line=deep))
        return None
    try:
        return _loads(text)
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
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        problems.append(Problem(shown, message=_too_deep()))
    except ValueError:  # int() refuses a decimal literal longer than Python's limit
        match = _LONG_INTEGER.search(text)
        line = column = None
        if match:
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - text.rfind("\n", 0, match.start())
        message = f"an integer of more than {_INT_DIGITS} digits"
        problems.append(Problem(shown, message=message, line=line, column=column))
    return None


def _loads(text: str) -> dict[str, Any]:
    """tomllib's result, from the compiled build of the same parser (tomli) when it is installed:
    its errors are tomllib's, word for word and position for position, and it parses three times
    as fast, long strings far faster. Deep nesting raises RecursionError there too (at some
    1000 levels, tomllib at some 450), which _parse reports; what parses is refused deeper than
    MAX_DEPTH by _check_depth."""
    if _fast is None:
        return tomllib.loads(text)
    try:
        data: dict[str, Any] = _fast.loads(text)
    except _fast.TOMLDecodeError as exc:  # the same message, raised as tomllib's error
        raise tomllib.TOMLDecodeError(str(exc)) from None
    return data


def _dotted_too_deep(text: str) -> int | None:
    """The first line whose table header or key has far more dots than MAX_DEPTH allows (a
    quoted key may hold dots too, so only far more); None if there is none. Cheap: the few lines
    with that many dots at all are looked at closer."""
    if text.count(".") <= _MAX_KEY_DOTS:
        return None
    for number, line in enumerate(text.split("\n"), 1):
        if line.count(".") <= _MAX_KEY_DOTS:
            continue
        stripped = line.lstrip()
        key = stripped if stripped.startswith("[") else stripped.partition("=")[0]
        if key.count(".") > _MAX_KEY_DOTS:
            return number
    return None


def _too_deep() -> str:
    return f"arrays or tables nested more than {MAX_DEPTH} deep"


def _check_depth(file: str, data: dict[str, Any], problems: list[Problem]) -> None:
    """Refuse nesting deeper than MAX_DEPTH before anything walks the data recursively."""
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while pending:
        value, loc = pending.pop()
        if len(loc) > MAX_DEPTH:
            problems.append(Problem(file, key_path(loc[:4]), _too_deep()))
            return
        if isinstance(value, dict):
            pending += [(item, (*loc, key)) for key, item in value.items()]
        elif isinstance(value, list):
            pending += [(item, (*loc, index)) for index, item in enumerate(value)]


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
        ("pod",): models.Pod,
        ("pod", "volumes"): models.Mount,
        ("image",): models.Image,
        ("build",): models.Build,
        ("build", "volumes"): models.Mount,
        ("kube",): models.Kube,
        ("network", "subnets"): models.Subnet,
    }
    model = tables.get(path[:1] + path[2:]) if path else models.Document
    return sorted(f.alias or n for n, f in model.model_fields.items()) if model else []


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


def _run_built_images(spec: Spec) -> None:
    """A container with build = NAME runs that build's tag (an unknown build is cross_check's)."""
    for name, c in spec.containers.items():
        if c.build is not None and c.build in spec.builds:
            tag = build_tag(c.build, spec.builds[c.build])
            spec.containers[name] = c.model_copy(update={"image": tag})


def _fingerprint_builds(spec: Spec) -> list[Problem]:
    """Read each build's inputs into the spec (spec.inputs), or say why they cannot be read."""
    problems = []
    for name, build in spec.builds.items():
        try:
            spec.inputs[name] = buildctx.fingerprint(build.context, build.file, build.ignore_file)
        except buildctx.ContextError as exc:
            where = display(spec.sources[("build", name)])
            problems.append(Problem(where, f"build.{name}.{exc.key}", str(exc)))
    return problems


def display(path: str) -> str:
    """Relative to the working directory when below it (what the user typed, usually), else
    absolute; never relative to / (a service runs there), nor to a directory since removed."""
    try:
        cwd = os.getcwd()
    except OSError:
        return path
    if cwd == "/":
        return path
    if path[:1] == "/" and "//" not in path and "/." not in path and path[-1] != "/":
        # normalised already: what relpath gives, without its cost
        if path.startswith(cwd + "/"):
            return path[len(cwd) + 1 :]
        if path != cwd:
            return path
    relative = os.path.relpath(path, cwd)
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
        problems += _unknown_volumes(file, f"container.{name}", c.volumes, c.mounts, spec)
        problems += _unknown_networks(file, f"container.{name}", c.networks, spec)
        problems += _shared_namespaces(file, name, c, spec)
    for name, pod in spec.pods.items():
        file = where("pod", name)
        problems += _unknown_volumes(file, f"pod.{name}", pod.volumes, [], spec)
        problems += _unknown_networks(file, f"pod.{name}", pod.networks, spec)
        if infra_name(name) in spec.containers:
            message = (f'its infra container is named "{infra_name(name)}", as container '
                       f'"{infra_name(name)}" in {where("container", infra_name(name))} is: '
                       "rename one of them")  # fmt: skip
            problems.append(Problem(file, f"pod.{name}", message))
    problems += _artifacts(spec, where)
    problems += _cycles(spec, where)
    problems += _unit_clashes(spec, where)
    problems += _port_clashes(spec, where)
    problems += foreign_references(spec, where)
    return problems


_NETWORK_MODES = ("host", "none", "private")


def _artifacts(spec: Spec, where: Any) -> list[Problem]:
    """Images, builds and kube files: what they name exists, and no two make one image."""
    problems: list[Problem] = []
    for name, c in spec.containers.items():
        if c.build is not None and c.build not in spec.builds:
            message = f'unknown build "{c.build}"{_hint(c.build, spec.builds)}; declare it with '
            problems.append(Problem(where("container", name), f"container.{name}.build",
                                    message + f"[build.{c.build}]"))  # fmt: skip
    problems += _image_makers(spec, where)
    for name, b in spec.builds.items():
        problems += _known(spec, where, ("build", name, "network"), [b.network or "host"])
        named = [m.source for m in b.volumes if not m.is_bind]
        problems += _known(spec, where, ("build", name, "volumes"), named, "volume")
    for name, k in spec.kubes.items():
        problems += _known(spec, where, ("kube", name, "networks"), k.networks)
        files = [("yaml", k.yaml)] + [(f"config_maps[{i}]", p) for i, p in enumerate(k.config_maps)]
        for key, path in files:
            if not os.path.isfile(path):
                problems.append(Problem(where("kube", name), f"kube.{name}.{key}",
                                        f"no such file: {path}"))  # fmt: skip
    return problems


def _image_makers(spec: Spec, where: Any) -> list[Problem]:
    """Each image reference is pulled by one [image.X] or built by one [build.X] at most."""
    problems: list[Problem] = []
    makers: dict[str, tuple[str, str]] = {}
    made = [("image", n, i.image) for n, i in spec.images.items()]
    made += [("build", n, build_tag(n, b)) for n, b in spec.builds.items()]
    for kind, name, ref in made:
        path = f"{kind}.{name}" + (".image" if kind == "image" else "")
        if kind == "build" and spec.builds[name].tag is None:
            try:
                values.image(ref)
            except ValueError:
                message = f'its default tag "{ref}" is not an image reference; give one with tag'
                problems.append(Problem(where(kind, name), path, message + ' = "..."'))
                continue
        if ref in makers:
            other_kind, other = makers[ref]
            problems.append(Problem(where(kind, name), path, f'{other_kind} "{other}" in '
                                    f"{where(other_kind, other)} makes {ref} too"))  # fmt: skip
        makers.setdefault(ref, (kind, name))
    return problems


def _known(
    spec: Spec, where: Any, loc: tuple[str, str, str], names: list[str], kind: str = "network"
) -> list[Problem]:
    """A problem for each name of a network (or volume) that is not declared."""
    declared = spec.networks if kind == "network" else spec.volumes
    return [
        Problem(
            where(loc[0], loc[1]),
            ".".join(loc),
            f'unknown {kind} "{n}"{_hint(n, declared)}; declare it with [{kind}.{n}]',
        )
        for n in names
        if n not in declared and (kind != "network" or n not in _NETWORK_MODES)
    ]


def _unknown_networks(file: str, at: str, networks: list[str], spec: Spec) -> list[Problem]:
    """The networks a container or pod joins that are not declared (nor host, none)."""
    problems = []
    for index, network in enumerate(networks):
        if network not in ("host", "none") and network not in spec.networks:
            if network.startswith(CONTAINER_NETWORK):
                continue  # _shared_namespaces checks those
            problems.append(
                Problem(
                    file,
                    f"{at}.networks[{index}]",
                    f'unknown network "{network}"{_hint(network, spec.networks)}; '
                    f"declare it with [network.{network}]",
                )
            )
    return problems


def _shared_namespaces(file: str, name: str, c: Container, spec: Spec) -> list[Problem]:
    """A member of a pod, or a container in another's network namespace: the namespace's
    keys are its owner's, and podman refuses them here."""
    at = f"container.{name}"
    other = network_container(c)
    keys: tuple[str, ...]
    if c.pod is not None:
        if c.pod not in spec.pods:
            hint = _hint(c.pod, spec.pods)
            return [Problem(file, f"{at}.pod", f'unknown pod "{c.pod}"{hint}; declare it with '
                            f"[pod.{c.pod}]")]  # fmt: skip
        owner, keys = f'pod "{c.pod}"', POD_NAMESPACE_KEYS
    elif other is not None:
        if other == name or other not in spec.containers:
            why = "itself" if other == name else f'unknown container "{other}"'
            message = f"a container cannot join the network of {why}"
            hint = "" if other == name else _hint(other, spec.containers)
            return [Problem(file, f"{at}.networks[0]", message + hint)]
        if spec.containers[other].pod is not None:
            pod = spec.containers[other].pod
            message = (f'container "{other}" is a member of pod "{pod}", and podman lets only '
                       f'members of a pod join it: set pod = "{pod}" instead')  # fmt: skip
            return [Problem(file, f"{at}.networks[0]", message)]
        owner, keys = f'container "{other}"', NETWORK_NAMESPACE_KEYS
    else:
        if c.network_aliases and not [n for n in c.networks if n not in ("host", "none")]:
            message = "network aliases need at least one declared network in networks"
            return [Problem(file, f"{at}.network_aliases", message)]
        return []
    return [
        Problem(
            file,
            f"{at}.{key}",
            f"{key} belongs to {owner}, whose namespace this container "
            f"joins (podman refuses it here); set it there",
        )
        for key in keys
        if getattr(c, key) and not (key == "networks" and c.pod is None)
    ]


# What a container that joins another's network namespace (networks = ["container:NAME"])
# cannot set: podman refuses each of them with that network mode.
NETWORK_NAMESPACE_KEYS = (
    "ports", "network_aliases", "dns", "dns_search", "dns_options", "add_hosts", "ip", "ip6",
    "mac_address", "expose",
)  # fmt: skip


def _unknown_volumes(
    file: str, at: str, volumes: list[Any], mounts: list[str], spec: Spec
) -> list[Problem]:
    """The named volumes a container or pod mounts (by volumes or mounts) not declared."""
    used: list[tuple[str, str | None]] = [
        (f"volumes[{i}]", m.source) for i, m in enumerate(volumes) if not m.is_bind
    ]
    used += [(f"mounts[{i}]", mount_source(m, "volume")) for i, m in enumerate(mounts)]
    return [
        Problem(
            file,
            f"{at}.{key}",
            f'unknown volume "{source}"{_hint(source, spec.volumes)}; '
            f"declare it with [volume.{source}]",
        )
        for key, source in used
        if source is not None and source not in spec.volumes
    ]


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _needs(c: Container) -> list[str]:
    """The containers c starts after: its dependencies, and the one whose network it joins."""
    other = network_container(c)
    return [*c.depends_on, other] if other is not None else list(c.depends_on)


def _cycles(spec: Spec, where: Any) -> list[Problem]:
    """Every dependency cycle, once; depth first without recursion, so that no length of a
    depends_on chain can exhaust the stack."""
    problems: list[Problem] = []
    done: set[str] = set()
    reported: set[frozenset[str]] = set()
    for start in spec.containers:
        if start in done:
            continue
        path, on_path = [start], {start}
        deps = [iter(_needs(spec.containers[start]))]  # what is left to visit, per level
        while deps:
            dep = next(deps[-1], None)
            if dep is None:
                deps.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif dep not in spec.containers or dep == path[-1] or dep in done:
                continue
            elif dep in on_path:
                cycle = [*path[path.index(dep) :], dep]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    problems.append(
                        Problem(
                            where("container", dep),
                            f"container.{dep}.depends_on",
                            _cycle_text(cycle),
                        )
                    )
            else:
                path.append(dep)
                on_path.add(dep)
                deps.append(iter(_needs(spec.containers[dep])))
    return problems


def _cycle_text(cycle: list[str]) -> str:
    """a -> b -> a; a long cycle shortened to its ends, as it would fill screens."""
    if len(cycle) <= 12:
        return "dependency cycle: " + " -> ".join(cycle)
    shown = [*cycle[:5], "...", *cycle[-4:]]
    return f"dependency cycle of {len(cycle) - 1} containers: " + " -> ".join(shown)


def _unwritable_sources(files: list[str]) -> list[Problem]:
    """Every unit names the file it came from (its header and Source=): a file whose path holds
    what a unit file cannot carry would pass here and fail at render."""
    problems: list[Problem] = []
    for file in files:
        try:
            escape_specifiers(os.path.abspath(file))
        except QuotingError as exc:
            message = f"this file's path cannot be written into the units made from it: {exc}"
            problems.append(Problem(display(os.path.abspath(file)), message=message))
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
    claimed: dict[tuple[str, int], list[tuple[str, tuple[str, str]]]] = {}
    publishers = [("container", n, c.ports) for n, c in spec.containers.items()]
    publishers += [("pod", n, p.ports) for n, p in spec.pods.items()]
    publishers += [("kube", n, k.ports) for n, k in spec.kubes.items()]
    for kind, name, ports in publishers:
        for index, text in enumerate(ports):
            clash = None
            for ip, proto, number in values.published(text):
                key = (proto, number)
                for other_ip, owner in claimed.get(key, []):
                    if clash is None and (not ip or not other_ip or ip == other_ip):
                        clash = (number, proto, owner)
                claimed.setdefault(key, []).append((ip, (kind, name)))
            if clash is not None:
                number, proto, (other_kind, other) = clash
                problems.append(
                    Problem(
                        where(kind, name),
                        f"{kind}.{name}.ports[{index}]",
                        f'host port {number}/{proto} is also published by {other_kind} "{other}"'
                        + (
                            ""
                            if (other_kind, other) == (kind, name)
                            else f" in {where(other_kind, other)}"
                        ),
                    )
                )
    return problems


def fingerprint(paths: Sequence[str]) -> Fingerprint:
    """What the definitions look like on disk (name, inode, size, mtime), to tell a change;
    a part that cannot be read is in it too (as its problem), so that its repair is a change."""
    found, problems = find_files(paths)
    prints: Fingerprint = [(str(problem), -1, -1, -1) for problem in problems]
    for file in found:
        try:
            info = os.stat(file)
        except OSError as exc:
            prints.append((f"{file}: {exc.strerror}", -1, -1, -1))
            continue
        prints.append((file, info.st_ino, info.st_size, info.st_mtime_ns))
    return prints
