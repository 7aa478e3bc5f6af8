"""One apply at a time (and one pull): an exclusive flock on STATE/apply.lock (pull.lock),
released by the kernel when the holder exits, however it exits, so a killed apply never leaves a
stale lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from orchestrator.errors import OrchestratorError
from orchestrator.host import statefiles


class BusyError(OrchestratorError):
    pass


@contextlib.contextmanager
def exclusive(state_dir: str, what: str = "apply") -> Iterator[None]:
    """Held while the block runs; STATE/WHAT.lock, so that a pull (pull.lock) can hold its own
    lock around the applies it makes (apply.lock)."""
    try:
        statefiles.private_dir(state_dir)
        fd = statefiles.open_lock(os.path.join(state_dir, f"{what}.lock"))
    except OSError as exc:
        raise OrchestratorError(f"cannot open the lock in {state_dir}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise BusyError(
                f"another {what} is running (PID {holder}); wait for it to finish and try again"
            ) from None
        # truncated only once held: the holder's PID is what a waiting apply reads
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
