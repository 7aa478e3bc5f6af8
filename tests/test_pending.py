"""pending.json, the record of what an apply set out to do: private, durable, and never written
or read through a symlink planted in the state directory."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from orchestrator import apply
from orchestrator.core.plan import make_plan
from orchestrator.core.target import Target
from tests.support.disk import planted, record_fsyncs, umask


def _options(state: Path) -> apply.Options:
    target = Target("system", (), unit_dir=str(state / "units"), state_dir=str(state))
    return apply.Options(target)


def test_pending_is_written_private_and_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = record_fsyncs(monkeypatch)
    with umask(0):
        apply._write_pending(_options(tmp_path), make_plan({}, {}, set()))
    assert stat.S_IMODE((tmp_path / "pending.json").stat().st_mode) == 0o600
    assert synced == [str(tmp_path / ".pending.json.tmp"), str(tmp_path)]
    assert apply._read_pending(_options(tmp_path)).reload


def test_a_symlink_planted_as_the_temporary_pending_file_is_not_written_through(
    tmp_path: Path,
) -> None:
    victim, state = planted(tmp_path)
    (state / ".pending.json.tmp").symlink_to(victim)
    apply._write_pending(_options(state), make_plan({}, {}, set()))
    assert victim.read_text() == "precious\n"
    assert not (state / "pending.json").is_symlink()


def test_a_symlinked_pending_file_is_not_believed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"reload": false, "restarts": ["sshd.service"]}')
    (tmp_path / "pending.json").symlink_to(elsewhere)
    pending = apply._read_pending(_options(tmp_path))
    assert pending.reload and not pending.restarts  # unreadable: reload, restart nothing
