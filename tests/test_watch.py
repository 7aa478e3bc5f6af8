"""Which changes make `orchestrator watch` apply (pure path logic, on a real directory tree)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
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


def test_any_change_in_a_build_context_below_a_watched_directory_counts(tmp_path: Path) -> None:
    root = tmp_path / "defs"
    (root / "site").mkdir(parents=True)
    contexts: tuple[str, ...] = ()
    wanted = _definition_filter([str(root)], lambda: contexts)
    assert not wanted(Change.modified, str(root / "site" / "index.html"))
    contexts = (str(root / "site"),)  # as the watcher learns them from the definitions
    assert wanted(Change.modified, str(root / "site" / "index.html"))
    assert wanted(Change.modified, str(root / "site" / ".containerignore"))
    assert not wanted(Change.modified, str(root / "other" / "index.html"))


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


class _Seconds(threading.Event):
    """A stop event whose waits take no time: the watcher's every-second loop runs at once;
    at_wait[n] runs at the n-th wait, and the event is set after `waits` of them."""

    def __init__(self, waits: int, at_wait: dict[int, Callable[[], object]]) -> None:
        super().__init__()
        self.waits, self.at_wait, self.count = waits, at_wait, 0

    def wait(self, timeout: float | None = None) -> bool:
        self.count += 1
        self.at_wait.get(self.count, lambda: None)()
        if self.count >= self.waits:
            self.set()
        return self.is_set()


def test_a_tree_inotify_cannot_watch_is_read_every_second_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import watchfiles

    from orchestrator import watch
    from orchestrator.core.target import Target

    def unwatchable(*args: object, **kwargs: object) -> Iterator[set[tuple[Change, str]]]:
        raise PermissionError(13, "Permission denied")
        yield set()

    applied: list[object] = []
    monkeypatch.setattr(watchfiles, "watch", unwatchable)
    done = SimpleNamespace(ok=True, outcomes=[], unsettled=[])
    monkeypatch.setattr(watch, "apply", lambda *a, **k: applied.append(a) or done)
    definition = tmp_path / "web.toml"
    definition.write_text('[container.web]\nimage = "docker.io/library/busybox:1"\n')
    edit = lambda: definition.write_text(definition.read_text() + 'description = "edited"\n')  # noqa: E731
    lines: list[str] = []
    options: Any = SimpleNamespace()  # apply is replaced, and only apply reads them
    where = Target("system", (str(tmp_path),), unit_dir="u", state_dir="s")
    watcher = watch.Watcher(where, options, log=lines.append)

    watcher.run(_Seconds(waits=5, at_wait={1: edit}))

    assert len(applied) == 2, lines
    assert "changed, unseen by the watch" in lines[-2]
    assert sum("cannot watch the definitions" in line for line in lines) == 1, lines


def test_a_key_newer_than_the_installed_podman_is_refused_and_nothing_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator import watch
    from orchestrator.core.target import Target

    applied: list[object] = []
    monkeypatch.setattr(watch.facts, "podman_version", lambda: (4, 3))
    monkeypatch.setattr(watch, "apply", lambda *a, **k: applied.append(a))
    (tmp_path / "web.toml").write_text(
        '[container.web]\nimage = "docker.io/library/busybox:1"\n'
        '[container.web.health]\ncommand = "true"\nstartup_command = "true"\n'
    )
    options: Any = SimpleNamespace()
    where = Target("system", (str(tmp_path),), unit_dir="u", state_dir="s")
    lines: list[str] = []

    assert not watch.Watcher(where, options, log=lines.append).apply_once("start")

    assert not applied
    assert "container.web.health.startup_command" in lines[0]
    assert "needs podman 4.4 or later" in lines[0]


def test_an_edit_saved_while_units_settle_tells_the_running_apply_to_stop_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator import watch
    from orchestrator.apply import Options
    from orchestrator.core.target import Target

    definition = tmp_path / "web.toml"
    definition.write_text('[container.web]\nimage = "docker.io/library/busybox:1"\n')
    asked: list[bool] = []

    def apply_that_settles(units: object, options: Options, **_: object) -> object:
        asked.append(options.superseded())
        definition.write_text(definition.read_text() + 'description = "saved meanwhile"\n')
        asked.append(options.superseded())
        return SimpleNamespace(ok=True, outcomes=[], unsettled=["web.service"])

    monkeypatch.setattr(watch.facts, "podman_version", lambda: (4, 3))
    monkeypatch.setattr(watch, "apply", apply_that_settles)
    where = Target("system", (str(tmp_path),), unit_dir="u", state_dir="s")
    lines: list[str] = []

    assert watch.Watcher(where, Options(target=where), log=lines.append).apply_once("start")

    assert asked == [False, True]
    assert "left settling for the next apply: web.service" in lines[0]
