"""Generations on disk: numbering, pruning, and where a rollback goes (no systemd involved)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.host import history


def test_generations_are_numbered_pruned_and_rollback_skips_failures(tmp_path: Path) -> None:
    state = str(tmp_path)
    for i in range(history.KEEP + 3):
        history.record(state, {"a.service": f"v{i}\n"}, [], "ok")
    found = history.generations(state)
    assert len(found) == history.KEEP and found[0].number == 4 and found[-1].number == 53
    history.record(state, {"a.service": "broken\n"}, [], "failed")
    history.record(state, {"a.service": "v52\n"}, [], "ok", "rollback to 53")
    target = history.rollback_target(state)  # newest ok, older, different: not 54 (failed)
    assert target is not None and target.number == 52
    (tmp_path / "generations" / "55" / "meta.json").write_text("{")  # damaged
    assert history.record(state, {"a.service": "next\n"}, [], "ok") == 56
