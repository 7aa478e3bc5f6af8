"""Quoting for systemd, checked against an independent reader of systemd's documented rules."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from orchestrator.core.quoting import Raw, escape_specifiers, quote_argv, quote_word
from orchestrator.errors import QuotingError
from tests.support.depth import examples
from tests.support.systemd_words import ParseError, parse_exec_line
from tests.support.unicode import NONCHARACTERS

# Everything a unit file can carry: no control characters, no lone surrogates, no noncharacters.
printable = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029" + NONCHARACTERS
    )
)
special = st.text(alphabet=st.sampled_from(list(" \"'\\%$;{}#=-\u00e9\u00a0\U0001f600ab")))
argument = st.one_of(printable, special)


@settings(max_examples=examples(1000))
@given(st.lists(argument, min_size=1, max_size=8))
@example([""])
@example([";"])
@example(["a b", "'", '"', "\\", "\\\\", "%n", "$HOME", "${X}", "$$", "%%"])
@example(['say "hi"', "it's", "\\;", "; ", "#comment", "back\\slash\"quote'"])
def test_round_trip(argv: list[str]) -> None:
    line = quote_argv(["/bin/prog", *argv])
    assert "\n" not in line
    assert parse_exec_line(line) == ["/bin/prog", *argv]


def test_plain_words_stay_plain() -> None:
    assert quote_argv(["/usr/bin/podman", "run", "--name=web", "-d"]) == (
        "/usr/bin/podman run --name=web -d"
    )


def test_specifiers_and_variables_are_doubled() -> None:
    assert quote_word("100%") == "100%%"
    assert quote_word("$HOME") == "$$HOME"
    assert quote_word("$HOME", exec_line=False) == "$HOME"


def test_spaces_quotes_and_semicolons_are_quoted() -> None:
    assert quote_word("daemon off;") == '"daemon off;"'
    assert quote_word(";") == '";"'
    assert quote_word("") == '""'
    assert quote_word('say "hi"') == "'say \"hi\"'"
    assert quote_word("a\\b") == '"a\\\\b"'


def test_raw_words_pass_through() -> None:
    assert quote_argv(["/bin/rm", "-f", Raw("%t/%n.ctr-id")]) == "/bin/rm -f %t/%n.ctr-id"


@pytest.mark.parametrize(
    "bad", ["a\nb", "tab\there", "\x1b[31m", "nul\x00", "del\x7f", "csi\x9b", "\u2028"]
)
def test_control_characters_are_refused(bad: str) -> None:
    with pytest.raises(QuotingError, match="control character"):
        quote_word(bad)
    with pytest.raises(QuotingError):
        escape_specifiers(bad)


def test_free_text_doubles_percent_and_refuses_trailing_backslash() -> None:
    assert escape_specifiers("50% off") == "50%% off"
    with pytest.raises(QuotingError, match="backslash"):
        escape_specifiers("ends with \\")


def test_the_reader_catches_broken_quoting() -> None:
    """The independent reader must be able to fail, or the round trip proves nothing."""
    with pytest.raises(ParseError):
        parse_exec_line("/bin/prog %n")
    with pytest.raises(ParseError):
        parse_exec_line("/bin/prog $HOME")
    with pytest.raises(ParseError):
        parse_exec_line('/bin/prog "open')
    with pytest.raises(ParseError):
        parse_exec_line("/bin/prog ; /bin/other")
    assert parse_exec_line("/bin/prog a\\sb") == ["/bin/prog", "a b"]


word = st.one_of(
    argument,
    st.text(alphabet=st.sampled_from(list("ab;\n\r\t -=%$\x85\ufdd0"))),
    st.builds(Raw, st.sampled_from(["%t/%n.ctr-id", "$X", "a b"])),
)


@settings(max_examples=examples(1000))
@given(st.lists(word, max_size=8))
@example(["-\n=", "b;b"])  # a newline in a word must not pass it off as two plain words
@example(["a", ";"])
def test_a_command_line_is_quoted_as_its_words_one_by_one(argv: list[str]) -> None:
    """quote_argv checks the usual line (no word to quote) in one match: it must give exactly
    what quoting each word would, and refuse what quoting a word refuses."""

    def one_by_one() -> str:
        return " ".join(a if isinstance(a, Raw) else quote_word(a) for a in argv)

    try:
        expected = one_by_one()
    except QuotingError:
        with pytest.raises(QuotingError):
            quote_argv(argv)
        return
    assert quote_argv(argv) == expected
