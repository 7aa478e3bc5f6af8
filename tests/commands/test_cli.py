"""The command line as a user meets it: help, version, summaries, JSON, exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import ModuleType

import pytest

from orchestrator import cli
from tests.support.cli import run_inline

ROOT = Path(__file__).resolve().parents[2]


run = run_inline


COMMANDS = cli._commands()


@pytest.mark.parametrize("module", COMMANDS, ids=lambda m: m.NAME)
def test_every_subcommand_explains_itself_with_an_example(
    module: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([module.NAME, "--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: orchestrator {module.NAME} ")
    assert module.DESCRIPTION.strip() in shown
    assert module.HELP and callable(module.add_arguments) and callable(module.run)
    examples = module.EPILOG.partition("examples:\n")[2].splitlines()
    assert examples, f"{module.NAME}: its EPILOG has no examples"
    assert any(line.strip().startswith(f"orchestrator {module.NAME}") for line in examples)
    assert module.EPILOG.strip() in shown


def test_the_help_test_covers_every_subcommand_of_the_parser() -> None:
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert sorted(sub.choices) == sorted(m.NAME for m in COMMANDS)


def test_a_run_builds_only_the_parser_of_its_command_and_it_is_the_same() -> None:
    """The full parser is the oracle: each command's own parser must parse and explain alike."""
    full = cli.build_parser()
    (every,) = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    assert list(every.choices) == list(cli.COMMANDS) == [m.NAME for m in COMMANDS]
    for name in cli.COMMANDS:
        alone = cli.build_parser(name)
        (sub,) = [a for a in alone._actions if isinstance(a, argparse._SubParsersAction)]
        assert list(sub.choices) == [name]
        assert sub.choices[name].format_help() == every.choices[name].format_help()
    (named,) = [  # a misspelt command gets them all, to name them
        a
        for a in cli.build_parser("no-such-command")._actions
        if isinstance(a, argparse._SubParsersAction)
    ]
    assert list(named.choices) == list(cli.COMMANDS)


def test_top_level_help_and_version() -> None:
    assert "validate" in run("--help").stdout
    assert run("--version").stdout.startswith("orchestrator ")
    assert run().returncode == 1  # a command is required; usage errors exit 1, not plan's 2


def test_validate_summary_and_json() -> None:
    text = run("validate", "examples/web-stack")
    assert text.returncode == 0
    assert text.stdout.strip() == "ok: 4 file(s), 3 container(s), 1 volume(s), 1 network(s)"
    data = json.loads(run("validate", "examples/web-stack", "--json").stdout)
    assert data["ok"] is True and data["containers"] == 3


def test_several_paths_form_one_state() -> None:
    result = run("validate", "examples/hello", "examples/env-secret")
    assert result.returncode == 0 and "2 container(s)" in result.stdout


def test_defaults_follow_xdg_in_user_mode(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "orchestrator").mkdir(parents=True)
    (config / "orchestrator" / "a.toml").write_text('[container.a]\nimage = "localhost/a:1"\n')
    result = run("plan", "--user", "--json", XDG_CONFIG_HOME=str(config))
    assert result.returncode == 2, result.stderr
    data = json.loads(result.stdout)
    assert data["unit_dir"] == str(config / "systemd" / "user")
    assert [u["unit"] for u in data["units"]] == ["a.service"]


def test_render_writes_units_a_second_time_identically(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("render", "examples/web-stack", "--out", str(out)).returncode == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(first) == [
        "app.service",
        "backend-network.service",
        "db-data-volume.service",
        "db.service",
        "proxy.service",
    ]
    assert run("render", str(ROOT / "examples" / "web-stack"), "--out", str(out)).returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_a_missing_default_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = run("validate", "--user", XDG_CONFIG_HOME=str(tmp_path / "nothing"))
    assert result.returncode == 1
    assert "orchestrator: no such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_readme_shows_the_unit_render_really_writes(tmp_path: Path) -> None:
    assert run("render", "examples/hello", "--out", str(tmp_path)).returncode == 0
    unit = (tmp_path / "hello.service").read_text().replace(str(ROOT), "/path/to")
    readme = (ROOT / "README.md").read_text()
    assert unit.strip() in readme
