"""Safe primitives for the files orchestrator keeps: its state (generations, pending.json, the
apply lock) and the unit files it writes.

The state holds copies of definition files, which may carry environment secrets, so directories
are 0700 and files 0600 whatever the umask. Nothing is created through a path someone planted: a
new file is opened with O_CREAT|O_EXCL|O_NOFOLLOW (a symlink or any existing file in its place
makes the open fail instead of writing through it), and files are read with O_NOFOLLOW, refusing
anything but a regular file. Writes are durable: the file is fsynced before it is renamed into
place and its directory after, so a power cut leaves the old file or the new one, whole.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from orchestrator.errors import OrchestratorError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO or device planted where a file should be must not block the open
_READ = os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW


class StateFileError(OrchestratorError):
    """A state file or directory is not what orchestrator created: not ours, not regular."""


def private_dir(path: str) -> None:
    """Create path and its missing parents 0700; an existing path must be a directory we own,
    and is made 0700 if a group or others may enter it (what older versions created)."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.lexists(current):
        missing.append(current)
        current = os.path.dirname(current)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile: checked below
            os.mkdir(directory, PRIVATE_DIR)
            os.chmod(directory, PRIVATE_DIR)  # the umask may have taken bits away
    info = os.stat(path)  # a symlinked state directory (moved to another disk) is followed
    if not stat.S_ISDIR(info.st_mode):
        raise StateFileError(f"{path} is not a directory")
    if info.st_uid != os.geteuid():
        raise StateFileError(
            f"{path} belongs to uid {info.st_uid}, not to this user ({os.geteuid()}); "
            "orchestrator keeps its state only in a directory of its own"
        )
    if stat.S_IMODE(info.st_mode) != PRIVATE_DIR:
        os.chmod(path, PRIVATE_DIR)


def fsync_dir(path: str) -> None:
    """Make the entries of a directory (a rename, a new file) survive a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create(path: str, data: bytes, mode: int = PRIVATE_FILE, *, durable: bool = True) -> None:
    """Write a new file that must not exist yet (nor a symlink in its place), with exactly mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def create_all(files: dict[str, bytes], mode: int = PRIVATE_FILE) -> None:
    """create() each new file (path -> content), all durable: the files are written first and
    then fsynced together, from several threads, so that the file system commits them in a few
    journal transactions instead of one per file (a generation of 100 units is 200 files)."""
    for path, data in files.items():
        create(path, data, mode, durable=False)
    if files:
        from concurrent.futures import ThreadPoolExecutor  # threads: for apply's generations only

        with ThreadPoolExecutor(max_workers=min(16, len(files))) as pool:
            list(pool.map(_fsync_file, files))


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(path: str, data: bytes, mode: int = PRIVATE_FILE, *, durable: bool = True) -> None:
    """Replace path so that a reader sees the old file or the new one, never a mix.

    The temporary file is .NAME.tmp next to it, created exclusively, so nothing is written
    through; one left by a killed run (or a symlink planted there) is removed, and the creation
    tried again.
    """
    directory, name = os.path.split(path)
    temp = os.path.join(directory, f".{name}.tmp")
    try:
        try:
            create(temp, data, mode, durable=durable)
        except FileExistsError:  # (asked only then: a render of 1000 units saves 1000 calls)
            os.unlink(temp)
            create(temp, data, mode, durable=durable)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if durable:
        fsync_dir(directory or ".")


def read_bytes(path: str) -> bytes:
    """The content of a regular file, never read through a symlink (OSError otherwise)."""
    fd = os.open(path, _READ)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def open_lock(path: str) -> int:
    """Open (creating it 0600) a lock file without truncating or following anything: refused
    unless it is a regular file we own with a single link, so a symlink or hard link planted in
    its place (to /etc/shadow, say) is never written to."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | _NOFOLLOW, PRIVATE_FILE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateFileError(f"{path} is a symbolic link; remove it") from None
        raise
    info = os.fstat(fd)
    problem = ""
    if not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file"
    elif info.st_uid != os.geteuid():
        problem = f"belongs to uid {info.st_uid}"
    elif info.st_nlink != 1:
        problem = "has other hard links"
    if problem:
        os.close(fd)
        raise StateFileError(f"{path} {problem}: not the lock orchestrator made; remove it")
    if stat.S_IMODE(info.st_mode) != PRIVATE_FILE:
        os.fchmod(fd, PRIVATE_FILE)
    return fd
