"""Helpers for tests of what orchestrator leaves on disk: modes, fsyncs, planted files."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the files and directories fsynced from now on, in order."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def planted(tmp_path: Path) -> tuple[Path, Path]:
    """(a file that must stay untouched, an empty state directory to plant links to it in)."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    state = tmp_path / "state"
    state.mkdir()
    return victim, state
