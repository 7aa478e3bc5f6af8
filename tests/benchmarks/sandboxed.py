"""What the sandbox benchmarks share: one sandbox per run, torn down however the run ends."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from types import FrameType

from orchestrator.errors import OrchestratorError
from orchestrator.sandbox.machine import ROOT_ENV, Sandbox

ROOT = "/var/lib/orchestrator-sandboxes-bench"


class BenchError(Exception):
    """A measurement that did not go as it must (an apply that failed, a count that is off)."""


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(program: str, name: str, keep: bool, work: Callable[[Sandbox], None]) -> int:
    """work(sandbox) in a sandbox of this name; exit status 0, 1 (failed) or 130 (interrupted).
    The sandbox is destroyed afterwards unless keep, also on Ctrl-C and SIGTERM."""
    if os.geteuid() != 0:
        print(f"{program}: needs root (it boots a sandbox)", file=sys.stderr)
        return 1
    box = Sandbox(name, ROOT)
    if box.pid is not None:
        print(f"{program}: sandbox {name} is already running (PID {box.pid}); another run? "
              f"Stop it with: {ROOT_ENV}={ROOT} orchestrator sandbox down {name}",
              file=sys.stderr)  # fmt: skip
        return 1
    status = 1
    with _sigterm_as_exit():
        try:
            if box.exists:  # left by a run that was killed: ours by name and root
                box.destroy()
            work(box)
            status = 0
        except (BenchError, OrchestratorError) as exc:
            print(f"{program}: FAILED: {exc}", file=sys.stderr)
        except KeyboardInterrupt:
            print(f"{program}: interrupted", file=sys.stderr)
            status = 130
        finally:
            if keep and box.pid is not None:
                print(f"sandbox {name} kept: {ROOT_ENV}={ROOT} orchestrator sandbox exec {name} "
                      f"-- CMD...; remove it with: {ROOT_ENV}={ROOT} orchestrator sandbox down "
                      f"{name}", file=sys.stderr)  # fmt: skip
            else:
                _teardown(box)
    return status


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C does, so that the sandbox is torn down."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _teardown(box: Sandbox) -> None:
    """Destroy the sandbox; a second Ctrl-C or a SIGTERM cannot cut it short (destroy is bounded:
    poweroff, then SIGKILL after its timeout)."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"tearing down sandbox {box.name} ...", file=sys.stderr, flush=True)
        start = time.monotonic()
        box.destroy()
        with contextlib.suppress(OSError):  # not empty (another sandbox there) or already gone
            os.rmdir(ROOT)
        print(f"  torn down in {time.monotonic() - start:.2f} s", file=sys.stderr, flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
