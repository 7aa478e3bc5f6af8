"""Completion scripts, generated from the parser, loaded by the real shells and asked what they
complete."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import cli
from orchestrator.commands.completion import command_tree
from tests.support.cli import ROOT, run_inline


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three scripts, an `orchestrator` on PATH running this checkout, and a unit directory
    holding the units of examples/web-stack."""
    top = tmp_path_factory.mktemp("completion")
    for shell in ("bash", "zsh", "fish"):
        result = run_inline("completion", shell)
        assert result.returncode == 0, result.stderr
        (top / f"script.{shell}").write_text(result.stdout)
    (top / "bin").mkdir()
    shim = top / "bin" / "orchestrator"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m orchestrator "$@"\n')
    shim.chmod(0o755)
    assert run_inline("render", "examples/web-stack", "--out", str(top / "units")).returncode == 0
    return top


# The tests that run the scripts in bash, zsh and fish are `tools` tests (run after the unit part,
# see scripts/test): each starts a shell, and completing names starts `orchestrator` itself.
shell = pytest.mark.tools


def bash_complete(scripts: Path, line: str) -> list[str]:
    """What bash offers for line (completing its last word; a trailing space starts a new one)."""
    words = line.split() + ([""] if line.endswith(" ") else [])
    program = (
        f"source {scripts / 'script.bash'}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        "_orchestrator\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    env = {"PATH": f"{scripts / 'bin'}:/usr/bin:/bin", "HOME": str(scripts)}
    result = subprocess.run(
        ["bash", "-c", program], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    assert result.returncode == 0 and not result.stderr, result.stderr
    return [w for w in result.stdout.splitlines() if w]


@shell
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("orchestrator lo", ["logs"]),
        ("orchestrator do", ["doctor"]),
        ("orchestrator graph --format m", ["mermaid"]),
        ("orchestrator graph --fo", ["--format"]),
        ("orchestrator fleet p", ["plan"]),
        ("orchestrator apply --timeout 3 --dr", ["--dry-run"]),
        ("orchestrator completion ", ["bash", "zsh", "fish"]),
        ("orchestrator validate examples/web", ["examples/web-stack"]),
        ("orchestrator install-units --mode p", ["path", "pull"]),
    ],
)
def test_bash_completes_commands_options_choices_and_paths(
    scripts: Path, line: str, expected: list[str]
) -> None:
    assert bash_complete(scripts, line) == expected


@shell
def test_bash_completes_the_managed_service_names(scripts: Path) -> None:
    line = f"orchestrator logs --unit-dir {scripts / 'units'} "
    assert bash_complete(scripts, line) == ["app", "backend", "db", "db-data", "proxy"]
    assert bash_complete(scripts, line + "d") == ["db", "db-data"]


@shell
def test_every_command_of_the_parser_is_completed(scripts: Path) -> None:
    tree = command_tree(cli.build_parser())
    assert sorted(bash_complete(scripts, "orchestrator ")) == sorted(tree.subcommands)
    assert "--json" in bash_complete(scripts, "orchestrator doctor --")


def test_names_and_generations_are_printed_for_the_scripts(scripts: Path) -> None:
    names = run_inline("completion", "--names", "--unit-dir", str(scripts / "units"))
    assert names.stdout.split() == ["app", "backend", "db", "db-data", "proxy"]
    result = run_inline("completion", "--generations", "--user", XDG_STATE_HOME=str(scripts))
    assert result.returncode == 0 and result.stdout.strip() == ""


@shell
@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_runs_the_same_logic_through_bashcompinit(scripts: Path) -> None:
    program = (
        f"autoload -U compinit; compinit -u -d {scripts / 'zcompdump'}\n"
        f"source {scripts / 'script.zsh'}\n"
        'compadd() { print -r -- "${@[-1]}" }; compset() { return 1 }\n'  # what zsh is given
        "words=(orchestrator graph --format m); CURRENT=4; _bash_complete -F _orchestrator\n"
        "words=(orchestrator fleet ''); CURRENT=3; _bash_complete -F _orchestrator\n"
    )
    result = subprocess.run(
        ["zsh", "-f", "-c", program], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert [w for w in result.stdout.splitlines() if w != "-"] == ["svg", "explain"]


@shell
@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_commands_options_and_names(scripts: Path) -> None:
    def fish(line: str) -> list[str]:
        program = f"source {scripts / 'script.fish'}; complete -C {line!r}"
        env = {"PATH": f"{scripts / 'bin'}:/usr/bin:/bin", "HOME": str(scripts)}
        result = subprocess.run(
            ["fish", "-c", program], capture_output=True, text=True, env=env, check=False
        )
        assert result.returncode == 0, result.stderr
        return [line.split("\t")[0] for line in result.stdout.splitlines()]

    assert fish("orchestrator lo") == ["logs"]
    assert fish("orchestrator graph --format ") == ["dot", "mermaid", "svg", "text"]
    assert fish("orchestrator fleet p") == ["plan"]
    assert "plan" not in fish("orchestrator fleet plan ")  # a subcommand's own subcommands only
    assert fish(f"orchestrator logs --unit-dir {scripts / 'units'} d") == ["db", "db-data"]
