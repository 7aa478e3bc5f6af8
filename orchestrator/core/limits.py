"""What only the rendered units show: sizes the kernel or systemd refuse, and anything render
itself would refuse. The loader runs this on definitions that passed every other check, so that
validate refuses all that render, systemd or execve would, naming the file and the key.

Limits (bytes): one argument at most MAX_ARG_STRLEN - 1 (execve fails with E2BIG, the container
never starts); one unit file line at most LONG_LINE_MAX - 1 (the unit fails to load: "No buffer
space available"); the whole podman command line, strings and pointers, at most half of the 2 MiB
execve allows with the default 8 MiB stack, the other half being the environment's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from orchestrator.core import render, values
from orchestrator.core.models import (
    KINDS,
    Build,
    Container,
    Image,
    Kube,
    Network,
    Pod,
    Spec,
    Volume,
)
from orchestrator.core.quoting import writes_plainly
from orchestrator.errors import QuotingError

MAX_ARG_STRLEN = 128 * 1024  # include/uapi/linux/binfmts.h, with the terminating NUL
LONG_LINE_MAX = 1024 * 1024  # systemd's read_line() limit for unit files, with the newline
ARGV_BUDGET = 1024 * 1024
POINTER = 8
_UTF8_MAX = 4  # bytes of one character at most: a string of n characters is at most 4n bytes
# Directive -> the key whose values make its line long (when the line is not an override).
_LINE_KEYS = {
    "Description": "description",
    "RequiresMountsFor": "volumes",
    "Requires": "depends_on",
    "After": "depends_on",
    "ExecStartPre": "depends_on",
}

Loc = tuple[str | int, ...]


def check(spec: Spec) -> Iterator[tuple[str, str, Loc, str]]:
    """(kind, name, key location, message) for every resource whose units could not be
    written, loaded or started. Rendered only when counting its strings cannot prove that."""
    for kind in KINDS:
        for name, resource in getattr(spec, kind + "s").items():
            extra = [name, spec.sources[(kind, name)]]
            if kind == "build":
                extra.append(spec.inputs[name].file)
            bound = most_bytes(resource, extra)
            if bound is not None and bound < MAX_ARG_STRLEN:  # the smallest of the limits
                continue
            prefix = (kind, name)
            argv = _argv(name, resource, spec)
            try:
                # user mode on cgroup v1 writes the longest podman command line
                reuse = argv if kind == "container" else None
                text = render.render_one(kind, name, spec, "user", True, argv=reuse)
            except QuotingError as exc:
                yield kind, name, prefix, f"cannot be written into a unit file: {exc}"
                continue
            for loc, message in [*_lines(text, resource), *_args(argv, resource)]:
                yield kind, name, prefix + loc, message


# Bytes a unit can hold that are no value of its resource: the fixed flags and lines, default
# values, the flag of each key left at its default, the names of other resources' units (an
# image or build unit that a container requires) and the pointers of the fixed arguments. A
# container unit has under 3 KiB of them; the rest is margin.
_FIXED = 32 * 1024
# Bytes each string or number may bring besides its characters: its flag (the longest is under
# 40 bytes), quotes, a separator, and its pointer on the podman command line
_PER_VALUE = 64


def most_bytes(resource: BaseModel, extra: list[str]) -> int | None:
    """A bound on the bytes of any line, argument or command line of the resource's units,
    counted from its values (and extra: its name, its source file...) without rendering them;
    None when a string holds what quoting could refuse, which only rendering tells.

    Each character is written as at most 4 bytes (quoting.writes_plainly), and counted twice:
    render may write a value twice on one line or in one argument (a build's context in the path
    of its Containerfile)."""
    strings = list(extra)
    digits = numbers = 0
    pending: list[Any] = [resource]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            pending += value
            pending += value.values()
        elif isinstance(value, (list, tuple)):
            pending += value
        elif isinstance(value, BaseModel):  # after the plain types: a slower check
            # falsy values (None, false, empty) write no more than a flag: _FIXED counts those
            pending += filter(None, value.__dict__.values())
        elif isinstance(value, int):  # bool too; its digits, without str()'s limit on them
            digits += value.bit_length() // 3 + 2
            numbers += 1
        else:  # no other type is rendered today; a new one is rendered to be sure
            return None
    text = "".join(strings)  # one search for all: the characters are what counts
    if not writes_plainly(text):
        return None
    return 2 * 4 * (len(text) + digits) + _PER_VALUE * (len(strings) + numbers) + _FIXED


def _lines(text: str, resource: BaseModel) -> Iterator[tuple[Loc, str]]:
    if len(text) * _UTF8_MAX < LONG_LINE_MAX:  # the usual unit: no line can be that long
        return
    overrides: dict[str, dict[str, Any]] = getattr(resource, "unit", {})
    section = ""
    for line in text.split("\n"):
        size = len(line.encode("utf-8"))
        if line.startswith("["):
            section = line.strip("[]")
        if size < LONG_LINE_MAX:
            continue
        directive = line.partition("=")[0]
        loc: Loc = ()
        if directive in overrides.get(section, {}):
            loc = ("unit", section, directive)
        elif directive in _LINE_KEYS:
            loc = (_LINE_KEYS[directive],)
        yield (
            loc,
            f"its unit's {directive}= line would be {size:,} bytes; systemd refuses to load a "
            f"unit with a line of {LONG_LINE_MAX:,} bytes or more",
        )


def _args(argv: list[str], resource: Any) -> Iterator[tuple[Loc, str]]:
    if sum(map(len, argv)) * _UTF8_MAX + len(argv) * (1 + POINTER) <= min(
        MAX_ARG_STRLEN - 1, ARGV_BUDGET
    ):  # the usual command line: counting its bytes would find nothing
        return
    for arg in argv:
        size = len(arg.encode("utf-8"))
        if size >= MAX_ARG_STRLEN:
            yield (
                _key_of(arg, resource),
                f"makes a podman argument of {size:,} bytes ({values.show(arg)}); the kernel "
                f"refuses arguments of {MAX_ARG_STRLEN:,} bytes or more: it would never start",
            )
    total = sum(len(arg.encode("utf-8")) + 1 + POINTER for arg in argv)
    if total > ARGV_BUDGET:
        yield (
            (),
            f"its podman command line would take {total:,} bytes (arguments and their pointers); "
            f"at most {ARGV_BUDGET:,} are allowed, the kernel refusing more than 2 MiB with the "
            "environment: fewer or shorter environment values, labels, volumes or command words",
        )


def _argv(name: str, resource: Any, spec: Spec) -> list[str]:
    if isinstance(resource, Container):
        return render.podman_run_argv(name, resource, "user", True)
    if isinstance(resource, Pod):
        return render.podman_pod_create_argv(name, resource)
    if isinstance(resource, Image):
        return render.podman_pull_argv(resource)
    if isinstance(resource, Build):
        return render.podman_build_argv(name, resource, spec.inputs[name])
    if isinstance(resource, Kube):
        return render.podman_kube_argv(resource)
    assert isinstance(resource, (Volume, Network))
    return render.oneshot_argv(
        "volume" if isinstance(resource, Volume) else "network", name, resource
    )


def _key_of(arg: str, resource: BaseModel) -> Loc:
    """The key whose value makes up most of arg: the longest string of the resource in it,
    and of equal ones the one whose table key is in arg too ("--env=KEY=...")."""
    best: Loc = ()
    best_size = 0
    for loc, text in _strings(resource.model_dump(), ()):
        last = loc[-1] if loc else None
        size = len(text) + (len(last) + 1 if isinstance(last, str) and f"{last}=" in arg else 0)
        if size > best_size and text in arg:
            best, best_size = loc, size
    return best


def _strings(data: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*loc, key), str(key)
            yield from _strings(value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, (*loc, index))
    elif isinstance(data, str):
        yield loc, data
