"""`orchestrator logs`: a managed service's journal."""

from __future__ import annotations

import argparse

from orchestrator.commands.common import add_user_flag, managed_unit, target

NAME = "logs"
HELP = "show a service's journal (its container's output included)"
DESCRIPTION = """\
Show the journal of a managed service: systemd's messages about it and the output of its
container. NAME is the container's name as declared (or its unit name)."""
EPILOG = """\
examples:
  orchestrator logs web -n 50
  orchestrator logs web -f"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the container (or unit) name")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new entries")
    parser.add_argument(
        "-n", "--lines", type=int, default=None, metavar="N", help="the last N entries"
    )
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.errors import UsageError
    from orchestrator.host import journal, runner

    where = target(args)
    unit = managed_unit(where.unit_dir, args.name)
    if args.lines is not None and args.lines < 0:
        raise UsageError(f"--lines expects a number of entries >= 0, got {args.lines}")
    argv = journal.argv(unit, user=where.user, lines=args.lines, follow=args.follow)
    return runner.run(argv, check=False, capture=False, interactive=True).returncode
