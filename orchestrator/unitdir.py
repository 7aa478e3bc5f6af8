"""The unit directory on disk: which unit files are ours, and writing unit files atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile

from orchestrator.errors import ConflictError, UsageError
from orchestrator.unitfile import is_managed

UNIT_SUFFIXES = (".service",)


def read_unit_dir(path: str) -> tuple[dict[str, str], set[str]]:
    """(managed name -> text, names of unit files not ours); a missing directory is empty."""
    managed: dict[str, str] = {}
    foreign: set[str] = set()
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return managed, foreign
    except OSError as exc:
        raise UsageError(f"cannot read unit directory {path}: {exc.strerror}") from None
    for entry in entries:
        if not entry.name.endswith(UNIT_SUFFIXES) or entry.name.startswith("."):
            continue
        text = None
        if entry.is_file() and not entry.is_symlink():
            try:
                with open(entry.path, encoding="utf-8") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError):
                text = None
        if text is not None and is_managed(text):
            managed[entry.name] = text
        else:
            foreign.add(entry.name)
    return managed, foreign


def write_atomic(directory: str, name: str, text: str, *, durable: bool = True) -> None:
    """Write directory/name so that a reader sees the old file or the new one, never a mix."""
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, os.path.join(directory, name))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def write_units(directory: str, units: dict[str, str], *, durable: bool = True) -> None:
    """Write units into directory; refuses, before writing anything, to replace files not ours."""
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror}") from None
    _, foreign = read_unit_dir(directory)
    clashes = sorted(set(units) & foreign)
    if clashes:
        raise ConflictError(
            f"{directory} holds unit files not written by orchestrator: {', '.join(clashes)}; "
            "they are left alone and nothing was written"
        )
    try:
        for name, text in units.items():
            write_atomic(directory, name, text, durable=durable)
    except OSError as exc:
        raise UsageError(f"cannot write into {directory}: {exc.strerror}") from None
