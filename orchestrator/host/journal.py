"""Reading a unit's journal through journalctl (the one subprocess helper runs it)."""

from __future__ import annotations

import contextlib

from orchestrator.host import runner
from orchestrator.host.runner import CommandError


def argv(unit: str, *, user: bool, lines: int | None = None, follow: bool = False) -> list[str]:
    command = ["journalctl", "--no-pager", "--user-unit" if user else "--unit", unit]
    if lines is not None:
        command += ["--lines", str(lines)]
    if follow:
        command.append("--follow")
    return command


def tail(unit: str, *, user: bool, lines: int = 20) -> str:
    """The last lines of a unit's journal, right after it failed: journald is asked to take in
    what is queued first, so a container's last words are there (harmless when unprivileged)."""
    with contextlib.suppress(CommandError):
        runner.run(["journalctl", "--sync"], check=False, timeout=5)
    result = runner.run([*argv(unit, user=user, lines=lines), "-o", "short-iso"], check=False)
    return result.stdout.strip()
