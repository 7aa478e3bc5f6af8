"""Writing values into systemd unit files so that systemd reads back exactly what we meant.

systemd's rules (systemd.service(5) "Command lines", systemd.syntax(7) "Quoting", systemd.unit(5)
"Specifiers"): every `%` starts a specifier, so a literal one is `%%`; in Exec*= lines `$` starts an
environment variable, so a literal one is `$$`; words are split on whitespace, may be enclosed in
double or single quotes, and inside quotes C-style escapes (`\\\\`, `\\"`, ...) apply; a lone `;`
separates commands. A newline ends the setting, so control characters cannot be written at all.
"""

from __future__ import annotations

import re

from orchestrator.errors import QuotingError

# Characters that force an argument into quotes: whitespace, quotes and backslash.
_NEEDS_QUOTES = re.compile(r"[\s\"'\\]")


# C0 and C1 control characters, DEL, line and paragraph separators and lone surrogates.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
_CONTROL = re.compile(f"[{_CONTROLS}]")
# Unicode noncharacters: systemd finds a line holding one "not UTF-8 clean" and the unit fails
# to load (utf8_is_valid() refuses U+FDD0..U+FDEF and U+nFFFE, U+nFFFF of every plane).
_BMP_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff"
_ASTRAL_NONCHARACTERS = "".join(
    f"{chr(p | 0xFFFE)}{chr(p | 0xFFFF)}" for p in range(0x10000, 0x110000, 0x10000)
)
_NONCHARACTERS = _BMP_NONCHARACTERS + _ASTRAL_NONCHARACTERS
# The 34 astral noncharacters in a class cost a search some 100 ns for every character it tries,
# astral or not (a 60 kB value: 6 ms), where a class of ranges costs a tenth of that: so the
# patterns below try the long class only on a character that may be a noncharacter, one from
# U+FDD0 up (the lookahead), or on an astral one.
_NONCHARACTER = re.compile(f"(?=[\ufdd0-\U0010ffff])[{_NONCHARACTERS}]")
# A word that needs no quotes, no doubling and no refusal: written as it is. Most words of a unit
# are such words, and one match for them, instead of the checks below one by one, keeps quoting
# cheap when rendering thousands of units. Runs of characters below U+10000 are taken at once.
_WORD = (
    "(?:[^\\s\"'\\\\%$\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff" + _BMP_NONCHARACTERS
    + "\U00010000-\U0010ffff]++" + f"|(?![{_ASTRAL_NONCHARACTERS}])[\U00010000-\U0010ffff])+"
)  # fmt: skip
_PLAIN = re.compile("(?!;\\Z)" + _WORD)
# Plain words joined by newlines (which no plain word holds): a whole command line in one match
_ALL_PLAIN = re.compile(f"(?:(?!;\n){_WORD}\n)*(?!;\\Z){_WORD}")


# What quoting may refuse (see check_printable), and the backslash (escaped in quotes, refused at
# the end of a free-text value such as a directory made from a path)
_UNSURE = re.compile(f"(?=[\\\\{_CONTROLS}\ufdd0-\U0010ffff])[\\\\{_CONTROLS}{_NONCHARACTERS}]")


def writes_plainly(value: str) -> bool:
    """True when no quoting or escaping of value can be refused, and each of its characters is
    written as at most 4 bytes (a doubled % or $ or an escaped quote is 2 of 1 ASCII character;
    a character outside ASCII is never doubled): what limits counts on to skip rendering."""
    return _UNSURE.search(value) is None


def check_printable(value: str) -> None:
    """Raise QuotingError if value holds a character a unit file cannot carry."""
    match = _CONTROL.search(value)
    if match:
        ch = match.group()
        raise QuotingError(
            f"control character {ch!r} (U+{ord(ch):04X}) cannot be written into a unit file"
        )
    match = None if value.isascii() else _NONCHARACTER.search(value)  # the search is slow
    if match:
        raise QuotingError(
            f"Unicode noncharacter U+{ord(match.group()):04X} cannot be written into a unit file "
            "(systemd refuses a line that holds one)"
        )


def escape_specifiers(value: str) -> str:
    """A free-text value (Description=, SourcePath=): `%` doubled, control characters refused."""
    check_printable(value)
    if value.endswith("\\"):
        raise QuotingError(
            "a value may not end with a backslash (systemd reads it as a line break)"
        )
    return value.replace("%", "%%")


def quote_word(value: str, *, exec_line: bool = True) -> str:
    """Quote one word of a whitespace-separated systemd setting.

    With exec_line (ExecStart= and friends) `$` is doubled as well, so no variable is expanded.
    """
    if _PLAIN.fullmatch(value):
        return value
    check_printable(value)
    text = value.replace("%", "%%")
    if exec_line:
        text = text.replace("$", "$$")
    if text and text != ";" and not _NEEDS_QUOTES.search(text):
        return text
    if '"' in text and "'" not in text and "\\" not in text:
        return "'" + text + "'"  # easier to read; holds no backslash, so no escape question
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Raw(str):
    """A word written as it is, for the specifiers we mean systemd to expand (%t, %n)."""

    __slots__ = ()


def quote_argv(argv: list[str]) -> str:
    """An Exec*= command line whose argv, after systemd has parsed it, is exactly argv."""
    words = [a for a in argv if not isinstance(a, Raw)]
    joined = "\n".join(words)
    # the usual line: nothing to quote (and no word with a newline of its own that would pass
    # for two words)
    if not words or (joined.count("\n") == len(words) - 1 and _ALL_PLAIN.fullmatch(joined)):
        return " ".join(argv)
    plain = _PLAIN.fullmatch  # checked here too: most words need no call to quote_word
    return " ".join([a if isinstance(a, Raw) or plain(a) else quote_word(a) for a in argv])


def quote_words(words: list[str]) -> str:
    """A list setting that is not an Exec*= line (RequiresMountsFor=, ...)."""
    return " ".join(w if isinstance(w, Raw) else quote_word(w, exec_line=False) for w in words)
