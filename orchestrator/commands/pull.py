"""`orchestrator pull`: fetch the fleet repository, and apply this host's part of it."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from orchestrator.commands.apply import add_common
from orchestrator.commands.common import apply_options, end_progress, target
from orchestrator.commands.output import print_json

if TYPE_CHECKING:
    from orchestrator.apply import ApplyReport, Options
    from orchestrator.pull import Converge

T = TypeVar("T")
NAME = "pull"
HELP = "fetch a fleet repository and apply this host's definitions (a signed fast-forward only)"
DESCRIPTION = """\
Fetch BRANCH of the fleet repository at URL into STATE/fleet-checkout, then:

  - refuse a commit that is not a fast-forward of the one this host last applied (a force-push,
    a rewritten branch), and, with --allowed-signers (SSH signatures) or --gpg-home (OpenPGP),
    a commit not signed by one of its keys;
  - find this host in fleet.toml (by machine id where fleet.toml gives one, else by host name);
    a host that is not there applies nothing and says so;
  - merge its layers (see `orchestrator fleet --help`), validate, and apply with rollback on
    failure: a new commit that does not come up is rolled back and not tried again until a newer
    commit arrives; the host keeps converging on its last good commit (drift, such as a unit
    stopped by hand, is corrected and reported).

Without --branch, a host whose fleet.toml entry names a `ring` follows the branch of that name
(promote a change to a ring by fast-forwarding its branch); others follow main.

Every run writes STATE/pull-status.json (commit, the fetched head, generation, result, each
unit's state) and STATE/orchestrator.prom (node_exporter's textfile format); the generation's
note names the commit. A result other than ok is also printed on stderr (the journal). One pull
runs at a time: a second waits for it, as a pull waits for a running apply (up to --timeout).
Exit 0 when the host runs its commit as declared (or is not in the fleet), 1 otherwise.
Credentials for the repository are the host's own (an SSH deploy key, a credential helper)."""
EPILOG = """\
examples:
  orchestrator pull --repo https://git.example.com/ops/fleet.git
  orchestrator pull --repo /srv/fleet.git --branch canary --allowed-signers /etc/ssh/fleet-signers
  orchestrator pull --repo ... --metrics-file /var/lib/prometheus/node-exporter/orchestrator.prom"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", required=True, metavar="URL", help="the fleet repository (git)")
    parser.add_argument("--branch", metavar="B", help="the branch to follow (default: ring, main)")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument(
        "--allowed-signers",
        metavar="FILE",
        help="accept only commits signed by a key in this SSH allowed-signers file",
    )
    keys.add_argument(
        "--gpg-home",
        metavar="DIR",
        help="accept only commits signed (OpenPGP) by a key in this GnuPG home, which holds "
        "the allowed public keys only",
    )
    parser.add_argument("--host", metavar="NAME", help="this host's name in fleet.toml "
                        "(default: the host name; a machine_id in fleet.toml wins)")  # fmt: skip
    parser.add_argument("--status-file", metavar="FILE", help="default STATE/pull-status.json")
    parser.add_argument("--metrics-file", metavar="FILE", help="default STATE/orchestrator.prom")
    add_common(parser)


def _machine_id() -> str | None:
    try:
        with open("/etc/machine-id", encoding="ascii") as handle:
            return handle.read().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def run(args: argparse.Namespace) -> int:

    from orchestrator.pull import Settings, pull

    where = target(args)
    opts = apply_options(where, args)
    settings = Settings(
        url=args.repo,
        branch=args.branch,
        state_dir=where.state_dir,
        hostname=args.host or _hostname(),
        machine_id=None if args.host else _machine_id(),
        allowed_signers=args.allowed_signers,
        gpg_home=args.gpg_home,
        status_file=args.status_file or "",
        metrics_file=args.metrics_file or "",
        mode=where.mode,
        cgroups_v1=where.cgroups_v1,
    )
    converge = _converger(args, opts)
    status = _when_free(lambda: pull(settings, converge, opts.say), opts.timeout)
    good = status.result in ("ok", "unmatched")
    end_progress()
    if args.json:
        print_json(status.as_dict())
    # stderr for what went wrong: the journal of the pull service shows it as an error's line
    if not args.json or not good:
        print(f"{status.result}: {status.message}", file=sys.stdout if good else sys.stderr)
    return 0 if good else 1


def _converger(args: argparse.Namespace, opts: Options) -> Converge:
    from orchestrator.apply import rollback_after

    def converge(units: dict[str, str], sources: list[str], note: str) -> ApplyReport:
        report = _apply_when_free(units, opts, sources=sources, note=note, dry_run=args.dry_run)
        if not report.ok and not args.dry_run:
            rollback_after(report, opts)
        return report

    return converge


def _apply_when_free(units: dict[str, str], opts: Options, **kwargs: Any) -> ApplyReport:
    """A pull that comes while another apply runs waits for it (up to --timeout): a timer
    firing during a hand-run apply is no failure."""
    from orchestrator.apply import apply

    return _when_free(lambda: apply(units, opts, **kwargs), opts.timeout)


def _when_free(action: Callable[[], T], timeout: float, pause: float = 1.0) -> T:
    """action(), again every pause seconds while it finds its lock held (another apply, another
    pull), for up to timeout seconds."""
    from orchestrator.host.lock import BusyError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except BusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)


def _hostname() -> str:
    import socket  # here: every command builds this module's parser, few of them pull

    return socket.gethostname()
