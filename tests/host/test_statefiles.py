"""Writing several state files at once (a generation): each new, private, whole."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from orchestrator.host import statefiles


def test_files_created_together_are_new_private_and_whole(tmp_path: Path) -> None:
    files = {str(tmp_path / f"f{i}"): f"content {i}\n".encode() * (i + 1) for i in range(40)}
    statefiles.create_all(files)
    for path, data in files.items():
        assert Path(path).read_bytes() == data
        assert stat.S_IMODE(Path(path).stat().st_mode) == statefiles.PRIVATE_FILE


def test_creating_together_never_writes_through_an_existing_file_or_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "link").symlink_to(victim)
    with pytest.raises(FileExistsError):
        statefiles.create_all({str(tmp_path / "new"): b"x", str(tmp_path / "link"): b"evil"})
    assert victim.read_bytes() == b"keep"
