"""`orchestrator rollback`: apply a recorded generation again."""

from __future__ import annotations

import argparse

from orchestrator.commands.apply import add_common, finish, options

NAME = "rollback"
HELP = "apply a recorded generation again (default: the one before the current)"
DESCRIPTION = """\
Apply the units of generation N again, exactly as they were rendered then (the definition files
are not read). Without N, the generation before the current one. The rollback is an apply like
any other: it prints the plan, restarts only what differs, reports each unit, and is recorded as
a new generation.

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
    from orchestrator import history
    from orchestrator.apply import apply
    from orchestrator.commands.apply import _shower
    from orchestrator.errors import UsageError

    opts = options(args)
    found = history.generations(opts.state_dir)
    target = args.generation
    if target is None:
        if len(found) < 2:
            raise UsageError("there is no generation before the current one to roll back to")
        target = found[-2].number
    units = history.units_of(opts.state_dir, target)
    report = apply(units, opts, dry_run=args.dry_run, note=f"rollback to {target}",
                   show_plan=_shower(args))  # fmt: skip
    return finish(args, [report])
