"""Hostile file names and values reach the terminal escaped, never raw, in any command's output.

The commands run in-process (a raw control or lone surrogate shows in the captured text just as
it would on a terminal); the undecodable-bytes case decodes its path argument as Python decodes a
process's arguments, and reads the output as the bytes a process would write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orchestrator import cli
from tests.support.cli import run_inline, run_inline_bytes

EVIL_NAME = "evil\x1b]0;pwned\x07.toml"  # sets the terminal's title when printed raw
# TOML escapes of: clear the screen (ESC and the 8-bit CSI), and a right-to-left override.
CLEAR, CSI, RLO = "\\u001b[2J", "\\u009b2J", "\\u202e"


def _raw(text: str) -> list[str]:
    return [c for c in text if not c.isprintable() and c not in "\n"]


def _definitions(tmp_path: Path, body: str, name: str = EVIL_NAME) -> Path:
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / name).write_text(body, encoding="utf-8")
    return defs


@pytest.mark.parametrize("value", [CLEAR, CSI, RLO + "80:80"])
def test_validate_escapes_the_file_name_and_the_value(tmp_path: Path, value: str) -> None:
    defs = _definitions(
        tmp_path, f'[container.web]\nimage = "localhost/web:1"\nports = ["{value}"]\n'
    )
    result = run_inline("validate", str(defs))
    assert result.returncode == 1, result.stderr
    assert not _raw(result.stdout + result.stderr), result.stderr
    assert "evil\\u001b]0;pwned\\u0007.toml: container.web.ports[0]" in result.stderr


def test_validate_json_escapes_and_round_trips_the_file_name(tmp_path: Path) -> None:
    defs = _definitions(
        tmp_path, f'[container.web]\nimage = "localhost/web:1"\nports = ["{CLEAR}"]\n'
    )
    result = run_inline("validate", "--json", str(defs))
    assert result.returncode == 1
    assert result.stdout.isascii() and not _raw(result.stdout)
    problems = json.loads(result.stdout)["problems"]
    # the port, and the file's own name (it could not be written into the units' Source=)
    assert {p["path"] for p in problems} == {"container.web.ports[0]", ""}
    assert all(p["file"] == str(defs / EVIL_NAME) for p in problems)


def test_a_syntax_error_in_a_hostile_file_is_shown_escaped(tmp_path: Path) -> None:
    defs = _definitions(tmp_path, "[container.web\n")
    result = run_inline("validate", str(defs))
    assert result.returncode == 1
    assert not _raw(result.stderr)
    assert "evil\\u001b]0;pwned\\u0007.toml:1:" in result.stderr


def test_plan_shows_bidi_controls_of_names_and_values_escaped(tmp_path: Path) -> None:
    defs = _definitions(
        tmp_path,
        f'[container.web]\nimage = "localhost/web:1"\ndescription = "admin {RLO}nimda"\n',
        name="evil\u202elmot.toml",
    )
    units = tmp_path / "units\u2066dir"
    result = run_inline("plan", str(defs), "--unit-dir", str(units))
    assert result.returncode == 2, result.stderr
    assert not _raw(result.stdout + result.stderr)
    assert f"Unit directory: {tmp_path}/units\\u2066dir\n" in result.stdout
    assert "+Description=admin \\u202enimda\n" in result.stdout
    assert "+Source=" in result.stdout and "/evil\\u202elmot.toml\n" in result.stdout


def test_whatever_a_command_prints_in_process_is_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    defs = _definitions(
        tmp_path,
        f'[container.web]\nimage = "localhost/web:1"\ndescription = "{RLO}x"\n',
        name="web.toml",
    )
    code = cli.main(["plan", str(defs), "--unit-dir", str(tmp_path / "units")])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert not _raw(out + err)
    assert "Description=\\u202ex" in out


def test_undecodable_bytes_of_a_path_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    """A byte such as 0x9b (the 8-bit CSI) in a file name is not UTF-8: Python carries it as a
    lone surrogate, and printing that wrote the raw byte back, or crashed."""
    units = os.fsencode(tmp_path) + b"/units\x9b2J\xff"
    # sys.argv holds a process's arguments decoded so: undecodable bytes as lone surrogates
    code, out, err = run_inline_bytes("plan", "examples/hello", "--unit-dir", os.fsdecode(units))
    assert code == 2, err
    assert b"\x9b" not in out + err
    assert b"\xff" not in out + err
    assert b"/units\\udc9b2J\\udcff\n" in out
