"""The apply lock: a private regular file of ours, never opened through something planted."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from orchestrator.errors import OrchestratorError
from orchestrator.host import lock
from tests.support.disk import planted, umask


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_state_directory_and_the_lock_are_private_whatever_the_umask(tmp_path: Path) -> None:
    state = tmp_path / "parent" / "state"
    with umask(0), lock.exclusive(str(state)):
        pass
    assert _mode(tmp_path / "parent") == 0o700 and _mode(state) == 0o700
    assert _mode(state / "apply.lock") == 0o600


def test_a_lock_left_open_to_others_by_an_older_version_is_made_private(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    (tmp_path / "apply.lock").write_text("1\n")
    (tmp_path / "apply.lock").chmod(0o755)
    with lock.exclusive(str(tmp_path)):
        pass
    assert _mode(tmp_path) == 0o700 and _mode(tmp_path / "apply.lock") == 0o600


def test_a_symlink_planted_as_the_lock_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim, state = planted(tmp_path)
    (state / "apply.lock").symlink_to(victim)
    with pytest.raises(OrchestratorError, match="symbolic link"), lock.exclusive(str(state)):
        pass
    assert victim.read_text() == "precious\n" and _mode(victim) == 0o644


def test_a_hard_link_planted_as_the_lock_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    victim, state = planted(tmp_path)
    os.link(victim, state / "apply.lock")
    with pytest.raises(OrchestratorError, match="hard links"), lock.exclusive(str(state)):
        pass
    assert victim.read_text() == "precious\n"


def test_a_fifo_planted_as_the_lock_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "apply.lock")
    with (
        pytest.raises(OrchestratorError, match="not a regular file"),
        lock.exclusive(str(tmp_path)),
    ):
        pass


def test_a_lock_file_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file away")
    (tmp_path / "apply.lock").write_text("")
    os.chown(tmp_path / "apply.lock", 65534, 65534)
    with (
        pytest.raises(OrchestratorError, match="belongs to uid 65534"),
        lock.exclusive(str(tmp_path)),
    ):
        pass


def test_a_second_apply_is_told_the_pid_of_the_first(tmp_path: Path) -> None:
    busy = pytest.raises(lock.BusyError, match=f"PID {os.getpid()}")
    with lock.exclusive(str(tmp_path)), busy, lock.exclusive(str(tmp_path)):
        pass
