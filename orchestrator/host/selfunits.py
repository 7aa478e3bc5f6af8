"""orchestrator's own units (units/ in the source tree): filling in their fields is pure;
installing and removing them goes through unitdir and the systemd module."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from orchestrator.core.quoting import escape_specifiers, quote_argv
from orchestrator.errors import ConflictError, UsageError

NAMES = ("orchestrator-watch.service", "orchestrator-apply.service", "orchestrator-apply.path")
MARK = "[X-Orchestrator-Self]"
# What each mode enables (and starts); the other mode's is disabled and stopped.
ENTRY = {"watch": "orchestrator-watch.service", "path": "orchestrator-apply.path"}


def template_dir() -> Path:
    """units/ next to the package (a source checkout, an editable install), else the copy an
    installed package keeps in PREFIX/share/orchestrator/units."""
    for candidate in (
        Path(__file__).resolve().parents[2] / "units",
        Path(sys.prefix) / "share" / "orchestrator" / "units",
    ):
        if all((candidate / name).is_file() for name in NAMES):
            return candidate
    raise UsageError("orchestrator's own unit files (units/) are not installed with it")


def fill(template: str, *, definitions: str, user: bool, command: list[str]) -> str:
    """A template with its @FIELDS@ filled in for this host."""
    args = (["--user"] if user else []) + [definitions]
    fields = {
        "@ORCHESTRATOR@": quote_argv(command),
        "@ARGS@": quote_argv(args),
        "@DEFINITIONS@": escape_specifiers(definitions),
        "@TARGET@": "default.target" if user else "multi-user.target",
        "@ONLINE@": "network-online.target",
    }
    text = template
    for field, value in fields.items():
        text = text.replace(field, value)
    if user:  # the user's manager has no network-online.target
        text = "".join(
            line for line in text.splitlines(keepends=True)
            if not line.startswith(("Wants=network-online", "After=network-online"))
        )  # fmt: skip
    return text


def rendered(definitions: str, user: bool) -> dict[str, str]:
    """The units, running this very orchestrator: this interpreter, and the PYTHONPATH it runs
    with, if any (so that an orchestrator that is not installed system-wide still runs)."""
    command = [sys.executable, "-m", "orchestrator"]
    directory = template_dir()
    texts = {name: (directory / name).read_text() for name in NAMES}
    units = {
        name: fill(text, definitions=definitions, user=user, command=command)
        for name, text in texts.items()
    }
    entries = [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e]
    if entries:  # absolute: the units run in /
        pythonpath = os.pathsep.join(os.path.abspath(e) for e in entries)
        if '"' in pythonpath or "\\" in pythonpath or "$" in pythonpath:
            raise UsageError(f"PYTHONPATH {pythonpath!r} cannot be written into a unit as is")
        line = f'Environment="PYTHONPATH={escape_specifiers(pythonpath)}"\n'
        units = {n: t.replace("[Service]\n", "[Service]\n" + line, 1) for n, t in units.items()}
    return units


def is_ours(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return MARK in handle.read()
    except (OSError, UnicodeDecodeError):
        return False


def refuse_foreign(unit_dir: str) -> None:
    paths = {name: os.path.join(unit_dir, name) for name in NAMES}
    foreign = [name for name, path in paths.items() if os.path.lexists(path) and not is_ours(path)]
    if foreign:
        raise ConflictError(
            f"{unit_dir} holds {', '.join(foreign)} not installed by orchestrator; left alone"
        )
