"""Unit-file syntax as Quadlet reads it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.convert.unitsyntax import SyntaxProblem, join_words, parse, split_words


def test_a_backslash_continues_the_line_past_comment_lines_as_quadlet_joins_them() -> None:
    # Quadlet 5.4.2 makes "--hostname 'a bc'" of these lines
    unit = parse("[Container]\nHostName=a \\\n# a comment\n  b\\\n c\n", "x.container")
    (entry,) = unit.sections["Container"]
    assert (entry.key, entry.value, entry.line) == ("HostName", "a bc", 2)


def test_comments_and_blank_lines_are_skipped_and_keys_repeat_in_order() -> None:
    unit = parse("; top\n[Container]\n\n#x\nLabel=a=1\nLabel=b=2\n", "x.container")
    assert [(e.value, e.line) for e in unit.sections["Container"]] == [("a=1", 5), ("b=2", 6)]


@pytest.mark.parametrize(
    ("text", "line"),
    [("Image=x\n", 1), ("[Container]\nno equals sign\n", 2), ("[Container\n", 1)],
)
def test_what_is_not_a_unit_file_line_is_refused_with_its_line(text: str, line: int) -> None:
    with pytest.raises(SyntaxProblem) as caught:
        parse(text, "x.container")
    assert caught.value.line == line


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('a "b c" d', ["a", "b c", "d"]),
        ("'it''s'", ["its"]),
        (r'"a\"b" \x41\t', ['a"b', "A\t"]),
        ('x"y z"w', ["xy zw"]),
        ("", []),
    ],
)
def test_values_split_into_words_as_quadlet_splits_them(value: str, words: list[str]) -> None:
    assert split_words(value) == words


def test_an_unbalanced_quote_is_refused() -> None:
    with pytest.raises(SyntaxProblem, match="unbalanced"):
        split_words('a "b')


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1), max_size=5))
def test_joined_words_split_back_into_the_same_words(words: list[str]) -> None:
    line = join_words(words)
    if "\n" in line or "\r" in line:
        return  # not a line: quote_word escapes \n, but other line breaks stay
    assert split_words(line) == words
