"""Which changes make `orchestrator watch` apply (pure path logic, on a real directory tree)."""

from __future__ import annotations

from pathlib import Path

from watchfiles import Change

from orchestrator.watch import _definition_filter, one_line


def test_changes_under_a_hidden_parent_directory_count(tmp_path: Path) -> None:
    root = tmp_path / ".config" / "orchestrator"  # the user-mode default lives under .config
    (root / "sub").mkdir(parents=True)
    wanted = _definition_filter([str(root)])
    assert wanted(Change.modified, str(root / "web.toml"))
    assert wanted(Change.added, str(root / "sub" / "db.toml"))
    assert not wanted(Change.modified, str(root / ".web.toml.swp"))
    assert not wanted(Change.modified, str(root / ".git" / "x.toml"))
    assert not wanted(Change.modified, str(root / "site" / "index.html"))
    assert wanted(Change.deleted, str(root / "gone-directory")), "a directory moved away"
    assert not wanted(Change.modified, str(tmp_path / "elsewhere.toml"))


def test_a_single_definition_file_is_watched_through_its_directory(tmp_path: Path) -> None:
    hidden = tmp_path / ".deploy"
    hidden.mkdir()
    (hidden / "web.toml").write_text("")
    wanted = _definition_filter([str(hidden / "web.toml")])
    assert wanted(Change.modified, str(hidden / "web.toml"))
    assert not wanted(Change.modified, str(hidden / "other.toml"))


def test_multi_line_messages_become_one_line() -> None:
    assert one_line("podman pull failed:\n  Error: x\n\n  more") == (
        "podman pull failed: | Error: x | more"
    )
