"""`orchestrator install-units`: install orchestrator's own units, for watch or path mode."""

from __future__ import annotations

import argparse
import os

from orchestrator.commands.common import add_user_flag, target

NAME = "install-units"
HELP = "install orchestrator's own units: a resident watcher, or a path unit that applies"
DESCRIPTION = """\
Install orchestrator's own systemd units (units/ in the source) into /etc/systemd/system (or,
with --user, ~/.config/systemd/user), then enable and start the one the mode asks for:

  watch  orchestrator-watch.service: `orchestrator watch` as a supervised service (Type=notify);
         applies at start and after every change, subdirectories included, debounced.
  path   orchestrator-apply.path: systemd watches the definitions directory and runs
         orchestrator-apply.service (one `orchestrator apply`) after a change; nothing of ours
         stays resident. systemd watches that directory only, not its subdirectories.

Installing again switches the mode. The containers never depend on these units: they start at
boot by their own units, and `uninstall-units` changes nothing for them."""
EPILOG = """\
examples:
  orchestrator install-units                      # watch /etc/orchestrator
  orchestrator install-units --mode path
  orchestrator install-units --user --definitions ~/deploy"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=("watch", "path"), default="watch",
                        help="watch (default) or path")  # fmt: skip
    parser.add_argument(
        "--definitions",
        metavar="DIR",
        help="the definitions directory (default /etc/orchestrator, or ~/.config/orchestrator)",
    )
    parser.add_argument("--no-start", action="store_true", help="enable, but do not start now")
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.errors import UsageError
    from orchestrator.host import selfunits
    from orchestrator.host.systemd import Systemd
    from orchestrator.host.unitdir import write_atomic

    where = target(args, [args.definitions] if args.definitions else [])
    definitions = os.path.abspath(where.definitions[0])
    if not os.path.isdir(definitions):
        raise UsageError(f"{definitions}: no such directory (create it, or pass --definitions)")
    unit_dir = where.unit_dir
    units = selfunits.rendered(definitions, where.user)
    with Systemd(where.user) as systemd:
        selfunits.refuse_foreign(unit_dir)
        try:
            os.makedirs(unit_dir, exist_ok=True)
            for name, text in units.items():
                write_atomic(unit_dir, name, text)
        except OSError as exc:
            raise UsageError(f"cannot write into {unit_dir}: {exc.strerror}") from None
        entry = selfunits.ENTRY[args.mode]
        other = next(u for m, u in selfunits.ENTRY.items() if m != args.mode)
        systemd.enable([entry])  # first, so that a failure never leaves neither mode enabled
        systemd.disable([other])
        systemd.reload()
        # restart: a watcher already running must pick up new definitions or a new interpreter
        jobs = [("stop", other)] + ([] if args.no_start else [("restart", entry)])
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
