"""An independent reader of systemd command lines, written from systemd's documentation
(systemd.syntax(7) "Quoting", systemd.unit(5) "Specifiers", systemd.service(5) "Command lines").

It does not share code with orchestrator.quoting: it exists to check that code. Supported: word
splitting on whitespace, single and double quotes, the C escapes systemd lists, `%%` and `$$`.
A specifier other than `%%` or a variable reference is reported as an error, because our quoting
must never produce one.
"""

from __future__ import annotations

_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "s": " ",
}


class ParseError(ValueError):
    pass


def expand_specifiers(line: str) -> str:
    out = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "%":
            if i + 1 < len(line) and line[i + 1] == "%":
                out.append("%")
                i += 2
                continue
            raise ParseError(f"unexpected specifier at {i}: {line[i : i + 2]!r}")
        out.append(ch)
        i += 1
    return "".join(out)


def _unescape(text: str, i: int) -> tuple[str, int]:
    """text[i] is a backslash; return the character it stands for and the next index."""
    if i + 1 >= len(text):
        raise ParseError("backslash at end of line")
    c = text[i + 1]
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], i + 2
    if c == "x":
        return chr(int(text[i + 2 : i + 4], 16)), i + 4
    if c in "0123":
        return chr(int(text[i + 1 : i + 4], 8)), i + 4
    if c == "u":
        return chr(int(text[i + 2 : i + 6], 16)), i + 6
    if c == "U":
        return chr(int(text[i + 2 : i + 10], 16)), i + 10
    raise ParseError(f"unknown escape \\{c}")


def split_words(line: str) -> list[str]:
    """Split an already specifier-expanded line into words, removing quotes and escapes."""
    words: list[str] = []
    i = 0
    n = len(line)
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            return words
        word: list[str] = []
        quote: str | None = None
        start = i
        while i < n:
            ch = line[i]
            if quote is None and ch in " \t":
                break
            if ch == "\\":
                value, i = _unescape(line, i)
                word.append(value)
                continue
            if quote is None and ch in "\"'":
                quote = ch
                i += 1
                continue
            if quote is not None and ch == quote:
                quote = None
                i += 1
                continue
            word.append(ch)
            i += 1
        if quote is not None:
            raise ParseError("unterminated quote")
        if line[start:i] == ";":
            raise ParseError("unquoted ';' would separate commands")
        words.append("".join(word))


def expand_dollars(word: str) -> str:
    out = []
    i = 0
    while i < len(word):
        if word[i] == "$":
            if i + 1 < len(word) and word[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            raise ParseError(f"variable reference in {word!r}")
        out.append(word[i])
        i += 1
    return "".join(out)


def parse_exec_line(line: str) -> list[str]:
    """The argv systemd runs for `ExecStart=<line>` (no prefixes, one command)."""
    words = split_words(expand_specifiers(line))
    return [expand_dollars(w) for w in words]
