"""Unit overrides as this host's systemd reads them.

A resource's `unit` table is copied into its unit file as written, and systemd ignores, with no
more than a line in its log, what it cannot read there: an unknown directive (`nice`, `Foo`), a
value it cannot parse (`Nice = "abc"`, `MemoryMax = "101%%"`), a path it wants absolute. The
container then runs without the setting. Only systemd knows every directive and its syntax, so
`systemd-analyze verify` reads the rendered units of the containers that have overrides, and each
complaint about a line that came from an override is a problem naming that override's key.
Without systemd-analyze nothing is checked here (the other checks still hold).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

from orchestrator.core import render
from orchestrator.core.loader import display, key_path
from orchestrator.core.models import Spec, unit_name
from orchestrator.core.target import Target
from orchestrator.errors import DefinitionError, Problem

TIMEOUT = 60.0
# "/dir/web.service:26: Unknown key 'Foo' in section [Service], ignoring."
_COMPLAINT = re.compile(r"^(?P<path>/[^:]*\.service):(?P<line>[0-9]+): (?P<message>.*)$")


def check(spec: Spec, where: Target) -> None:
    """Raise DefinitionError with every override line systemd would not take as written."""
    problems = list(problems_of(spec, where))
    if problems:
        raise DefinitionError(problems)


Owners = dict[str, tuple[str, str]]
Overrides = dict[str, dict[str, list[str]]]


def problems_of(spec: Spec, where: Target) -> Iterator[Problem]:
    owners: Owners = {  # unit -> (kind, name) of every resource with overrides
        unit_name(kind, name): (kind, name)
        for kind in render.RENDER_ONE_KINDS
        for name, resource in getattr(spec, kind + "s").items()
        if getattr(resource, "unit", None)
    }
    analyze = shutil.which("systemd-analyze")
    if not owners or analyze is None:
        return
    texts = {
        unit: render.render_one(kind, name, spec, where.mode, where.cgroups_v1)
        for unit, (kind, name) in owners.items()
    }
    import tempfile  # here, as runner's subprocess: most definitions have no overrides

    with tempfile.TemporaryDirectory(prefix="orchestrator-verify-") as directory:
        for unit, text in texts.items():
            with open(os.path.join(directory, unit), "w", encoding="utf-8") as file:
                file.write(text)
        output = _verify(analyze, directory, list(texts), where.mode == "user")
    for line in output.splitlines():
        for unit, loc in _placed(line, texts, spec, owners) or _by_value(line, spec, owners):
            kind, name = owners[unit]
            yield Problem(
                display(spec.sources[(kind, name)]),
                key_path((kind, name, "unit", *loc)),
                "systemd would not take this setting as written: "
                + _short(match.group("message") if (match := _COMPLAINT.match(line)) else line),
            )


def _overrides(spec: Spec, owner: tuple[str, str]) -> Overrides:
    kind, name = owner
    return getattr(spec, kind + "s")[name].unit  # type: ignore[no-any-return]


def _short(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."


def _placed(
    line: str, texts: dict[str, str], spec: Spec, owners: Owners
) -> list[tuple[str, tuple[str, ...]]]:
    """The (unit, override) a "PATH:LINE: message" complaint is about."""
    match = _COMPLAINT.match(line)
    unit = os.path.basename(match.group("path")) if match else ""
    if not match or unit not in texts:
        return []
    loc = _override_at(texts[unit], int(match.group("line")), _overrides(spec, owners[unit]))
    return [(unit, loc)] if loc is not None else []


def _by_value(line: str, spec: Spec, owners: Owners) -> list[tuple[str, tuple[str, ...]]]:
    """The overrides a complaint without a line quotes as a whole word ("web.service: Command
    abc is not executable", "Accepting user/group name 'web.service', ..."): the value as
    written, or with the specifiers of the unit's name expanded."""
    if _COMPLAINT.match(line):
        return []
    found = []
    for unit, owner in owners.items():
        for section, directives in _overrides(spec, owner).items():
            for directive, items in directives.items():
                for value in items:
                    expanded = _expand(value, unit)
                    if any(_quotes(line, text) for text in {value, expanded} if text.strip()):
                        found.append((unit, (section, directive)))
    return list(dict.fromkeys(found))


def _expand(value: str, unit: str) -> str:
    stem = unit.removesuffix(".service")
    known = {"%n": unit, "%N": stem, "%p": stem, "%P": stem, "%%": "%"}
    return re.sub("%.", lambda m: known.get(m.group(), m.group()), value)


def _quotes(line: str, text: str) -> bool:
    """Whether line holds text as a word of its own: after a space or a quote (or at the start),
    before a space, a quote or a comma (or at the end). Searched for with str.find: a pattern
    built from a value of tens of kilobytes took a tenth of a second to compile."""
    start = line.find(text)
    while start >= 0:
        end = start + len(text)
        before, after = line[start - 1 : start] or " ", line[end : end + 1] or " "
        if (before.isspace() or before in "'\"") and (after.isspace() or after in "'\","):
            return True
        start = line.find(text, start + 1)
    # systemd cuts a long message short, and with it the closing quote
    cut = _CUT_SHORT.search(line)
    return cut is not None and text.startswith(cut.group(1))


_CUT_SHORT = re.compile(r"'([^']{64,})$")


def _verify(analyze: str, directory: str, units: list[str], user: bool) -> str:
    from orchestrator.host import runner

    runtime = os.path.join(directory, "runtime")
    os.mkdir(runtime, 0o700)
    # only our directory: the host's units must neither be read nor stand in for ours
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{directory}:", "XDG_RUNTIME_DIR": runtime}
    argv = [analyze, *(["--user"] if user else []), "verify", "--man=no", "--recursive-errors=no"]
    argv += [os.path.join(directory, unit) for unit in units]
    try:
        result = runner.run(argv, check=False, env=env, timeout=TIMEOUT)
    except runner.CommandError:  # it hung or vanished: nothing is known, nothing refused
        return ""
    return (result.stdout or "") + (result.stderr or "")


def _override_at(text: str, number: int, overrides: Overrides) -> tuple[str, ...] | None:
    """The (section, directive) of the override written at line number of text; None for a
    line of ours. Overrides are the last lines of their section, in the order given."""
    lines = text.split("\n")
    if not 0 < number <= len(lines):
        return None
    section = ""
    for line in lines[:number]:
        if line.startswith("["):
            section = line.strip("[]")
    directive = lines[number - 1].partition("=")[0]
    if directive not in overrides.get(section, {}):
        return None
    # ours come first: the line is an override only if it is among the section's last lines
    block_end = number
    while block_end < len(lines) and lines[block_end] and not lines[block_end].startswith("["):
        block_end += 1
    count = sum(len(values) for values in overrides[section].values())
    if block_end - number >= count:
        return None
    return section, directive
