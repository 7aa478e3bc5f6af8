"""The loader skips two walks over a file's values when its text shows they would find nothing:
the check for characters a unit file cannot carry, and the check for deep nesting. Skipped only
when it is sound: checked here against every TOML file of the repository and hostile cases."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from orchestrator.core import loader
from orchestrator.errors import Problem

REPO = Path(__file__).resolve().parents[2]
TEXTS = [p.read_bytes().decode("utf-8", "replace") for p in sorted(REPO.rglob("*.toml"))] + [
    'a = "x\\u0001y"',  # an escape makes a control character
    'a = """\nline\nbreaks"""',  # a multi-line string holds newlines
    "a = '''\nliteral\n'''",
    'a = "tab\there"',
    '"key\\u007f" = 1',
    'a = "\u0085"',  # C1, not ASCII
    "[" + ".".join(["a"] * 70) + "]\nb = 1",  # deep through dots
    "a = " + "[" * 70 + "]" * 70,
    "a = " + "{b = " * 70 + "1" + "}" * 70,
]


def _parsed(text: str) -> dict[str, object] | None:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return None


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_a_text_called_printable_holds_nothing_the_full_check_refuses(text: str) -> None:
    data = _parsed(text)
    if data is None or not loader._printable(text):
        return
    problems: list[Problem] = []
    loader._check_text("f", data, (), problems)
    assert problems == []


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_a_shallow_text_is_parsed_as_the_full_depth_check_would(text: str) -> None:
    data = _parsed(text)
    if data is None:
        return
    shortcut: list[Problem] = []
    full: list[Problem] = []
    loader._check_depth("f", data, full)
    assert (loader._parse_shallow(text, "f", shortcut) is None) == bool(full)


def test_texts_that_can_hold_control_characters_take_the_full_check() -> None:
    hostile = TEXTS[-9:-3]
    assert not any(loader._printable(text) for text in hostile)
    for text in hostile:
        problems: list[Problem] = []
        loader.validate_document(tomllib.loads(text), "f.toml", "f.toml", problems)
        assert any("cannot be written" in p.message or "character" in p.message
                   for p in problems), text  # fmt: skip
