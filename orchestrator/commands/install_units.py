"""`orchestrator install-units`: install orchestrator's own units, for watch, path or pull mode."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from orchestrator.commands.common import add_user_flag, target

if TYPE_CHECKING:
    from orchestrator.host import selfunits

NAME = "install-units"
HELP = "install orchestrator's own units: a watcher, a path unit that applies, or a pull timer"
DESCRIPTION = """\
Install orchestrator's own systemd units (units/ in the source) into /etc/systemd/system (or,
with --user, ~/.config/systemd/user), then enable and start the one the mode asks for:

  watch  orchestrator-watch.service: `orchestrator watch` as a supervised service (Type=notify);
         applies at start and after every change, subdirectories included, debounced.
  path   orchestrator-apply.path: systemd watches the definitions directory and runs
         orchestrator-apply.service (one `orchestrator apply`) after a change; nothing of ours
         stays resident. systemd watches that directory only, not its subdirectories.
  pull   orchestrator-pull.timer: runs orchestrator-pull.service (one `orchestrator pull
         --repo URL`) soon after boot, then --interval after each pull ended, each start
         delayed at random by up to --splay so that a fleet does not pull all at once.

Installing again switches the mode. The containers never depend on these units: they start at
boot by their own units, and `uninstall-units` changes nothing for them."""
EPILOG = """\
examples:
  orchestrator install-units                      # watch /etc/orchestrator
  orchestrator install-units --mode path
  orchestrator install-units --user --definitions ~/deploy
  orchestrator install-units --mode pull --repo /srv/fleet.git --splay 2min"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=("watch", "path", "pull"), default="watch",
                        help="watch (default), path or pull")  # fmt: skip
    parser.add_argument(
        "--definitions",
        metavar="DIR",
        help="the definitions directory (default /etc/orchestrator, or ~/.config/orchestrator)",
    )
    parser.add_argument("--no-start", action="store_true", help="enable, but do not start now")
    pull = parser.add_argument_group("pull mode (see `orchestrator pull --help`)")
    pull.add_argument("--repo", metavar="URL", help="the fleet repository (required for pull)")
    pull.add_argument("--branch", metavar="B", help="the branch to follow (default: ring, main)")
    keys = pull.add_mutually_exclusive_group()
    keys.add_argument("--allowed-signers", metavar="FILE", help="accept only commits signed so")
    keys.add_argument("--gpg-home", metavar="DIR", help="or signed by a key in this GnuPG home")
    pull.add_argument("--host", metavar="NAME", help="this host's name in fleet.toml")
    pull.add_argument(
        "--interval", default="5min", metavar="SPAN", help="from a pull's end to the next pull"
    )
    pull.add_argument(
        "--splay", default="1min", metavar="SPAN", help="a random delay of up to SPAN per pull"
    )
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.errors import UsageError
    from orchestrator.host import selfunits
    from orchestrator.host.systemd import Systemd
    from orchestrator.host.unitdir import write_atomic

    where = target(args, [args.definitions] if args.definitions else [])
    definitions = os.path.abspath(where.definitions[0])
    if args.mode != "pull" and not os.path.isdir(definitions):
        raise UsageError(f"{definitions}: no such directory (create it, or pass --definitions)")
    unit_dir = where.unit_dir
    units = selfunits.rendered(definitions, where.user, _pull_settings(args))
    with Systemd(where.user) as systemd:
        selfunits.refuse_foreign(unit_dir)
        try:
            os.makedirs(unit_dir, exist_ok=True)
            for name, text in units.items():
                write_atomic(unit_dir, name, text)
        except OSError as exc:
            raise UsageError(f"cannot write into {unit_dir}: {exc.strerror}") from None
        entry = selfunits.ENTRY[args.mode]
        others = [u for m, u in selfunits.ENTRY.items() if m != args.mode]
        systemd.enable([entry])  # first, so that a failure never leaves no mode enabled
        systemd.disable(others)
        systemd.reload()
        # restart: a watcher already running must pick up new definitions or a new interpreter
        jobs = [("stop", u) for u in others] + ([] if args.no_start else [("restart", entry)])
        results = systemd.run_jobs(jobs, 120)
    started = results.results.get(entry)
    if not args.no_start and started != "done":
        print(f"installed into {unit_dir}, but {entry} did not start ({started or 'timeout'}): "
              f"see `journalctl {'--user-unit' if where.user else '-u'} {entry}`")  # fmt: skip
        return 1
    state = "enabled" if args.no_start else "enabled and started"
    print(f"installed {', '.join(units)} into {unit_dir}; {entry} {state} ({args.mode} mode, "
          f"definitions in {definitions})")  # fmt: skip
    return 0


def _pull_settings(args: argparse.Namespace) -> selfunits.PullSettings:
    """What the pull units run; checked here, so that a mistake never reaches a timer."""
    from orchestrator.core import values
    from orchestrator.errors import UsageError
    from orchestrator.host import selfunits

    if args.mode != "pull":
        return selfunits.PullSettings()
    if not args.repo:
        raise UsageError("--mode pull needs --repo URL (the fleet repository)")
    for flag, span in (("--interval", args.interval), ("--splay", args.splay)):
        try:
            values.duration_ms(span)
        except ValueError as exc:
            raise UsageError(f"{flag}: {exc}") from None
    if args.allowed_signers and not os.path.isfile(args.allowed_signers):
        raise UsageError(f"--allowed-signers {args.allowed_signers}: no such file")
    if args.gpg_home and not os.path.isdir(args.gpg_home):
        raise UsageError(f"--gpg-home {args.gpg_home}: no such directory")
    return selfunits.PullSettings(
        repo=args.repo,
        branch=args.branch,
        host=args.host,
        allowed_signers=os.path.abspath(args.allowed_signers) if args.allowed_signers else None,
        gpg_home=os.path.abspath(args.gpg_home) if args.gpg_home else None,
        interval=args.interval,
        splay=args.splay,
    )
