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


@pytest.mark.parametrize("planted", ["leftover", "link"])
def test_replacing_takes_the_place_of_a_temporary_file_left_or_planted_never_writing_through(
    tmp_path: Path, planted: str
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    temp = tmp_path / ".web.service.tmp"
    if planted == "link":
        temp.symlink_to(victim)
    else:
        temp.write_bytes(b"half a unit from a killed run")
    statefiles.replace(str(tmp_path / "web.service"), b"[Unit]\n", 0o644, durable=False)
    assert (tmp_path / "web.service").read_bytes() == b"[Unit]\n"
    assert stat.S_IMODE((tmp_path / "web.service").stat().st_mode) == 0o644
    assert not temp.exists() and not temp.is_symlink()
    assert victim.read_bytes() == b"keep"
