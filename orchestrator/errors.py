"""The one error hierarchy. Every error meant for a person derives from OrchestratorError and is
turned into a message and an exit code by the single handler in cli.main()."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the definitions: where it is and what is wrong."""

    file: str
    path: str = ""  # TOML key path, e.g. container.web.ports[1]
    message: str = ""
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.path:
            return f"{where}: {self.path}: {self.message}"
        return f"{where}: {self.message}"

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
