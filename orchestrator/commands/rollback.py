"""`orchestrator rollback`: apply a recorded generation again."""

from __future__ import annotations

import argparse

from orchestrator.commands.apply import add_common, finish
from orchestrator.commands.common import apply_options, target
from orchestrator.commands.output import plan_printer

NAME = "rollback"
HELP = "apply a recorded generation again (default: the one before the current)"
DESCRIPTION = """\
Apply the units of generation N again, exactly as they were rendered then (the definition files
are not read; files they refer to, such as env files, are used as they are now). Without N, the
newest earlier generation that came up (result ok) and differs from the current one. The
rollback is an apply like any other: it prints the plan, restarts only what differs, reports
each unit, and is recorded as a new generation when it changed something.

A generation whose unit files are not the ones recorded is refused and nothing is changed: a
file without orchestrator's mark (an empty file a power cut left, say), a file missing or added,
or one whose sha256 differs from the one recorded with it. Generations recorded before checksums
were kept are checked by the mark and the list of units alone. Without N, damaged generations are
passed over.

Exit 0 when everything runs as declared, 1 otherwise."""
EPILOG = """\
examples:
  orchestrator history
  orchestrator rollback          # back to the generation before the current one
  orchestrator rollback 3"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("generation", nargs="?", type=int, metavar="N", help="generation number")
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.apply import apply
    from orchestrator.errors import UsageError
    from orchestrator.host import history

    where = target(args)
    number = args.generation
    if number is None:
        previous = history.rollback_target(where.state_dir)
        if previous is None:
            raise UsageError(
                "there is no earlier generation that came up and differs from the current one "
                "(`orchestrator history` lists them; `orchestrator rollback N` picks one)"
            )
        number = previous.number
    units = history.units_of(where.state_dir, number)
    report = apply(units, apply_options(where, args), dry_run=args.dry_run,
                   note=f"rollback to {number}", show_plan=plan_printer(args))  # fmt: skip
    return finish(args, report)
