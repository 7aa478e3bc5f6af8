"""`orchestrator uninstall-units`: remove orchestrator's own units; containers stay as they are."""

from __future__ import annotations

import argparse
import contextlib
import os

from orchestrator.commands.common import add_user_flag, target

NAME = "uninstall-units"
HELP = "stop and remove orchestrator's own units (the containers are not touched)"
DESCRIPTION = """\
Stop, disable and remove orchestrator-watch.service, orchestrator-apply.service and
orchestrator-apply.path. The containers' units are left exactly as they are: running containers
keep running and still start at boot."""
EPILOG = """\
examples:
  orchestrator uninstall-units
  orchestrator uninstall-units --user"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.host import selfunits
    from orchestrator.host.systemd import Systemd

    where = target(args)
    unit_dir = where.unit_dir
    present = [n for n in selfunits.NAMES if os.path.lexists(os.path.join(unit_dir, n))]
    ours = [n for n in present if selfunits.is_ours(os.path.join(unit_dir, n))]
    with Systemd(where.user) as systemd:
        result = systemd.run_jobs([("stop", n) for n in ours], 600)  # TimeoutStopSec=10min
        systemd.disable(ours)
        for name in ours:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(unit_dir, name))
        systemd.reload()
    for unit in result.unfinished:
        print(f"warning: {unit} did not stop within 10 minutes; its file is removed anyway")
    left = sorted(set(present) - set(ours))
    note = f"; left alone (not installed by orchestrator): {', '.join(left)}" if left else ""
    print(f"removed {len(ours)} unit file(s) from {unit_dir}{note}")
    return 0
