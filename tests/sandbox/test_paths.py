"""Which of orchestrator's own directories a sandbox must carry in (pure path logic)."""

from __future__ import annotations

import sys

import pytest

from orchestrator.sandbox import machine as sandbox


def test_only_what_lives_under_replaced_directories_is_carried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "prefix", "/usr")
    monkeypatch.setattr(sandbox.os.path, "realpath", lambda p, **_: p)
    assert all(not p.startswith("/usr") for p in sandbox.carried_paths())
    monkeypatch.setattr(sys, "prefix", "/var/tmp/clone/.venv")
    carried = sandbox.carried_paths()
    assert "/var/tmp/clone/.venv" in carried or any(
        "/var/tmp/clone/.venv".startswith(p + "/") for p in carried
    )
    monkeypatch.setattr(sys, "prefix", "/tmpfoo/venv")  # not below /tmp
    assert "/tmpfoo/venv" not in sandbox.carried_paths()


def test_a_sandbox_refuses_to_hide_what_it_replaces_and_bad_users(
    tmp_path: pytest.TempPathFactory,
) -> None:
    box = sandbox.Sandbox("paths", "/var/lib/orchestrator-sandboxes-unit")
    with pytest.raises(sandbox.UsageError):
        box.hide("/tmp")
    with pytest.raises(sandbox.UsageError):
        box.add_user("bad:name", 1500)
    with pytest.raises(sandbox.UsageError):
        box.add_user("tester", 0)
    assert not box.root.exists(), "nothing was written"
