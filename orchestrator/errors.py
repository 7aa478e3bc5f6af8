"""The one error hierarchy. Every error meant for a person derives from OrchestratorError and is
turned into a message and an exit code by the single handler in cli.main()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))
# The escapes TOML, JSON and Python share; any other character gets \uXXXX or \UXXXXXXXX.
_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def safe(text: str, *, multiline: bool = False) -> str:
    """text with every character a terminal could act on written as an escape.

    "Printable" is Python's str.isprintable(): it refuses the C0 and C1 controls, DEL, the Unicode
    format characters (bidi overrides and isolates, zero-width and invisible characters, tags),
    line and paragraph separators, surrogates (undecodable bytes of a file name), private-use,
    unassigned code points and every space but the ASCII one. With multiline, newlines and tabs
    stay as they are, for output meant to span lines (a command's output, a diff). Printable text
    is returned as it is, so safe() of safe() is safe(); backslashes are left alone, so a value
    already quoted (values.quoted) reads the same.
    """
    if text.isascii():  # nearly all output (a plan's diffs of a thousand units): checked in C
        keep = _PRINTABLE_ASCII + (b"\n\t" if multiline else b"")
        if not text.encode("ascii").translate(None, keep):
            return text
    elif text.isprintable():
        return text
    if multiline:
        return "\n".join(_escape_line(line, keep_tabs=True) for line in text.split("\n"))
    return _escape_line(text, keep_tabs=False)


def _escape_line(line: str, *, keep_tabs: bool) -> str:
    if line.isprintable():
        return line
    return "".join(
        ch if ch.isprintable() or (keep_tabs and ch == "\t") else _escape(ch) for ch in line
    )


def _escape(ch: str) -> str:
    code = ord(ch)
    return _SHORT_ESCAPES.get(ch) or (f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the definitions: where it is and what is wrong."""

    file: str
    path: str = ""  # TOML key path, e.g. container.web.ports[1]
    message: str = ""
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = safe(self.file)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.path:
            return f"{where}: {safe(self.path)}: {safe(self.message)}"
        return f"{where}: {safe(self.message)}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "path": self.path,
            "message": self.message,
            "line": self.line,
            "column": self.column,
        }


class OrchestratorError(Exception):
    """Base of every error a user may see. exit_code is what the process exits with."""

    exit_code = 1
    # Whether the message may span lines (a command's output, say); every other control is
    # escaped wherever the message is shown, since it may quote a file name or a value.
    multiline: ClassVar[bool] = False

    def __str__(self) -> str:
        return safe(super().__str__(), multiline=self.multiline)

    def lines(self) -> list[str]:
        return [f"error: {self}"]


class DefinitionError(OrchestratorError):
    """The definitions are invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the definitions")

    def lines(self) -> list[str]:
        n = len(self.problems)
        return [f"error: {p}" for p in self.problems] + [
            f"{n} error{'s' if n != 1 else ''}; nothing was changed."
        ]


class UsageError(OrchestratorError):
    """The command line or the environment is not what the command needs."""


class ConflictError(OrchestratorError):
    """A unit file we would write exists and is not ours."""


class QuotingError(OrchestratorError, ValueError):
    """A value cannot be written into a unit file (a control character, for instance)."""
