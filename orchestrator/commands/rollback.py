"""`orchestrator rollback`: apply a recorded generation again."""

from __future__ import annotations

import argparse

from orchestrator.commands.apply import add_common, finish, options

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
    from orchestrator.commands.apply import _shower
    from orchestrator.errors import UsageError
    from orchestrator.host import history

    opts = options(args)
    target = args.generation
    if target is None:
        previous = history.rollback_target(opts.target.state_dir)
        if previous is None:
            raise UsageError(
                "there is no earlier generation that came up and differs from the current one "
                "(`orchestrator history` lists them; `orchestrator rollback N` picks one)"
            )
        target = previous.number
    units = history.units_of(opts.target.state_dir, target)
    report = apply(units, opts, dry_run=args.dry_run, note=f"rollback to {target}",
                   show_plan=_shower(args))  # fmt: skip
    return finish(args, report)
