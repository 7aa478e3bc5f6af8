"""Reading a unit's journal through journalctl (the one subprocess helper runs it)."""

from __future__ import annotations

from orchestrator import run as runner


def argv(unit: str, *, user: bool, lines: int | None = None, follow: bool = False) -> list[str]:
    command = ["journalctl", "--no-pager", "--user-unit" if user else "--unit", unit]
    if lines is not None:
        command += ["--lines", str(lines)]
    if follow:
        command.append("--follow")
    return command


def tail(unit: str, *, user: bool, lines: int = 20) -> str:
    result = runner.run([*argv(unit, user=user, lines=lines), "-o", "short-iso"], check=False)
    return result.stdout.strip()
