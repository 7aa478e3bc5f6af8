"""systemd unit-file syntax as Quadlet reads it: sections, comments, line continuation, drop-ins,
and the splitting of a value into words (quotes and C escapes), both ways."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", '"': '"', "'": "'", "s": " ",
}  # fmt: skip
_HEX = {"x": 2, "u": 4, "U": 8}
_WORD_NEEDS_QUOTES = re.compile(r"[\s\"'\\]")


class SyntaxProblem(ValueError):
    """A line or value systemd's syntax does not allow; line is 1-based, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Entry:
    """One `Key=value` line, with where it was written."""

    key: str
    value: str
    file: str
    line: int


@dataclass
class Unit:
    """A unit file's sections in order, each a list of entries in order (keys repeat)."""

    sections: dict[str, list[Entry]] = field(default_factory=dict)

    def merge(self, other: Unit) -> None:
        """A drop-in: its entries come after the unit's own, as systemd and Quadlet read them."""
        for name, entries in other.sections.items():
            self.sections.setdefault(name, []).extend(entries)


def parse(text: str, file: str) -> Unit:
    """The entries of a unit file. A line ending in a backslash goes on on the next line (comment
    lines in between are skipped); `#` and `;` start comments."""
    unit = Unit()
    section: str | None = None
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        start = number + 1
        line = lines[number].strip()
        number += 1
        if not line or line[0] in "#;":
            continue
        while line.endswith("\\") and number < len(lines):
            following = lines[number].strip()
            number += 1
            if following and following[0] in "#;":
                continue  # still continued: the next line that is not a comment goes on
            line = line[:-1] + following  # as Quadlet joins them: no space put in
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise SyntaxProblem(
                    f"expected a section header like [Container], got {line!r}", start
                )
            section = line[1:-1]
            unit.sections.setdefault(section, [])
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise SyntaxProblem(f"expected KEY=VALUE, got {line!r}", start)
        if section is None:
            raise SyntaxProblem(f"{key.strip()}= is outside of any section", start)
        unit.sections[section].append(Entry(key.strip(), value.strip(), file, start))
    return unit


def split_words(value: str) -> list[str]:
    """The words of a value as Quadlet splits it (systemd's extract_first_word with RELAX,
    UNQUOTE and CUNESCAPE): whitespace separates, quotes group, C escapes are decoded."""
    words: list[str] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i].isspace():
            i += 1
        if i >= n:
            break
        word: list[str] = []
        quote: str | None = None
        while i < n:
            ch = value[i]
            if quote is None and ch.isspace():
                break
            if ch == "\\":
                text, i = _escape(value, i)
                word.append(text)
                continue
            if quote is None and ch in "\"'":
                quote = ch
            elif ch == quote:
                quote = None
            else:
                word.append(ch)
            i += 1
        if quote is not None:
            raise SyntaxProblem(f"unbalanced quote {quote} in {value!r}")
        words.append("".join(word))
    return words


def _escape(value: str, i: int) -> tuple[str, int]:
    """The character the escape at value[i] (a backslash) stands for, and the index after it."""
    if i + 1 >= len(value):
        return "", i + 1  # systemd's RELAX keeps going; a lone trailing backslash is dropped
    ch = value[i + 1]
    if ch in _ESCAPES:
        return _ESCAPES[ch], i + 2
    if ch in _HEX:
        digits = value[i + 2 : i + 2 + _HEX[ch]]
        if len(digits) == _HEX[ch] and all(c in "0123456789abcdefABCDEF" for c in digits):
            return chr(int(digits, 16)), i + 2 + _HEX[ch]
    if ch in "01234567":
        digits = value[i + 1 : i + 4]
        if len(digits) == 3 and all(c in "01234567" for c in digits):
            return chr(int(digits, 8)), i + 4
    raise SyntaxProblem(f"unknown escape \\{ch} in {value!r}")


def quote_word(word: str) -> str:
    """word written so that split_words gives it back."""
    if word and not _WORD_NEEDS_QUOTES.search(word):
        return word
    text = word.replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\n", "\\n").replace("\t", "\\t")
    return f'"{text}"'


def join_words(words: list[str]) -> str:
    return " ".join(quote_word(word) for word in words)


def line_value(text: str) -> str:
    """A raw value (kept as Quadlet passes it on, not split): written so that it reads back the
    same. A value cannot hold a newline, nor end in a backslash (that continues the line)."""
    if "\n" in text or text.endswith("\\"):
        raise SyntaxProblem(f"a unit file line cannot hold {text!r}")
    return text
