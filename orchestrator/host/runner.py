"""The one place that starts processes. Every command is logged under --debug, and a failure
becomes a CommandError that says what ran, how it ended and the end of what it printed."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from orchestrator.errors import OrchestratorError, safe

log = logging.getLogger("orchestrator")

Completed = subprocess.CompletedProcess[str]  # what run() returns, for callers' annotations


class CommandError(OrchestratorError):
    multiline = True  # the tail of what the command printed; each line escaped on its own

    def __init__(self, argv: Sequence[str], code: int | None, output: str) -> None:
        self.argv, self.code, self.output = list(argv), code, output
        ended = "timed out" if code is None else f"exited with {code}"
        tail = "\n".join(safe(line) for line in output.strip().splitlines()[-15:])
        super().__init__(f"{safe(shlex.join(argv))} {ended}" + (f":\n{tail}" if tail else ""))


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input: str | None = None,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = True,
    interactive: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run argv to completion; text output captured unless capture is False; with interactive,
    standard input is the caller's."""
    log.debug("run: %s", shlex.join(argv))
    try:
        result = subprocess.run(
            list(argv),
            input=input,
            capture_output=capture,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
            stdin=None if input is not None or interactive else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout if isinstance(exc.stdout, str) else ""
        raise CommandError(argv, None, output) from None
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]}: command not found") from None
    if check and result.returncode != 0:
        raise CommandError(argv, result.returncode, (result.stdout or "") + (result.stderr or ""))
    return result


def stream(argv: Sequence[str], on_line: Callable[[str], None]) -> None:
    """Run argv, handing each line it prints (stdout and stderr together) to on_line as it comes;
    CommandError with the tail of the output if it fails."""
    log.debug("run: %s", shlex.join(argv))
    try:
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace",
        )  # fmt: skip
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]}: command not found") from None
    tail: list[str] = []
    assert process.stdout is not None
    with process:
        for line in process.stdout:
            tail = [*tail[-30:], line]
            on_line(line.rstrip("\n"))
    if process.returncode != 0:
        raise CommandError(argv, process.returncode, "".join(tail))


def spawn(
    argv: Sequence[str],
    *,
    output: IO[Any],
    preexec: Callable[[], None] | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start argv in the background, in a session of its own, output to a file."""
    log.debug("spawn: %s", shlex.join(argv))
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        preexec_fn=preexec,
        start_new_session=True,
        env=dict(env) if env is not None else None,
    )
