"""`orchestrator fleet`: one repository of definitions for many hosts, checked offline."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from orchestrator.commands.common import add_json_flag
from orchestrator.commands.output import declared, declared_text, print_json

if TYPE_CHECKING:
    from orchestrator.core.fleet import Fleet, Host

NAME = "fleet"
HELP = "check, render, plan and explain a fleet repository (many hosts, one repository)"
DESCRIPTION = """\
A fleet repository holds the definitions of many hosts:

  fleet.toml            [defaults] variables; [group.NAME] vars; [host.NAME] groups, vars,
                        machine_id, ring
  base/*.toml           every host
  groups/GROUP/*.toml   the hosts in GROUP, in each host's group order
  hosts/HOST/*.toml     one host

A host's definitions are its layers merged per resource: tables merge key by key, arrays and
scalars are replaced, `remove = true` drops a resource an earlier layer declared. `${name}` in a
string is the host's variable (host over groups, later group over earlier, over [defaults]);
`$${` writes a literal `${`. Nothing here touches the host: these commands read the repository
only, so CI can run them on every change. `fleet plan --all` plans every host even when some are
invalid (their errors are their result; exit 1), so a review sees every host."""
EPILOG = """\
examples:
  orchestrator fleet validate examples/fleet
  orchestrator fleet plan examples/fleet --all
  orchestrator fleet plan examples/fleet --host web-1 --reported reported/  # reported/web-1/
  orchestrator fleet render examples/fleet --host web-1 --out /tmp/web-1
  orchestrator fleet explain examples/fleet --host web-2 container.web.ports"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    validate = sub.add_parser("validate", help="every host's merged definitions validate")
    validate.add_argument("repo", nargs="?", default=".", metavar="REPO")
    add_json_flag(validate)
    render = sub.add_parser("render", help="write one host's unit files into a directory")
    render.add_argument("repo", metavar="REPO")
    render.add_argument("--host", required=True, metavar="HOST")
    render.add_argument("--out", required=True, metavar="DIR")
    add_json_flag(render)
    plan = sub.add_parser("plan", help="what an apply would change, host by host (offline)")
    plan.add_argument("repo", metavar="REPO")
    which = plan.add_mutually_exclusive_group(required=True)
    which.add_argument("--host", metavar="HOST")
    which.add_argument("--all", action="store_true", help="every host in fleet.toml")
    plan.add_argument(
        "--reported",
        metavar="DIR",
        help="DIR/HOST/ holds each host's last reported unit files (else: compared with none)",
    )
    plan.add_argument("--no-diff", action="store_true", help="do not print the diffs")
    add_json_flag(plan)
    explain = sub.add_parser("explain", help="which layer set a value, and what it was before")
    explain.add_argument("repo", metavar="REPO")
    explain.add_argument("--host", required=True, metavar="HOST")
    explain.add_argument("key", metavar="KEY", help="a key path, e.g. container.web.ports")
    add_json_flag(explain)


def run(args: argparse.Namespace) -> int:
    from orchestrator.core.fleet import read_fleet

    fleet = read_fleet(args.repo)
    actions = {"validate": _validate, "render": _render, "plan": _plan, "explain": _explain}
    return actions[args.fleet_command](fleet, args)


def _units(fleet: Fleet, host: Host) -> dict[str, str]:
    from orchestrator.core.fleet import load_host
    from orchestrator.core.render import render

    _, spec = load_host(fleet, host)
    return render(spec, "system")


def _validate(fleet: Fleet, args: argparse.Namespace) -> int:
    from orchestrator.core.fleet import load_host
    from orchestrator.errors import DefinitionError, Problem

    problems: list[Problem] = []
    counts: dict[str, dict[str, int]] = {}
    for name, host in sorted(fleet.hosts.items()):
        try:
            _, spec = load_host(fleet, host)
        except DefinitionError as exc:
            problems += exc.problems
            continue
        counts[name] = declared(spec)
    problems += _stray_directories(fleet)
    if problems:
        raise DefinitionError(problems)
    if args.json:
        print_json({"ok": True, "repo": args.repo, "hosts": counts})
        return 0
    for name, count in counts.items():
        print(f"ok: {name}: {declared_text(count)}")
    print(f"{len(counts)} host(s) valid")
    return 0


def _stray_directories(fleet: Fleet) -> list[Any]:
    """hosts/NAME/ with no [host.NAME], groups/NAME/ in no host's groups: their definitions
    would reach no host, silently (a misspelt directory name, a host renamed in fleet.toml)."""
    from orchestrator.errors import Problem

    used = {
        "hosts": (set(fleet.hosts), "no [host.{}] in fleet.toml"),
        "groups": ({g for h in fleet.hosts.values() for g in h.groups}, "no host in fleet.toml "
                   'has "{}" in its groups: its definitions reach no host'),
    }  # fmt: skip
    problems = []
    for kind, (names, why) in used.items():
        top = os.path.join(fleet.root, kind)
        found = sorted(os.listdir(top)) if os.path.isdir(top) else []
        problems += [
            Problem(os.path.join(top, name), message=why.format(name))
            for name in found
            if not name.startswith(".") and name not in names
        ]
    return problems


def _render(fleet: Fleet, args: argparse.Namespace) -> int:
    from orchestrator.host.unitdir import write_units

    units = _units(fleet, fleet.host(args.host))
    written = write_units(args.out, units, durable=False)
    if args.json:
        payload = {"ok": True, "host": args.host, "units": list(units), "written": written}
        print_json(payload)
    else:
        print(f"{args.host}: wrote {len(written)} unit file(s) into {args.out}")
    return 0


def _plan(fleet: Fleet, args: argparse.Namespace) -> int:
    """With --all, a host whose definitions are invalid is that host's result, not the end of
    the run: a review of a change wants every host's plan, and every host's errors."""
    from orchestrator.errors import OrchestratorError

    if not args.all:
        plan = _host_plan(fleet, fleet.host(args.host).name, args.reported)
        return _report_plans(args, {args.host: plan}, {})
    plans, failures = {}, {}
    for name in sorted(fleet.hosts):
        try:
            plans[name] = _host_plan(fleet, name, args.reported)
        except OrchestratorError as exc:
            failures[name] = exc
    return _report_plans(args, plans, failures)


def _host_plan(fleet: Fleet, name: str, reported: str | None) -> Any:
    from orchestrator.core.plan import make_plan
    from orchestrator.host.unitdir import read_unit_dir

    current: dict[str, str] = {}
    foreign: set[str] = set()
    if reported:
        current, foreign = read_unit_dir(os.path.join(reported, name))
    return make_plan(_units(fleet, fleet.hosts[name]), current, foreign)


def _report_plans(args: argparse.Namespace, plans: dict[str, Any], failures: dict[str, Any]) -> int:
    """Exit 1 if any host is invalid, else 2 if any host has changes, else 0. A failed host's
    JSON is what a failed command's is: ok false, the error and its problems."""
    from orchestrator.errors import DefinitionError

    if args.json:
        hosts: dict[str, Any] = {
            n: {"ok": True, **p.as_dict(diffs=not args.no_diff)} for n, p in plans.items()
        }
        for name, exc in failures.items():
            problems = exc.problems if isinstance(exc, DefinitionError) else []
            hosts[name] = {"ok": False, "error": str(exc),
                           "problems": [p.as_dict() for p in problems]}  # fmt: skip
        print_json({"ok": not failures, "hosts": dict(sorted(hosts.items()))})
    else:
        for name in sorted({*plans, *failures}):
            if name in plans:
                _print_host_plan(name, plans[name], diffs=not args.no_diff)
                continue
            print(f"host {name}: invalid, nothing planned")
            for line in failures[name].lines():
                print(line, file=sys.stderr)
    if failures:
        return 1
    return 2 if any(p.has_changes for p in plans.values()) else 0


def _print_host_plan(name: str, plan: Any, *, diffs: bool) -> None:
    counts = ", ".join(f"{plan.count(a)} to {a}" for a in ("create", "change", "remove"))
    print(f"host {name}: " + (counts if plan.has_changes else "no changes"))
    for change in plan.changes:
        if change.action != "unchanged":
            print(f"  {change.action:<7} {change.unit} ({change.kind})")
    for change in plan.changes if diffs else []:
        if change.action == "change":
            print(
                "".join(f"    {line}" for line in change.diff().splitlines(keepends=True)), end=""
            )


def _explain(fleet: Fleet, args: argparse.Namespace) -> int:
    from orchestrator.core import loader
    from orchestrator.core.fleet import load_host, parse_key_path
    from orchestrator.errors import UsageError

    merged, _ = load_host(fleet, fleet.host(args.host))
    path = parse_key_path(args.key)
    if len(path) < 2 or (str(path[0]), str(path[1])) not in merged.tables:
        raise UsageError(f"{args.key}: host {args.host} declares no such resource")
    steps = [
        {"file": loader.display(os.path.abspath(f)), "key": loader.key_path(k), "value": v}
        for k, entries in merged.history.items()
        if k[: len(path)] == path or path[: len(k)] == k or k == (*path[:2], "remove")
        for f, v in entries
    ]
    final = _lookup(merged.tables[(str(path[0]), str(path[1]))], path[2:])
    # a value set through a variable: which fleet.toml key gave the variable its value
    variables = [
        {"file": loader.display(fleet.fleet_file), "key": key, "value": value}
        for key, value in merged.host.variables_in(json.dumps([s["value"] for s in steps]))
    ]
    if args.json:
        print_json({"host": args.host, "key": args.key, "value": final, "set": steps,
                    "variables": variables}, indent=None)  # fmt: skip
        return 0
    for step in steps:
        print(f"{step['file']}: {step['key']} = {json.dumps(step['value'])}")
    for var in variables:
        print(f"{var['file']}: {var['key']} = {json.dumps(var['value'])}")
    print(f"=> {args.key} = {json.dumps(final)} on {args.host}"
          + ("" if steps else " (not set by any layer)"))  # fmt: skip
    return 0


def _lookup(table: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        try:
            table = table[part]
        except (KeyError, IndexError, TypeError):
            return None
    return table
