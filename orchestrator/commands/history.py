"""`orchestrator history`: the generations recorded by applies that changed something."""

from __future__ import annotations

import argparse
import json

from orchestrator.commands.common import add_json_flag, add_user_flag
from orchestrator.host import paths

NAME = "history"
HELP = "list the recorded generations (each apply that changed something)"
DESCRIPTION = """\
Each apply that changed something records a generation: the rendered units, the definition files
they came from, the time and whether everything came up. They live in /var/lib/orchestrator
(user mode: $XDG_STATE_HOME/orchestrator). `orchestrator rollback N` applies one again."""
EPILOG = """\
examples:
  orchestrator history
  orchestrator history --json"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    import time

    from orchestrator.host import history

    found = history.generations(args.state_dir or paths.state_dir(args.user))
    if args.json:
        print(json.dumps([g.as_dict() for g in found], indent=2))
        return 0
    if not found:
        print("no generations yet: the first apply that changes something records one")
        return 0
    print("GEN  TIME                 RESULT  UNITS  NOTE")
    for g in found:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(g.time))
        current = "  (current)" if g is found[-1] else ""
        print(f"{g.number:<4} {when}  {g.result:<6}  {len(g.units):<5}  {g.note}{current}")
    return 0
