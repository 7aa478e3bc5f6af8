"""orchestrator's own units (units/ in the source tree): filling in their fields is pure;
installing and removing them goes through unitdir and the systemd module."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestrator.core.quoting import escape_specifiers, quote_argv
from orchestrator.errors import ConflictError, UsageError

NAMES = (
    "orchestrator-watch.service",
    "orchestrator-apply.service",
    "orchestrator-apply.path",
    "orchestrator-pull.service",
    "orchestrator-pull.timer",
)
MARK = "[X-Orchestrator-Self]"
# What each mode enables (and starts); the other mode's is disabled and stopped.
ENTRY = {
    "watch": "orchestrator-watch.service",
    "path": "orchestrator-apply.path",
    "pull": "orchestrator-pull.timer",
}


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


@dataclass(frozen=True)
class PullSettings:
    """install-units --mode pull: what the timer pulls, and how often."""

    repo: str = ""
    branch: str | None = None
    allowed_signers: str | None = None
    gpg_home: str | None = None
    host: str | None = None  # this host's name in fleet.toml, if not its host name
    interval: str = "5min"
    splay: str = "1min"

    def argv(self, user: bool) -> list[str]:
        argv = (["--user"] if user else []) + ["--repo", self.repo]
        argv += ["--branch", self.branch] if self.branch else []
        argv += ["--host", self.host] if self.host else []
        argv += ["--allowed-signers", self.allowed_signers] if self.allowed_signers else []
        return argv + (["--gpg-home", self.gpg_home] if self.gpg_home else [])


def fill(
    template: str,
    *,
    definitions: str,
    user: bool,
    command: list[str],
    pull: PullSettings = PullSettings(),
) -> str:
    """A template with its @FIELDS@ filled in for this host."""
    args = (["--user"] if user else []) + [definitions]
    fields = {
        "@ORCHESTRATOR@": quote_argv(command),
        "@ARGS@": quote_argv(args),
        "@PULL_ARGS@": quote_argv(pull.argv(user)),
        "@REPO@": escape_specifiers(pull.repo or "(no repository)"),
        "@INTERVAL@": pull.interval,
        "@SPLAY@": pull.splay,
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


def rendered(definitions: str, user: bool, pull: PullSettings = PullSettings()) -> dict[str, str]:
    """The units, running this very orchestrator: this interpreter, and the PYTHONPATH it runs
    with, if any (so that an orchestrator that is not installed system-wide still runs)."""
    command = [sys.executable, "-m", "orchestrator"]
    directory = template_dir()
    texts = {name: (directory / name).read_text() for name in NAMES}
    units = {
        name: fill(text, definitions=definitions, user=user, command=command, pull=pull)
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
