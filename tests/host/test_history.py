"""Generations on disk: numbering, pruning, where a rollback goes, privacy, durability and the
checks that keep a damaged generation from being applied (no systemd involved)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from orchestrator.host import history
from tests.support.disk import record_fsyncs, umask


def unit(version: str, name: str = "a") -> str:
    """A unit file as render writes it, in short: our mark under its own name."""
    mark = f"[X-Orchestrator]\nKind=container\nName={name}\n"
    return f"[Service]\nExecStart=/bin/true {version}\n\n{mark}"


def test_generations_are_numbered_pruned_and_rollback_skips_failures(tmp_path: Path) -> None:
    state = str(tmp_path)
    for i in range(history.KEEP + 3):
        history.record(state, {"a.service": unit(f"v{i}")}, [], "ok")
    found = history.generations(state)
    assert len(found) == history.KEEP and found[0].number == 4 and found[-1].number == 53
    history.record(state, {"a.service": unit("broken")}, [], "failed")
    history.record(state, {"a.service": unit("v52")}, [], "ok", "rollback to 53")
    target = history.rollback_target(state)  # newest ok, older, different: not 54 (failed)
    assert target is not None and target.number == 52
    (tmp_path / "generations" / "55" / "meta.json").write_text("{")  # damaged
    assert history.record(state, {"a.service": unit("next")}, [], "ok") == 56


def test_generations_are_private_whatever_the_umask(tmp_path: Path) -> None:
    definitions = tmp_path / "defs" / "team"
    definitions.mkdir(parents=True)
    (definitions / "a.toml").write_text('[container.a]\nenvironment = { TOKEN = "secret" }\n')
    state = tmp_path / "state"
    with umask(0):
        history.record(str(state), {"a.service": unit("v1")}, [str(definitions / "a.toml")], "ok")
        history.mark_result(str(state), 1, "failed")
    modes = {
        str(path.relative_to(state)): stat.S_IMODE(path.lstat().st_mode)
        for path in [state, *state.rglob("*")]
    }
    assert modes["generations/1/definitions/a.toml"] == 0o600  # the copy of the secret
    assert all(mode == (0o700 if (state / p).is_dir() else 0o600) for p, mode in modes.items())


def test_a_state_directory_open_to_others_is_made_private(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    history.record(str(tmp_path), {"a.service": unit("v1")}, [], "ok")
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700


def test_every_file_and_directory_of_a_generation_is_fsynced_before_and_after_its_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.toml").write_text("[container.a]\n")
    synced = record_fsyncs(monkeypatch)
    state = tmp_path / "state"
    history.record(str(state), {"a.service": unit("v1")}, [str(tmp_path / "a.toml")], "ok")
    work = str(state / "generations" / ".new-1")
    for part in ("units/a.service", "definitions/a.toml", "meta.json", "units", "definitions"):
        assert f"{work}/{part}" in synced
    assert synced[-2:] == [work, str(state / "generations")]  # the rename made durable last


def _damaged(tmp_path: Path, damage: str) -> str:
    state = str(tmp_path)
    history.record(state, {"a.service": unit("v1"), "b.service": unit("v1", "b")}, [], "ok")
    history.record(state, {"a.service": unit("v2")}, [], "ok")
    units = tmp_path / "generations" / "1" / "units"
    if damage == "emptied":  # what a power cut leaves of a file that was never fsynced
        (units / "a.service").write_text("")
    elif damage == "edited":
        (units / "a.service").write_text(unit("v1") + "ExecStartPre=/bin/evil\n")
    elif damage == "missing":
        (units / "b.service").unlink()
    elif damage == "added":
        (units / "c.service").write_text(unit("v1", "c"))
    elif damage == "symlinked":
        (units / "a.service").unlink()
        (units / "a.service").symlink_to(tmp_path / "generations" / "2" / "units" / "a.service")
    return state


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("emptied", "a.service is not a unit file orchestrator wrote"),
        ("edited", "a.service does not match its recorded checksum"),
        ("missing", "b.service is missing"),
        ("added", "c.service is not in its record"),
        ("symlinked", "generation 1 cannot be read"),
    ],
)
def test_a_damaged_generation_is_not_rolled_back_to(
    tmp_path: Path, damage: str, message: str
) -> None:
    state = _damaged(tmp_path, damage)
    with pytest.raises(history.DamagedGenerationError, match=message):
        history.units_of(state, 1)
    assert history.rollback_target(state) is None  # passed over, not chosen


def test_a_generation_recorded_before_checksums_is_checked_by_its_mark(tmp_path: Path) -> None:
    state = str(tmp_path)
    history.record(state, {"a.service": unit("v1")}, [], "ok")
    meta_path = tmp_path / "generations" / "1" / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["checksums"]
    meta_path.write_text(json.dumps(meta))
    assert history.units_of(state, 1) == {"a.service": unit("v1")}
    (tmp_path / "generations" / "1" / "units" / "a.service").write_text("[Service]\n")
    with pytest.raises(history.DamagedGenerationError, match="not a unit file orchestrator"):
        history.units_of(state, 1)
