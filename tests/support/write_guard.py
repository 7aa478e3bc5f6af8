"""A unit test must not change the host: no writes under /etc, /var/lib/orchestrator or the home
directory of the user running the tests (tests run as root, so nothing else would stop them).

An audit hook (PEP 578) sees every open for writing, rename, mkdir, unlink, chmod, ... that this
interpreter makes, whichever module makes it, before it happens. While the guard is on, such an
operation on a forbidden path raises ForbiddenWrite instead and is recorded; tests/conftest.py
turns the guard on around every test not marked `integration` and fails a test with a record even
when the code under test swallowed the exception. Processes a test starts are not watched.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# event -> positions of the paths it writes to, and of the dir_fd they may be relative to
_PATHS: dict[str, tuple[tuple[int, int | None], ...]] = {
    "open": ((0, None),),  # only when its flags or mode write, see _writes
    "os.rename": ((0, 2), (1, 3)),  # also os.replace
    "os.mkdir": ((0, 2),),
    "os.remove": ((0, 1),),  # also os.unlink
    "os.rmdir": ((0, 1),),
    "os.chmod": ((0, 2),),
    "os.chown": ((0, 3),),
    "os.utime": ((0, 3),),
    "os.truncate": ((0, None),),
    "os.symlink": ((1, 2),),
    "os.link": ((1, 3),),
    "os.setxattr": ((0, None),),
    "os.removexattr": ((0, None),),
    "shutil.rmtree": ((0, 1),),
    "shutil.copyfile": ((1, None),),
    "shutil.move": ((0, None), (1, None)),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class ForbiddenWrite(AssertionError):
    """Raised, by the guard, in place of an operation that would have changed the host."""


def _real(path: str | Path) -> str:
    return os.path.realpath(os.path.expanduser(path))


def _forbidden_roots() -> tuple[str, ...]:
    homes = {_real(pwd.getpwuid(os.getuid()).pw_dir), _real("~")} - {"/"}  # HOME=/ in containers
    return tuple(sorted({_real("/etc"), _real("/var/lib/orchestrator"), *homes}))


class _Guard:
    def __init__(self) -> None:
        self.forbidden = _forbidden_roots()
        # a checkout or temporary directory inside the home directory is the tests' own ground
        self.allowed = (_real(ROOT), _real(tempfile.gettempdir()))
        self.depth = 0
        self.violations: list[str] = []
        self._busy = threading.local()

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        positions = _PATHS.get(event)
        if positions is None or self.depth == 0 or getattr(self._busy, "on", False):
            return
        if event == "open" and not _writes(args):
            return
        self._busy.on = True  # resolving a path must not consult the hook again
        try:
            targets = [_resolve(args, at, dir_fd) for at, dir_fd in positions]
            hits = [t for t in targets if t is not None and self._is_forbidden(t)]
        finally:
            self._busy.on = False
        if hits:
            message = f"a unit test changes the host: {event} {hits[0]}"
            self.violations.append(message)
            raise ForbiddenWrite(message)

    def _is_forbidden(self, path: str) -> bool:
        def under(roots: tuple[str, ...]) -> bool:
            return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)

        return under(self.forbidden) and not under(self.allowed)


def _writes(args: tuple[object, ...]) -> bool:
    _, mode, flags = args
    if isinstance(flags, int):
        return bool(flags & _WRITE_FLAGS)
    return isinstance(mode, str) and any(c in mode for c in "wax+")


def _resolve(args: tuple[object, ...], at: int, dir_fd_at: int | None) -> str | None:
    """The real path an event's argument names, or None for a file descriptor."""
    path = args[at]
    if not isinstance(path, str | bytes | os.PathLike):
        return None
    text = os.fsdecode(path)
    dir_fd = args[dir_fd_at] if dir_fd_at is not None else None
    if not os.path.isabs(text) and isinstance(dir_fd, int) and dir_fd >= 0:
        text = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), text)
    return os.path.realpath(text)


_guard = _Guard()
_installed = False


def install() -> None:
    """Add the audit hook (once: an audit hook cannot be removed); the guard starts off."""
    global _installed
    if not _installed:
        sys.addaudithook(_guard.hook)
        _installed = True


@contextlib.contextmanager
def on() -> Iterator[None]:
    _guard.depth += 1
    try:
        yield
    finally:
        _guard.depth -= 1


@contextlib.contextmanager
def off() -> Iterator[None]:
    depth, _guard.depth = _guard.depth, 0
    try:
        yield
    finally:
        _guard.depth = depth


def take_violations() -> list[str]:
    """What the guard refused since the last call, and forget it."""
    found, _guard.violations = _guard.violations, []
    return found


def is_on() -> bool:
    return _guard.depth > 0
