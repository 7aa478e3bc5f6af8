"""Writing the files a conversion made (import, export) into a directory: all or nothing, and
never over a file that holds something else."""

from __future__ import annotations

import errno
import os
import stat

from orchestrator.errors import ConflictError, UsageError
from orchestrator.host import statefiles


def write_new_files(directory: str, files: dict[str, str]) -> list[str]:
    """Write each name -> text into directory (created); a file there already is left alone when
    it holds that text, and refused (nothing written) when it holds anything else."""
    refuse_link(directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror}") from None
    written, clashes = [], []
    for name, text in files.items():
        path = os.path.join(directory, name)
        try:
            if _existing(path) != text:
                clashes.append(name)
        except FileNotFoundError:
            written.append(name)
        except (OSError, UnicodeDecodeError):
            clashes.append(name)
    if clashes:
        raise ConflictError(
            f"{directory} already holds other files named {', '.join(sorted(clashes))}; "
            "nothing was written (choose another --out, or remove them)"
        )
    try:
        for name in written:
            statefiles.replace(os.path.join(directory, name), files[name].encode(), 0o644,
                               durable=False)  # fmt: skip
    except OSError as exc:
        raise UsageError(f"cannot write into {directory}: {exc.strerror}") from None
    return written


def refuse_link(directory: str) -> None:
    """A --out that is a symbolic link is refused, by every writer alike: import compose's move
    into place would replace the link, and writing through it fills a directory the user did not
    name."""
    if os.path.islink(os.path.normpath(directory)):
        raise UsageError(f"--out {directory}: is a symbolic link; give the directory it points to")


def _existing(path: str) -> str:
    """The text of the regular file at path; anything else there (a FIFO, which would block the
    read, a device, a symbolic link planted to point elsewhere) is an OSError: a clash."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EEXIST, "not a regular file")
        with open(fd, encoding="utf-8", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)
