"""The one test that starts the real console entry; every other CLI test runs it in-process.

What only a process shows: `python -m orchestrator` reaches cli.entry, whose exit status is the
command's (entry leaves through os._exit) and whose buffered stdout still reaches a pipe.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli, run_inline


def test_the_console_entry_exits_with_the_commands_status_and_flushes_its_output(
    tmp_path: Path,
) -> None:
    args = ("plan", "examples/hello", "--unit-dir", str(tmp_path))

    result = run_cli(*args, PYTHONUNBUFFERED="")  # buffered, as in a user's shell

    assert result.returncode == 2, result.stderr  # plan: changes pending
    assert "hello.service" in result.stdout
    assert result.stdout == run_inline(*args).stdout, "the whole output, as in-process"
    assert result.stderr == ""
