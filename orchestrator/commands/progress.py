"""Live progress on a terminal while apply waits: one line per image or unit saying what it is
doing now, redrawn in place, erased at the end so that the final report reads as without it.

A dozen lines of ANSI (cursor up, erase line) rather than a library: importing rich costs more
start-up than this whole display, and the display needs nothing else."""

from __future__ import annotations

from typing import TextIO

from orchestrator.errors import safe

UP, ERASE_LINE, ERASE_BELOW = "\x1b[{n}F", "\x1b[2K", "\x1b[J"
SPINNER = "|/-\\"


class Live:
    """The block of live lines at the bottom of the terminal; messages print above it."""

    def __init__(self, terminal: TextIO, *, width: int = 0) -> None:
        self.terminal = terminal
        self.lines: dict[str, str] = {}  # unit or image -> what it is doing, in first-seen order
        self.drawn = 0  # lines of the block on the screen now
        self.ticks = 0
        self.width = width

    def say(self, line: str) -> None:
        self._erase()
        self.terminal.write(safe(line) + "\n")
        self._draw()

    def update(self, what: str, doing: str) -> None:
        if self.lines.get(what) == doing and self.drawn:
            self.ticks += 1
            if self.ticks % 5:  # the spinner turns every fifth unchanged report (~0.5 s)
                return
        self.lines[what] = doing
        self._erase()
        self._draw()

    def close(self) -> None:
        """Erase the block: what comes next (the report) says how each one ended."""
        self._erase()
        self.lines.clear()

    def _erase(self) -> None:
        if self.drawn:
            self.terminal.write(UP.format(n=self.drawn) + ERASE_BELOW)
            self.drawn = 0

    def _draw(self) -> None:
        if not self.lines:
            self.terminal.flush()
            return
        spinner = SPINNER[(self.ticks // 5) % len(SPINNER)]
        wide = max(len(safe(w)) for w in self.lines)
        for what, doing in self.lines.items():
            busy = doing not in _ENDED and not doing.startswith(_ENDED_PREFIXES)
            line = f"  {spinner if busy else ' '} {safe(what).ljust(wide)}  {safe(doing)}"
            if self.width:
                line = line[: self.width - 1]
            self.terminal.write(ERASE_LINE + line + "\n")
        self.drawn = len(self.lines)
        self.terminal.flush()


_ENDED = ("pulled", "pull failed", "failed", "not loaded")
_ENDED_PREFIXES = ("active (", "inactive (")
