"""Compose's variable interpolation, and its .env files.

The rules are the Compose Specification's: `$VAR` and `${VAR}`; `${VAR:-default}` (unset or
empty), `${VAR-default}` (unset); `${VAR:?error}`, `${VAR?error}`; `${VAR:+alt}`, `${VAR+alt}`;
operands may themselves be interpolated (`${A:-${B:-x}}`); `$$` is a literal `$`. A `$` followed
by anything else stays as it is. An unset variable without a default becomes "" and is reported,
so the caller can warn, as docker compose does.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field

_NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
MAX_DEPTH = 32  # ${A:-${B:-...}} levels
MAX_OUTPUT = 16 * 2**20  # characters substituted by one project's (or .env file's) variables
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")
# a run of text that is copied as it is: up to the next "$" (or, inside ${...}, its "}")
_PLAIN = {False: re.compile(r"[^$]+"), True: re.compile(r"[^$}]+")}


class InterpolationError(ValueError):
    """A `${` that is not a valid expression, or a required variable that is missing."""


@dataclass
class Interpolator:
    """Interpolates strings against one environment and remembers the unset variables met."""

    env: Mapping[str, str]
    missing: set[str] = field(default_factory=set)
    depth: int = 0  # of ${...} being expanded: a deeper nesting is refused, not a RecursionError
    produced: int = 0  # characters substituted so far: "${A}${A}..." of a long A is bounded

    def __call__(self, text: str) -> str:
        value, end = self._expand(text, 0, nested=False)
        assert end == len(text)
        return value

    def _substituted(self, value: str) -> str:
        self.produced += len(value)
        if self.produced > MAX_OUTPUT:
            raise InterpolationError(
                f"the variables expand to more than {MAX_OUTPUT // 2**20} MiB of text "
                "(a variable used over and over, or defined by itself?)"
            )
        return value

    def _expand(self, text: str, pos: int, *, nested: bool) -> tuple[str, int]:
        """The text from pos, expanded, up to the end (or, nested, up to the `}` that closes the
        enclosing expression, whose index is returned)."""
        out: list[str] = []
        while pos < len(text):
            ch = text[pos]
            if nested and ch == "}":
                return "".join(out), pos
            if ch != "$":  # one slice per run, not one step per character: 3 MiB took 0.5 s
                run = _PLAIN[nested].match(text, pos)
                assert run is not None  # text[pos] is neither "$" nor, nested, "}"
                out.append(run.group())
                pos = run.end()
                continue
            following = text[pos + 1 : pos + 2]
            if following == "$":
                out.append("$")
                pos += 2
            elif following == "{":
                value, pos = self._braced(text, pos + 2)
                out.append(value)
            elif match := _NAME.match(text, pos + 1):
                out.append(self._substituted(self._lookup(match.group())))
                pos = match.end()
            else:
                out.append("$")
                pos += 1
        if nested:
            raise InterpolationError(f"{text!r}: a ${{ without its closing }}")
        return "".join(out), pos

    def _braced(self, text: str, pos: int) -> tuple[str, int]:
        """`${...}` whose contents start at pos: its value, and the index after its `}`."""
        match = _NAME.match(text, pos)
        if not match:
            raise InterpolationError(
                f"{text!r}: expected a variable name after ${{, got {text[pos : pos + 10]!r}"
            )
        name, pos = match.group(), match.end()
        if text.startswith("}", pos):
            return self._substituted(self._lookup(name)), pos + 1
        operator = next((op for op in _OPERATORS if text.startswith(op, pos)), None)
        if operator is None:
            raise InterpolationError(
                f"{text!r}: expected }} or one of :- - :? ? :+ + after ${{{name}, "
                f"got {text[pos : pos + 10]!r} (compose has no other shell expansions)"
            )
        if self.depth >= MAX_DEPTH:
            raise InterpolationError(
                f"{text[:40]!r}...: ${{...}} nested deeper than {MAX_DEPTH} levels"
            )
        self.depth += 1
        try:
            operand, end = self._expand(text, pos + len(operator), nested=True)
        finally:
            self.depth -= 1
        return self._substituted(self._apply(name, operator, operand)), end + 1

    def _apply(self, name: str, operator: str, operand: str) -> str:
        value = self.env.get(name)
        present = value is not None if operator[0] != ":" else bool(value)
        if operator.endswith("-"):
            return value if present and value is not None else operand
        if operator.endswith("+"):
            return operand if present else ""
        if not present:  # ? and :?
            why = operand or ("not set" if value is None else "empty")
            raise InterpolationError(f"required variable {name} is missing a value: {why}")
        return value or ""

    def _lookup(self, name: str) -> str:
        value = self.env.get(name)
        if value is None:
            self.missing.add(name)
            return ""
        return value


_ENV_LINE = re.compile(r"\s*(?:export\s+)?([^=\s#]+)\s*(=?)(.*)", re.DOTALL)
_DOUBLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$$"}


def read_env_file(text: str, outer: Mapping[str, str], where: str) -> dict[str, str]:
    """The variables of a .env file: `KEY=VALUE` lines (`export ` allowed), `#` comments, values
    unquoted (trimmed, ` #` starts a comment), 'single-quoted' (literal) or "double-quoted"
    (escapes; may span lines). Unquoted and double-quoted values are interpolated with the
    variables defined so far, the outer environment first, as docker compose does."""
    found: dict[str, str] = {}
    # the outer environment first; one view and one budget for the whole file, not a copy of
    # every variable so far per line (50,000 lines took minutes)
    interpolate = Interpolator(ChainMap(dict(outer), found))
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line, number = lines[index], index + 1
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.fullmatch(line)
        if not match or not _NAME.fullmatch(match.group(1)):
            raise InterpolationError(f"{where}:{number}: expected KEY=VALUE, got {line!r}")
        key, equals, rest = match.groups()
        if not equals and rest.strip():
            raise InterpolationError(f"{where}:{number}: expected KEY=VALUE, got {line!r}")
        if not equals:
            continue  # a bare KEY in an .env file sets nothing
        rest = rest.strip()
        if rest.startswith('"'):
            while not _closes(rest) and index < len(lines):
                rest += "\n" + lines[index]
                index += 1
            value = _double_quoted(rest, where, number)
            value = interpolate(value)
        elif rest.startswith("'"):
            end = rest.find("'", 1)
            if end < 0:
                raise InterpolationError(f"{where}:{number}: a ' without its closing '")
            value = rest[1:end]
        else:
            value = re.split(r"\s#", rest, maxsplit=1)[0].strip()
            value = interpolate(value)
        found[key] = value
    return found


def _closes(text: str) -> bool:
    pos = 1
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == '"':
            return True
        pos += 1
    return False


def _double_quoted(text: str, where: str, number: int) -> str:
    out: list[str] = []
    pos = 1
    while pos < len(text):
        ch = text[pos]
        if ch == '"':
            return "".join(out)
        if ch == "\\" and pos + 1 < len(text):
            nxt = text[pos + 1]
            out.append(_DOUBLE_ESCAPES.get(nxt, "\\" + nxt))
            pos += 2
            continue
        out.append(ch)
        pos += 1
    raise InterpolationError(f'{where}:{number}: a " without its closing "')
