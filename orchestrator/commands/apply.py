"""`orchestrator apply`: make the host run exactly what the definitions declare."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from orchestrator.commands.common import (
    add_json_flag,
    add_timeout_flag,
    add_user_flag,
    apply_options,
    end_progress,
    load_definitions,
    render_units,
    target,
)
from orchestrator.commands.output import plan_printer, print_json, print_report

if TYPE_CHECKING:
    from orchestrator.apply import ApplyReport, Options
    from orchestrator.core.target import Target

NAME = "apply"
HELP = "reconcile the host with the definitions: write units, reload, start, restart, remove"
DESCRIPTION = """\
Load and validate every definition (nothing is touched if anything is invalid), render the units,
ask systemd for the state of the managed ones, print the plan and carry it out:

  - pre-pull the images of new and changed containers (per `pull`), before anything is stopped;
  - stop, disable and remove the units that are no longer declared;
  - write new and changed unit files atomically and reload systemd once, only if a file changed;
  - enable or disable per `enabled`; start new units and any declared unit that is not running,
    restart changed ones, all enqueued at once so that systemd orders them by After=; services
    that did not change are left alone (same main PID, same invocation);
  - wait for every job, then for each started unit to stay up, and be healthy where it has a
    health check; print a line per unit and the journal tail of each failure.

A unit file without orchestrator's mark is never touched; declaring a unit of its name is an
error. One apply runs at a time. Each apply that changed something is recorded as a generation
(`orchestrator history`, `orchestrator rollback`).

A unit is as declared when it runs; a job with restart = "no" also when it has run and finished
successfully; a container with enabled = false also when it is stopped (apply starts it when it
is new or changed, and does not start it otherwise). Definitions that declare nothing are refused
while managed units exist, unless --allow-empty (which removes them all).

Exit 0 when everything runs as declared, 1 otherwise; with --dry-run, 0 when nothing would
change and 2 when something would (as `orchestrator plan`)."""
EPILOG = """\
examples:
  orchestrator apply examples/web-stack
  orchestrator apply --dry-run                # /etc/orchestrator: print the plan, change nothing
  orchestrator apply --rollback-on-failure --json
  orchestrator apply --user                   # ~/.config/orchestrator, the user's manager"""


SWITCHES = (
    ("--rollback-on-failure", "if the new state does not come up, apply the newest generation "
     "that did"),
    ("--until-stable", "apply again (up to 5 times) if the definitions changed while applying"),
    ("--allow-empty", "allow definitions that declare nothing (which removes every managed unit)"),
)  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="definition files or directories")
    add_common(parser)
    for flag, meaning in SWITCHES:
        parser.add_argument(flag, action="store_true", help=meaning)


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    parser.add_argument(
        "--no-diff", action="store_true", help="do not print the diffs of changed units"
    )
    add_timeout_flag(parser, 300, "for the jobs and for units to come up")
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.apply import rollback_after

    where = target(args, args.paths)
    opts = apply_options(where, args)
    report = _apply_until_stable(args, where, opts)
    if report.ok or not args.rollback_on_failure or args.dry_run:
        return finish(args, report)
    return finish(args, report, rollback_after(report, opts))


def _apply_until_stable(args: argparse.Namespace, where: Target, opts: Options) -> ApplyReport:
    """One apply; with --until-stable, again (up to 5 times in all) while the definitions change
    under it, since systemd drops a path unit's trigger that comes while the apply runs."""
    import time

    from orchestrator.apply import apply
    from orchestrator.core.loader import fingerprint
    from orchestrator.errors import DefinitionError

    given = list(where.definitions)
    for attempt in range(5 if args.until_stable else 1):
        before = fingerprint(given)
        try:
            spec = load_definitions(where)
        except DefinitionError:
            # caught mid-change (a checkout half done): load again once the files settle
            if attempt == 4 or not args.until_stable:
                raise
            time.sleep(0.5)
            if fingerprint(given) == before:
                raise
            opts.say("the definitions changed while being read: reading them again")
            continue
        report = apply(
            render_units(spec, where), opts, sources=list(spec.files), dry_run=args.dry_run,
            allow_empty=args.allow_empty, show_plan=plan_printer(args),
        )  # fmt: skip
        if fingerprint(given) == before:
            break
        opts.say("the definitions changed while applying: applying again")
    return report


def finish(
    args: argparse.Namespace, report: ApplyReport, rollback: ApplyReport | None = None
) -> int:
    """Print the report (and the rollback's); exit 0 when the apply brought everything up, 2 for a
    dry run with changes pending (as `plan`), 1 otherwise."""
    end_progress()
    code = 0 if report.ok else 1
    if report.dry_run:
        code = 2 if report.plan.has_work else 0
    if args.json:
        data = report.as_dict()
        if rollback is not None:
            data = {"ok": False, "apply": data, "rollback": rollback.as_dict()}
        print_json(data)
        return code
    print_report(report)
    if rollback is not None:
        print("\nRollback:")
        print_report(rollback)
    return code
