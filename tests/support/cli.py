"""Running the command line from the tests.

run_inline runs it inside the test's own interpreter, which is what unit tests use: a process per
call costs a quarter of a second of start-up, and the bad-input corpus alone has 150 cases.
run_cli starts the real console entry as a user does; it is for the one smoke test of that entry
and for the integration tests, which run commands as root against a sandbox.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestrator import cli

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Result:
    """What a command left behind, named as subprocess.CompletedProcess names it, so that a test
    reads the same whichever way the command ran."""

    returncode: int
    stdout: str
    stderr: str


def run_inline(*args: str, **env: str) -> Result:
    """cli.main(args) in this process, from the repository root, with env added to the
    environment; the working directory, environment and logging are put back afterwards, so that
    no call sees what an earlier one left."""
    out, err = io.StringIO(), io.StringIO()
    code = _run(args, env, out, err)
    return Result(code, out.getvalue(), err.getvalue())


def run_inline_bytes(*args: str) -> tuple[int, bytes, bytes]:
    """run_inline, with the bytes the command's output becomes: its streams encode as a
    process's do under the C locale (UTF-8, and a lone surrogate written back as the byte it
    stands for), so that whatever a command lets through unescaped shows as it would on a
    terminal."""
    raw_out, raw_err = io.BytesIO(), io.BytesIO()
    out, err = (io.TextIOWrapper(raw, "utf-8", "surrogateescape") for raw in (raw_out, raw_err))
    code = _run(args, {}, out, err)
    for stream in (out, err):
        stream.flush()
    return code, raw_out.getvalue(), raw_err.getvalue()


def _run(args: tuple[str, ...], env: dict[str, str], out: typing.TextIO, err: typing.TextIO) -> int:
    with _isolated(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            return cli.main(list(args))
        except SystemExit as exc:  # argparse: --help, --version and usage errors
            return _exit_status(exc, err)


def _exit_status(exc: SystemExit, err: typing.TextIO) -> int:
    """The status the console entry (cli.entry) exits with for this SystemExit."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=err)
    return 2


@contextlib.contextmanager
def _isolated(env: dict[str, str]) -> Iterator[None]:
    cwd, environ = os.getcwd(), os.environ.copy()
    root_logger = logging.getLogger()
    handlers, level = list(root_logger.handlers), root_logger.level
    os.chdir(ROOT)
    os.environ.update(env)
    try:
        yield
    finally:
        os.chdir(cwd)
        _restore(environ)
        # --debug calls logging.basicConfig, which only configures a root logger without handlers:
        # left in place, the first --debug run would decide the logging of every later one.
        for handler in root_logger.handlers[:]:
            if handler not in handlers:
                root_logger.removeHandler(handler)
        root_logger.setLevel(level)


def _restore(environ: dict[str, str]) -> None:
    """os.environ made environ again, touching only the variables that differ: clearing and
    refilling it costs two calls into the C library per variable, and the corpus calls this
    hundreds of times."""
    for name in os.environ.keys() - environ.keys():
        del os.environ[name]
    for name, value in environ.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m orchestrator ARGS` as a whole process, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
