"""The loader skips two walks over a file's values when its text shows they would find nothing:
the check for characters a unit file cannot carry, and the check for deep nesting. Skipped only
when it is sound: checked here against every TOML file of the repository and hostile cases."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

from orchestrator.core import loader
from orchestrator.errors import Problem

REPO = Path(__file__).resolve().parents[2]
HOSTILE = [
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


@functools.cache
def texts() -> list[tuple[str, str]]:
    """(name, text): the repository's TOML files by path, the hostile cases by number. Each test
    walks them all and names every text that fails: an item per text cost the unit run some 3 s
    of pytest's own bookkeeping, for checks of a millisecond each."""
    files = sorted(REPO.rglob("*.toml"))
    return [
        (str(p.relative_to(REPO)), p.read_bytes().decode("utf-8", "replace")) for p in files
    ] + [(f"hostile case {number}", text) for number, text in enumerate(HOSTILE)]


def _parsed(text: str) -> dict[str, object] | None:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return None


def _called_printable_but_refused(text: str) -> bool:
    data = _parsed(text)
    if data is None or not loader._printable(text):
        return False
    problems: list[Problem] = []
    loader._check_text("f", data, (), problems)
    return problems != []


def _shortcut_differs_from_the_full_depth_check(text: str) -> bool:
    data = _parsed(text)
    if data is None:
        return False
    shortcut: list[Problem] = []
    full: list[Problem] = []
    loader._check_depth("f", data, full)
    return (loader._parse_shallow(text, "f", shortcut) is None) != bool(full)


def test_a_text_called_printable_holds_nothing_the_full_check_refuses() -> None:
    wrong = [name for name, text in texts() if _called_printable_but_refused(text)]
    assert not wrong, f"called printable, but the full check refuses: {wrong}"


def test_a_shallow_text_is_parsed_as_the_full_depth_check_would() -> None:
    wrong = [name for name, text in texts() if _shortcut_differs_from_the_full_depth_check(text)]
    assert not wrong, f"the shortcut and the full depth check disagree on: {wrong}"


def test_texts_that_can_hold_control_characters_take_the_full_check() -> None:
    hostile = HOSTILE[:6]
    assert not any(loader._printable(text) for text in hostile)
    for text in hostile:
        problems: list[Problem] = []
        loader.validate_document(tomllib.loads(text), "f.toml", "f.toml", problems)
        assert any("cannot be written" in p.message or "character" in p.message
                   for p in problems), text  # fmt: skip
