"""`orchestrator history`: the generations recorded by applies that changed something."""

from __future__ import annotations

import argparse

from orchestrator.commands.common import add_json_flag, add_user_flag, target
from orchestrator.commands.output import print_json
from orchestrator.textout import table

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

    found = history.generations(target(args).state_dir)
    if args.json:
        print_json({"generations": [g.as_dict() for g in found]})
        return 0
    if not found:
        print("no generations yet: the first apply that changes something records one")
        return 0
    rows = [
        (str(g.number), time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(g.time)), g.result,
         str(len(g.units)), g.note + ("  (current)" if g is found[-1] else ""))
        for g in found
    ]  # fmt: skip
    for line in table(rows, ("GEN", "TIME", "RESULT", "UNITS", "NOTE")):
        print(line)
    return 0
