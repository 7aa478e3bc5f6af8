"""Man pages, generated: orchestrator(1) and one page per command from the argument parser, and
orchestrator.toml(5) from the README's definition reference, so that neither is written twice.
`scripts/manpages` writes them into man/, which the package installs (pyproject data-files);
tests/commands/test_manpages.py fails when the files there are not what this generates."""

from __future__ import annotations

import argparse
import re

from orchestrator import __version__

SOURCE = f"orchestrator {__version__}"


def pages(readme: str) -> dict[str, str]:
    """File name -> roff text: orchestrator.1, orchestrator-COMMAND.1 for each command (and
    orchestrator-COMMAND-SUB.1 for commands that have their own), orchestrator.toml.5."""
    from orchestrator.cli import DESCRIPTION, EPILOG, build_parser

    parser = build_parser()
    found = {"orchestrator.1": _page("orchestrator", parser, DESCRIPTION, EPILOG, "")}
    for name, sub, help_text in _subcommands(parser):
        found.update(_command_pages(name, sub, help_text))
    found["orchestrator.toml.5"] = definitions_page(readme)
    return found


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser, str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return [(n, p, helps.get(n, "")) for n, p in action.choices.items()]
    return []


def _command_pages(name: str, parser: argparse.ArgumentParser, help_text: str) -> dict[str, str]:
    title = f"orchestrator-{name}"
    found = {f"{title}.1": _page(title, parser, parser.description or "", parser.epilog or "",
                                 help_text)}  # fmt: skip
    for sub_name, sub, sub_help in _subcommands(parser):
        found.update(_command_pages(f"{name}-{sub_name}", sub, sub_help))
    return found


def _page(title: str, parser: argparse.ArgumentParser, description: str, epilog: str,
          summary: str) -> str:  # fmt: skip
    lines = [
        f'.TH {title.upper()} 1 "" "{SOURCE}" "orchestrator manual"',
        ".SH NAME",
        f"{title} \\- {_text(summary or description.splitlines()[0])}",
        ".SH SYNOPSIS",
        _text(" ".join(parser.format_usage().removeprefix("usage: ").split())),
        ".SH DESCRIPTION",
        *_paragraphs(description),
    ]
    options = [a for a in parser._actions if a.help != argparse.SUPPRESS]
    commands = _subcommands(parser)
    if commands:
        lines.append(".SH COMMANDS")
        for name, _, help_text in commands:
            prefix = title.removeprefix("orchestrator").replace("-", " ").strip()
            page = "-".join(filter(None, ("orchestrator", prefix.replace(" ", "-"), name)))
            lines += [".TP", f"\\fB{name}\\fR", f"{_text(help_text)} (\\fB{page}\\fR(1))"]
    arguments = [a for a in options if not a.option_strings and a.choices is None]
    if arguments or [a for a in options if a.option_strings]:
        lines.append(".SH OPTIONS")
    for action in arguments:
        lines += [".TP", f"\\fI{_text(str(action.metavar or action.dest))}\\fR",
                  _text(str(action.help or ""))]  # fmt: skip
    for action in (a for a in options if a.option_strings):
        flags = ", ".join(f"\\fB{_text(f)}\\fR" for f in action.option_strings)
        value = ""
        if action.nargs != 0:
            value = " \\fI" + _text(str(action.metavar or action.dest.upper())) + "\\fR"
            if action.choices:
                value = " {" + ",".join(_text(str(c)) for c in action.choices) + "}"
        lines += [".TP", flags + value, _text(str(action.help or "").replace("%(prog)s", title))]
    examples = [line for line in epilog.strip().splitlines() if line != "examples:"]
    if examples:
        lines += [".SH EXAMPLES", ".nf", *(_text(line) for line in examples), ".fi"]
    lines += [".SH SEE ALSO", "\\fBorchestrator\\fR(1), \\fBorchestrator.toml\\fR(5), "
              "\\fBsystemd.service\\fR(5), \\fBpodman-run\\fR(1)"]  # fmt: skip
    return "\n".join(lines) + "\n"


