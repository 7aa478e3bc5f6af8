"""Progress while apply waits: the engine says what each image and unit is doing, a terminal
shows it live and erases it before the report; without a terminal nothing changes."""

from __future__ import annotations

import argparse
import dataclasses
import io
import re
from pathlib import Path

import pytest

from orchestrator.apply import Host, apply
from orchestrator.commands import common
from orchestrator.commands.progress import Live
from orchestrator.core.target import Target
from tests.test_apply import FakeSystemd, World, container

ANSI = re.compile(r"\x1b\[\d*[A-Za-z]")


def test_apply_reports_pulls_starts_settling_and_health_as_it_waits(tmp_path: Path) -> None:
    world = World(tmp_path, FakeSystemd(tmp_path / "units"))
    world.systemd.healthy_after = 3.0
    seen: list[tuple[str, str]] = []
    options = dataclasses.replace(world.options(), progress=lambda w, d: seen.append((w, d)))
    desired = world.units(container("web", 'health = { command = ["true"] }'))
    assert apply(desired, options).ok
    states = [d for w, d in seen if w == "web.service"]
    image = [d for w, d in seen if w != "web.service"]
    assert image == ["pulling", "pulled"]
    assert states[0] == "start queued"
    assert any(d.startswith("running, staying up") for d in states)
    assert "health check: starting" in states
    assert states[-1] == "active (running)"


def shown(terminal: io.StringIO) -> list[str]:
    """What the terminal shows: the lines left after the cursor moves and erasures."""
    screen: list[str] = []
    for piece in re.split(r"(\x1b\[\d*[A-Za-z])", terminal.getvalue()):
        if (up := re.fullmatch(r"\x1b\[(\d+)F", piece)) is not None:
            del screen[len(screen) - int(up.group(1)) :]
        elif piece and not ANSI.fullmatch(piece):
            screen += piece.splitlines()
    return screen


def test_the_live_block_redraws_in_place_and_is_erased_at_the_end() -> None:
    terminal = io.StringIO()
    live = Live(terminal)
    live.update("docker.io/library/nginx:1.27", "Copying blob sha256:ab")
    live.say("starting 2 unit(s)")
    live.update("web.service", "activating (start)")
    live.update("web.service", "health check: starting")
    assert shown(terminal) == [
        "starting 2 unit(s)",
        "  | docker.io/library/nginx:1.27  Copying blob sha256:ab",
        "  | web.service                   health check: starting",
    ]
    live.close()
    assert shown(terminal) == ["starting 2 unit(s)"]


def test_what_the_live_block_shows_cannot_act_on_the_terminal() -> None:
    terminal = io.StringIO()
    Live(terminal).update("evil\x1b]0;pwned\x07.service", "x\x1b[2J")
    assert "\x1b]0" not in terminal.getvalue() and "\x1b[2J" not in terminal.getvalue()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_only_a_terminal_gets_the_live_display(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    where = Target("system", (), str(tmp_path), str(tmp_path))

    def pulls_live(terminal: io.StringIO, **given: object) -> bool:
        monkeypatch.setattr("sys.stdout", terminal)
        args = argparse.Namespace(timeout=5.0, json=given.get("json", False))
        options = common.apply_options(where, args, progress=bool(given.get("progress", True)))
        return options.host.pull is not Host().pull

    assert not pulls_live(io.StringIO())  # a pipe, a file: output as it always was
    assert pulls_live(Terminal())
    assert not pulls_live(Terminal(), json=True)
    assert not pulls_live(Terminal(), progress=False)  # watch
