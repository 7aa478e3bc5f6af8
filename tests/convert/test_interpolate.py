"""Compose interpolation, case by case against the Compose Specification's interpolation chapter:
SET=value, EMPTY is set and empty, every other variable is unset."""

from __future__ import annotations

import pytest

from orchestrator.convert.interpolate import InterpolationError, Interpolator, read_env_file

ENV = {"SET": "value", "EMPTY": "", "OTHER": "other"}

CASES = [
    # direct substitution, braced and not
    ("${SET}", "value"),
    ("$SET", "value"),
    ("a-$SET-b", "a-value-b"),
    ("$SET_SUFFIX", ""),  # the name runs as far as [_a-zA-Z0-9] goes
    ("${SET}_SUFFIX", "value_SUFFIX"),
    ("${UNSET}", ""),
    ("${EMPTY}", ""),
    # default: unset or empty (:-), unset only (-)
    ("${UNSET:-default}", "default"),
    ("${EMPTY:-default}", "default"),
    ("${SET:-default}", "value"),
    ("${UNSET-default}", "default"),
    ("${EMPTY-default}", ""),
    ("${SET-default}", "value"),
    ("${UNSET:-}", ""),
    ("${UNSET:-a b:c}", "a b:c"),
    # alternative: set and non-empty (:+), set (+)
    ("${SET:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${UNSET:+alt}", ""),
    ("${SET+alt}", "alt"),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    # required, when present
    ("${SET:?must be set}", "value"),
    ("${SET?must be set}", "value"),
    ("${EMPTY?must be set}", ""),
    # nesting
    ("${UNSET:-${SET}}", "value"),
    ("${UNSET:-${OTHER:-x}}", "other"),
    ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
    ("${UNSET:-$SET}", "value"),
    ("${SET:+${OTHER}}", "other"),
    # $$ is a literal $, and stops interpolation
    ("$$", "$"),
    ("$$SET", "$SET"),
    ("$${SET}", "${SET}"),
    ("$$$SET", "$value"),
    # a $ that starts no name stays as it is
    ("$", "$"),
    ("a$", "a$"),
    ("$1", "$1"),
    ("cost: 5$ each", "cost: 5$ each"),
    ("$-x", "$-x"),
    # nothing else is special
    ("plain text", "plain text"),
    ("{SET}", "{SET}"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_interpolation_follows_the_specification(text: str, expected: str) -> None:
    assert Interpolator(ENV)(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?must be set}", "must be set"),
        ("${EMPTY:?must not be empty}", "must not be empty"),
        ("${UNSET?needed}", "needed"),
        ("${UNSET:?}", "not set"),
    ],
)
def test_a_required_variable_that_is_missing_is_an_error_with_its_message(
    text: str, message: str
) -> None:
    with pytest.raises(InterpolationError, match=message):
        Interpolator(ENV)(text)


@pytest.mark.parametrize(
    "text", ["${", "${SET", "${SET:-x", "${}", "${1A}", "${SET/a/b}", "${SET:0:2}", "${SET^^}"]
)
def test_an_invalid_braced_expression_is_an_error_not_text(text: str) -> None:
    with pytest.raises(InterpolationError):
        Interpolator(ENV)(text)


def test_unset_variables_are_remembered_for_the_warning() -> None:
    interpolate = Interpolator(ENV)
    interpolate("${A} $B ${C:-x} ${SET}")
    assert interpolate.missing == {"A", "B"}


def test_an_env_file_reads_quotes_comments_export_and_earlier_variables() -> None:
    text = """
# a comment
export A=1
B = two words   # a comment after a space
C='single $A ${A} quoted'
D="double ${A} \\"q\\" \\n"
E=${A}-${OUTER}
F=
G=a#b
H="multi
line"
BARE
"""
    found = read_env_file(text, {"OUTER": "out"}, ".env")
    assert found == {
        "A": "1",
        "B": "two words",
        "C": "single $A ${A} quoted",
        "D": 'double 1 "q" \n',
        "E": "1-out",
        "F": "",
        "G": "a#b",
        "H": "multi\nline",
    }


@pytest.mark.parametrize("line", ["1A=x", "A B=x", "=x", 'A="open', "A='open"])
def test_a_malformed_env_file_line_is_an_error_naming_the_line(line: str) -> None:
    with pytest.raises(InterpolationError, match=r"\.env:2"):
        read_env_file(f"OK=1\n{line}\n", {}, ".env")