def _paragraphs(text: str) -> list[str]:
    """Paragraphs of running text (a blank line between them); an indented line stays a line."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        out.append(".PP")
        rows = block.splitlines()
        if any(r.startswith("  ") for r in rows):
            out += [".nf", *(_text(r) for r in rows), ".fi"]
        else:
            out.append(_text(" ".join(r.strip() for r in rows)))
    return out


# roff's own names for the non-ASCII characters the texts use: they render on an ASCII terminal
# too, where the \[uXXXX] form warns that the character cannot be found
NAMED = {"\u2192": "\\(->", "\u2190": "\\(<-", "\u2265": "\\(>=", "\u2264": "\\(<=",
         "\u2026": "...", "\u2014": "\\(em", "\u2013": "\\(en", "\u00d7": "\\(mu"}  # fmt: skip


def _text(value: str) -> str:
    """Text roff shows as it is: backslashes doubled, hyphens kept as hyphens, other characters
    than ASCII by name, and a line that starts with a dot or an apostrophe (a request to roff)
    protected."""
    value = value.replace("\\", "\\e").replace("-", "\\-")
    if not value.isascii():
        value = "".join(c if c.isascii() else NAMED.get(c, f"\\[u{ord(c):04X}]") for c in value)
    return "\\&" + value if value.startswith((".", "'")) else value


# ----- orchestrator.toml(5), from the README's "Definition reference" --------------------------


def definitions_page(readme: str) -> str:
    """The README's definition reference as roff: headings, paragraphs, tables (one tagged
    paragraph per key) and code blocks."""
    start = readme.index("## Definition reference")
    end = readme.index("\n## ", start + 3)
    lines = [
        f'.TH ORCHESTRATOR.TOML 5 "" "{SOURCE}" "orchestrator manual"',
        ".SH NAME",
        "orchestrator.toml \\- the definition files of orchestrator",
        ".SH SYNOPSIS",
        "\\fI/etc/orchestrator/*.toml\\fR, \\fI~/.config/orchestrator/*.toml\\fR",
        ".SH DESCRIPTION",
    ]
    lines += _markdown(readme[start:end].split("\n", 1)[1])
    lines += [".SH SEE ALSO", "\\fBorchestrator\\fR(1), \\fBsystemd.service\\fR(5), "
              "\\fBpodman-run\\fR(1), \\fBcontainers-registries.conf\\fR(5)"]  # fmt: skip
    return "\n".join(lines) + "\n"


def _markdown(text: str) -> list[str]:
    out: list[str] = []
    paragraph: list[str] = []
    header: list[str] = []
    code = False

    def flush() -> None:
        if paragraph:
            out.extend([".PP", _inline(" ".join(paragraph))])
            paragraph.clear()

    for line in text.splitlines():
        if line.startswith("```"):
            flush()
            code = not code
            out.append(".nf" if code else ".fi")
        elif code:
            out.append(_text(line))
        elif line.startswith("#"):
            flush()
            out += [".SS" if line.startswith("### ") else ".SH", _inline(line.lstrip("# "))]
        elif line.startswith("|"):
            flush()
            header = _table_row(line, header, out)
        elif not line.strip():
            flush()
            header = []
        else:
            paragraph.append(line.strip())
    flush()
    return out


def _table_row(line: str, header: list[str], out: list[str]) -> list[str]:
    """A table row becomes a tagged paragraph: the first cell the tag, the others labelled by
    their column's heading. Returns the heading (taken from the first row)."""
    cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
    if not header:
        return cells
    if all(set(c) <= set("-: ") for c in cells):
        return header
    out += [".TP", _inline(cells[0])]
    body = [f"{_text(h)}: {_inline(c)}" for h, c in zip(header[1:], cells[1:], strict=False) if c]
    out.append("\n.br\n".join(body))
    return header


def _inline(text: str) -> str:
    """Markdown's inline marks as roff fonts: `code` bold, **strong** bold, links as their text
    followed by the address."""
    text = text.replace("\\|", "|")
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 (\2)", text)
    parts = re.split(r"(`[^`]*`|\*\*[^*]+\*\*)", text)
    shown = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            shown.append("\\fB" + _text(part[1:-1]).removeprefix("\\&") + "\\fR")
        elif part.startswith("**") and part.endswith("**"):
            shown.append("\\fB" + _text(part[2:-2]).removeprefix("\\&") + "\\fR")
        else:
            shown.append(_text(part).removeprefix("\\&"))
    joined = "".join(shown)
    return "\\&" + joined if joined.startswith((".", "'")) else joined
