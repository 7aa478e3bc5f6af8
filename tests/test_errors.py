"""What an error shows a person: every character a terminal could act on is escaped."""

from __future__ import annotations

import json
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.values import quoted, show
from orchestrator.errors import OrchestratorError, Problem, UsageError, safe
from orchestrator.host.runner import CommandError
from tests.support.depth import examples

# What a hostile file name or value may hold to act on a terminal or fool a reader: an OSC that
# sets the window title, "clear screen" by ESC and by the 8-bit CSI, DEL, the bidi overrides,
# embeddings, isolates and marks, invisible and tag characters, line separators, and an
# undecodable byte of a file name (a lone surrogate).
HOSTILE = [
    "\x1b]0;pwned\x07", "\x1b[2J", "\x9b2J", "\x7f", "\x00", "\r", "\x85",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    "\u200e", "\u200f", "\u061c", "\u200b", "\u2060", "\ufeff", "\u00ad", "\U000e0041",
    "\u2028", "\u2029", "\udcff",
]  # fmt: skip


def _raw(text: str, keep: str = "\n") -> list[str]:
    return [c for c in text if not c.isprintable() and c not in keep]


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: f"U+{ord(h[0]):04X}")
def test_safe_leaves_nothing_a_terminal_acts_on(hostile: str) -> None:
    shown = safe(f"a{hostile}b")
    assert not _raw(shown)
    assert shown.startswith("a\\") and shown.endswith("b")


def test_safe_keeps_printable_text_as_it_is() -> None:
    text = 'caf\u00e9 \U0001f600 /srv/\u65e5\u672c "quoted" back\\slash %n $HOME'
    assert safe(text) is text


def test_safe_writes_escapes_a_reader_can_decode() -> None:
    assert safe("a\x1b[2J\tb\n") == "a\\u001b[2J\\tb\\n"
    assert safe("\u202e\U000e0041") == "\\u202e\\U000e0041"


def test_safe_keeps_lines_and_tabs_only_when_asked() -> None:
    text = "line one\tx\nline \x1b[2Jtwo\r\n"
    assert safe(text, multiline=True) == "line one\tx\nline \\u001b[2Jtwo\\r\n"
    assert "\n" not in safe(text)


@settings(max_examples=examples(300), deadline=None)
@given(st.text())
def test_safe_is_idempotent_and_leaves_no_raw_control(text: str) -> None:
    once = safe(text)
    assert safe(once) == once
    assert not _raw(once) and "\n" not in once
    assert not _raw(safe(text, multiline=True), keep="\n\t")


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: f"U+{ord(h[0]):04X}")
def test_quoted_is_a_toml_string_with_nothing_raw(hostile: str) -> None:
    shown = quoted(f'say "{hostile}" \\ now')
    assert not _raw(shown)
    if not any("\ud800" <= c <= "\udfff" for c in hostile):  # TOML cannot hold a surrogate
        assert tomllib.loads(f"v = {shown}")["v"] == f'say "{hostile}" \\ now'


def test_quoted_reads_as_before_for_ordinary_text() -> None:
    for text in ["plain", 'a "b" \\ c', "tab\there", "\u00e9\U0001f600", "\x1b"]:
        assert quoted(text) == json.dumps(text, ensure_ascii=False)
    assert show("x" * 100).endswith('..."')


def test_a_problem_escapes_its_file_key_and_message() -> None:
    problem = Problem(
        "defs/evil\x1b]0;pwned\x07.toml", "container.\u202eweb", "got \x9b2J\nerror: forged", 3, 1
    )
    text = str(problem)
    assert not _raw(text) and "\n" not in text
    assert text.startswith("defs/evil\\u001b]0;pwned\\u0007.toml:3:1: container.\\u202eweb: ")
    assert problem.as_dict()["file"] == "defs/evil\x1b]0;pwned\x07.toml"  # JSON escapes it


def test_an_error_message_is_escaped_wherever_it_is_shown() -> None:
    error = UsageError("cannot read /defs/a\x1b[2J\nerror: forged line")
    assert str(error) == "cannot read /defs/a\\u001b[2J\\nerror: forged line"
    assert error.lines() == ["error: cannot read /defs/a\\u001b[2J\\nerror: forged line"]
    assert isinstance(error, OrchestratorError)


def test_a_command_error_keeps_its_lines_and_escapes_each() -> None:
    output = "pulling\rdone \x1b]0;pwned\x07\nError: image \u202enginx not found\n"
    error = CommandError(["podman", "pull", "--", "nginx\n\x1b[2J"], 125, output)
    lines = str(error).split("\n")
    assert lines[0] == "podman pull -- 'nginx\\n\\u001b[2J' exited with 125:"
    assert lines[1:] == [
        "pulling",
        "done \\u001b]0;pwned\\u0007",
        "Error: image \\u202enginx not found",
    ]
    assert not _raw(str(error))
