"""`orchestrator watch`: keep the host converged while the definitions change."""

from __future__ import annotations

import argparse
import sys

from orchestrator.commands.common import add_user_flag, apply_options, target

NAME = "watch"
HELP = "apply now, then again on every change to the definitions"
DESCRIPTION = """\
Apply the definitions once, then watch them (inotify, through watchfiles) and apply again after
every change. Changes that come together (an editor's save, a `git checkout` of many files) make
one apply. An invalid edit is reported with its file and key and changes nothing: the last good
state stays in place. A failing apply is reported and retried on the next change. SIGTERM and
SIGINT stop the watcher between applies.

Under systemd (orchestrator-watch.service, `orchestrator install-units`) it reports readiness
(Type=notify) once it watches, so boot never waits for it, and logs one line per apply to the
journal.
Only *.toml files count; hidden files (editors' lock and swap files) are ignored. A part of the
definitions that cannot be read (a directory that cannot be listed, a link that leads nowhere) is
an error: at start the watcher exits 1, and later each apply is refused, changing nothing, until
it can be read again."""
EPILOG = """\
examples:
  orchestrator watch                       # /etc/orchestrator
  orchestrator watch examples/offline --debounce 300
  orchestrator watch --user"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="definition files or directories")
    parser.add_argument(
        "--debounce",
        type=int,
        default=100,
        metavar="MS",
        help="apply once no change has come for MS milliseconds (default 100)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300, metavar="S", help="per apply, as for apply"
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="apply definitions that declare nothing (which removes every managed unit); "
        "without it such a state is reported and changes nothing, as with apply",
    )
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.core.loader import find_files
    from orchestrator.errors import DefinitionError, UsageError
    from orchestrator.watch import Watcher, stop_on_signals

    where = target(args, args.paths)
    _, unreadable = find_files(list(where.definitions))
    if unreadable:  # as any command: a part left out would have its units removed
        raise DefinitionError(unreadable)
    if not 10 <= args.debounce <= 60000:
        raise UsageError(f"--debounce expects 10 to 60000 milliseconds, got {args.debounce}")

    def log(line: str) -> None:
        print(line, flush=True)

    stop = stop_on_signals()
    watcher = Watcher(
        where, apply_options(where, args, progress=False),
        step_ms=args.debounce, max_group_ms=max(2000, 5 * args.debounce), log=log,
        allow_empty=args.allow_empty,
    )  # fmt: skip
    watcher.run(stop)
    sys.stdout.flush()
    return 0
