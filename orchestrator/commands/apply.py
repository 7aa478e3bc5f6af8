"""`orchestrator apply`: make the host run exactly what the definitions declare."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from orchestrator.commands.common import (
    add_json_flag,
    add_user_flag,
    load_paths,
    render_units,
)
from orchestrator.host import paths

if TYPE_CHECKING:
    from collections.abc import Callable

    from orchestrator.apply import ApplyReport, Options
    from orchestrator.core.plan import Plan

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="definition files or directories")
    add_common(parser)
    parser.add_argument(
        "--rollback-on-failure",
        action="store_true",
        help="if the new state does not come up, apply the newest generation that did",
    )
    parser.add_argument(
        "--until-stable",
        action="store_true",
        help="apply again (up to 5 times) if the definitions changed while applying",
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="allow definitions that declare nothing (which removes every managed unit)",
    )


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    parser.add_argument(
        "--no-diff", action="store_true", help="do not print the diffs of changed units"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300,
        metavar="S",
        help="seconds to wait for the jobs and for units to come up (default 300)",
    )
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)
    add_json_flag(parser)


def options(args: argparse.Namespace) -> Options:
    from orchestrator.apply import Options
    from orchestrator.core.target import Target

    def say(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    target = Target(
        mode="user" if args.user else "system",
        definitions=tuple(getattr(args, "paths", None) or [paths.definitions_dir(args.user)]),
        unit_dir=args.unit_dir or paths.unit_dir(args.user),
        state_dir=args.state_dir or paths.state_dir(args.user),
    )
    return Options(
        target=target,
        timeout=args.timeout,
        quiet_pull=args.json,
        say=say,
    )


def run(args: argparse.Namespace) -> int:
    import time

    from orchestrator.apply import apply
    from orchestrator.core.loader import fingerprint
    from orchestrator.errors import DefinitionError, OrchestratorError
    from orchestrator.host import history

    opts = options(args)
    given = args.paths or [paths.definitions_dir(args.user)]
    for attempt in range(5 if args.until_stable else 1):
        before = fingerprint(given)
        try:
            _, spec = load_paths(args, given)
        except DefinitionError:
            # caught mid-change (a checkout half done): load again once the files settle
            if attempt == 4 or not args.until_stable:
                raise
            time.sleep(0.5)
            if fingerprint(given) == before:
                raise
            opts.say("the definitions changed while being read: reading them again")
            continue
        desired = render_units(spec, args)
        report = apply(
            desired, opts, sources=list(spec.files), dry_run=args.dry_run,
            allow_empty=args.allow_empty, show_plan=_shower(args),
        )  # fmt: skip
        if fingerprint(given) == before:
            break
        opts.say("the definitions changed while applying: applying again")
    if report.ok or not args.rollback_on_failure or args.dry_run:
        return finish(args, report)
    if report.generation is None:
        opts.say("rollback: this apply changed no unit file, so there is nothing to roll back")
        return finish(args, report)
    target = history.rollback_target(opts.target.state_dir, before=report.generation)
    if target is None:
        opts.say("rollback: no earlier generation came up; nothing to roll back to")
        return finish(args, report)
    opts.say(f"the new state did not come up: rolling back to generation {target.number}")
    try:
        units = history.units_of(opts.target.state_dir, target.number)
        rollback = apply(units, opts, note=f"rollback to {target.number}")
    except OrchestratorError as exc:
        opts.say(f"rollback to generation {target.number} failed: {exc}")
        return finish(args, report)
    return finish(args, report, rollback)


def _shower(args: argparse.Namespace) -> Callable[[Plan], None]:
    def show(plan: Plan) -> None:
        if not args.json:
            print_plan(plan, diffs=not args.no_diff)

    return show


def print_plan(plan: Plan, *, diffs: bool) -> None:
    from orchestrator.commands.plan import SYMBOLS

    width = max((len(c.unit) for c in plan.changes), default=0)
    for c in plan.changes:
        if c.action != "unchanged":
            print(f"  {SYMBOLS[c.action]} {c.unit:<{width}}  {c.action} ({c.kind})")
    for c in plan.changes if diffs else []:
        if c.action == "change":
            print("".join(f"    {line}" for line in c.diff().splitlines(keepends=True)), end="")
    for action in plan.actions:
        if action.verb in ("start", "restart") and action.unit:
            print(f"  {action.verb} {action.unit}: {action.reason}")
    if not plan.has_work:
        unchanged = plan.count("unchanged")
        print(f"No changes: {unchanged} unit(s) up to date and running; "
              "nothing written, reloaded or restarted.")  # fmt: skip


def finish(
    args: argparse.Namespace, report: ApplyReport, rollback: ApplyReport | None = None
) -> int:
    """Print the report (and the rollback's); exit 0 when the apply brought everything up, 2 for a
    dry run with changes pending (as `plan`), 1 otherwise."""
    code = 0 if report.ok else 1
    if report.dry_run:
        code = 2 if report.plan.has_work else 0
    if args.json:
        data = report.as_dict()
        if rollback is not None:
            data = {"ok": False, "apply": data, "rollback": rollback.as_dict()}
        print(json.dumps(data, indent=2))
        return code
    print_report(report)
    if rollback is not None:
        print("\nRollback:")
        print_report(rollback)
    return code


def print_report(report: ApplyReport) -> None:
    if report.dry_run:
        print("Dry run: nothing was changed.")
        return
    if report.error:
        print(f"error: {report.error}")
    width = max((len(o.unit) for o in report.outcomes), default=0)
    states = {o.unit: f"{o.active}/{o.sub}" + (f", {o.health}" if o.health else "")
              for o in report.outcomes}  # fmt: skip
    state_width = max((len(s) for s in states.values()), default=0)
    for o in report.outcomes:
        if o.change == "remove":
            print(f"  ok   {o.unit:<{width}}  {'removed':<{state_width}}  {', '.join(o.done)}")
            continue
        doing = ", ".join(o.done) if o.done else "unchanged"
        flag = "ok  " if o.ok else "FAIL"
        print(f"  {flag} {o.unit:<{width}}  {states[o.unit]:<{state_width}}  {doing}")
    for o in report.outcomes:
        if not o.ok:
            print(f"\n--- {o.unit} (job {o.job or '-'}, result {o.result or '-'}): journal\n"
                  f"{o.journal or '(empty)'}")  # fmt: skip
    steps = []
    if report.wrote:
        steps.append(f"wrote {len(report.wrote)}")
    if report.removed:
        steps.append(f"removed {len(report.removed)}")
    if report.reloaded:
        steps.append("reloaded systemd")
    if report.generation is not None:
        steps.append(f"generation {report.generation}")
    summary = "; ".join(steps) or "nothing written"
    verdict = "everything runs as declared" if report.ok else "NOT everything runs as declared"
    print(f"\n{verdict} ({summary}; {report.seconds:.2f} s)")
