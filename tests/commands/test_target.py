"""One Target per command: the mode, its directories and the host's cgroup layout, decided once."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from orchestrator.commands.common import apply_options, target
from orchestrator.core.target import Target
from orchestrator.host import facts


def test_system_mode_acts_on_the_system_directories() -> None:
    where = target(argparse.Namespace(user=False))
    assert where == Target(
        mode="system",
        definitions=("/etc/orchestrator",),
        unit_dir="/etc/systemd/system",
        state_dir="/var/lib/orchestrator",
        cgroups_v1=facts.cgroups_v1(),
    )


def test_user_mode_follows_xdg_and_paths_given_replace_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    where = target(argparse.Namespace(user=True))
    assert where.mode == "user" and where.user
    assert where.definitions == (str(tmp_path / "config" / "orchestrator"),)
    assert where.unit_dir == str(tmp_path / "config" / "systemd" / "user")
    assert where.state_dir == str(tmp_path / "state" / "orchestrator")
    assert target(argparse.Namespace(user=True), ["a.toml", "b"]).definitions == ("a.toml", "b")


def test_hidden_directory_flags_override_the_defaults() -> None:
    args = argparse.Namespace(user=False, unit_dir="/tmp/u", state_dir="/tmp/s", timeout=7.0)
    where = target(args)
    assert (where.unit_dir, where.state_dir) == ("/tmp/u", "/tmp/s")
    assert apply_options(where, args).timeout == 7.0


def test_progress_goes_to_stderr_when_stdout_carries_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = argparse.Namespace(user=False, json=True, timeout=1.0)
    options = apply_options(target(args), args)
    options.say("pulling")
    assert capsys.readouterr() == ("", "pulling\n")
    assert options.quiet_pull
    quiet = apply_options(target(args), argparse.Namespace(timeout=1.0), progress=False)
    quiet.say("nothing")
    assert capsys.readouterr() == ("", "") and quiet.quiet_pull
