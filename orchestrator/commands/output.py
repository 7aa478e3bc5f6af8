"""What the commands print for people: plans and apply reports (tables: orchestrator.textout)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orchestrator.textout import table

if TYPE_CHECKING:
    from orchestrator.apply import ApplyReport
    from orchestrator.core.models import Spec
    from orchestrator.core.plan import Plan

# The version of every --json output's shape (docs/json.md): raised when a key changes meaning
# or goes away, not when one is added.
JSON_SCHEMA = 1

SYMBOLS = {"create": "+", "change": "~", "remove": "-", "unchanged": "="}


def declared(spec: Spec) -> dict[str, int]:
    """How many of every kind the definitions declare, keyed as --json shows them."""
    from orchestrator.core.models import KINDS

    return {f"{kind}s": len(getattr(spec, f"{kind}s")) for kind in KINDS}


def declared_text(counts: dict[str, int]) -> str:
    """ "2 container(s), 0 volume(s), 0 network(s)": the kinds added later only when there are
    some, so that the line stays as it was for definitions without them."""
    first = ("containers", "volumes", "networks")
    return ", ".join(
        f"{n} {kind.removesuffix('s')}(s)" for kind, n in counts.items() if kind in first or n
    )


def print_plan(
    plan: Plan,
    *,
    diffs: bool,
    applying: bool = False,
    unit_dir: str | None = None,
    unchanged: bool = False,
) -> None:
    """A unit per line (create, change, remove; unchanged ones too if asked), then the details.

    `plan` prints a review: the unit directory, the restarts, every diff in full and the counts.
    An apply (applying) prints what it is about to do: the diffs of changed units indented under
    the list, each start and restart with its reason, and a verdict only when there is no work.
    """
    if unit_dir is not None:
        print(f"Unit directory: {unit_dir}")
    rows = [(f"{SYMBOLS[c.action]} {c.unit}", f"{c.action} ({c.kind})") for c in plan.changes]
    for c, line in zip(plan.changes, table(rows, indent="  "), strict=True):
        if c.action != "unchanged" or (unchanged and not applying):
            print(line)
    if applying:
        _print_jobs(plan, diffs=diffs)
    else:
        _print_review(plan, diffs=diffs)


def _print_jobs(plan: Plan, *, diffs: bool) -> None:
    for c in plan.changes if diffs else []:
        if c.action == "change":
            print("".join(f"    {line}" for line in c.diff().splitlines(keepends=True)), end="")
    for action in plan.actions:
        if action.verb in ("start", "restart") and action.unit:
            print(f"  {action.verb} {action.unit}: {action.reason}")
    if not plan.has_work:
        print(f"No changes: {plan.count('unchanged')} unit(s) up to date and running; "
              "nothing written, reloaded or restarted.")  # fmt: skip


def _print_review(plan: Plan, *, diffs: bool) -> None:
    if plan.restarts:
        print("Restarts:")
        for unit, reason in plan.restarts.items():
            print(f"  {unit}: {reason}")
    for c in plan.changes if diffs else []:
        if c.action != "unchanged":
            print("\n" + c.diff(), end="")
    counts = ", ".join(f"{plan.count(a)} to {a}" for a in ("create", "change", "remove"))
    if plan.has_changes:
        print(f"\nPlan: {counts}, {plan.count('unchanged')} unchanged.")
    else:
        print(f"\nNo changes: {plan.count('unchanged')} unit(s) up to date.")


def plan_printer(args: argparse.Namespace) -> Callable[[Plan], None]:
    """What an apply or a rollback shows of its plan before carrying it out: nothing with --json,
    whose report holds the plan."""

    def show(plan: Plan) -> None:
        from orchestrator.commands.common import end_progress

        end_progress()  # a rollback's plan comes while the apply's display is up
        if not args.json:
            print_plan(plan, diffs=not args.no_diff, applying=True)

    return show


def print_report(report: ApplyReport) -> None:
    """A line per unit (how it ended up and what was done to it), the journal of each failure,
    then the verdict with what changed."""
    if report.dry_run:
        print("Dry run: nothing was changed.")
        return
    if report.error:
        print(f"error: {report.error}")
    rows = []
    for o in report.outcomes:
        if o.change == "remove":
            rows.append((f"ok   {o.unit}", "removed", ", ".join(o.done)))
            continue
        state = f"{o.active}/{o.sub}" + (f", {o.health}" if o.health else "")
        flag = "ok  " if o.ok else "FAIL"
        rows.append((f"{flag} {o.unit}", state, ", ".join(o.done) if o.done else "unchanged"))
    for line in table(rows, indent="  "):
        print(line)
    for o in report.outcomes:
        if not o.ok:
            print(f"\n--- {o.unit} (job {o.job or '-'}, result {o.result or '-'}): journal\n"
                  f"{o.journal or '(empty)'}")  # fmt: skip
    print(f"\n{_verdict(report)}")


def _verdict(report: ApplyReport) -> str:
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
    return f"{verdict} ({summary}; {report.seconds:.2f} s)"


def print_json(payload: dict[str, Any], *, indent: int | None = 2) -> None:
    """A --json output: the payload with the schema number first (docs/json.md)."""
    print(json.dumps({"schema": JSON_SCHEMA, **payload}, indent=indent))


def print_written(args: argparse.Namespace, files: dict[str, str], written: list[str],
                  what: str) -> None:  # fmt: skip
    """What a conversion (import, export) wrote into --out: JSON, or one line for people."""
    if args.json:
        print_json({"ok": True, "out": args.out, "files": list(files), "written": written})
        return
    unchanged = len(files) - len(written)
    note = f" ({unchanged} already there)" if unchanged else ""
    print(f"wrote {len(written)} {what} file(s) into {args.out}{note}")
