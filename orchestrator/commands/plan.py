"""`orchestrator plan`: what an apply would change, without changing anything."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from orchestrator.commands.common import (
    add_json_flag,
    add_user_flag,
    load_definitions,
    refuse_system_units,
    render_units,
    target,
)
from orchestrator.commands.output import print_json, print_plan
from orchestrator.errors import safe

if TYPE_CHECKING:
    from orchestrator.core.models import Spec
    from orchestrator.host.registries import Registries, Resolution

NAME = "plan"
HELP = "show what would be created, changed, removed and restarted"
DESCRIPTION = """\
Render the definitions and compare them with the unit files orchestrator manages in the unit
directory. Prints what would be created, changed (with a unified diff) and removed, and which
services would be restarted (changed ones, and those systemd restarts with them because they
require a changed one). Unit files without orchestrator's mark are never planned for change or
removal; declaring a unit of the same name as one is an error. For each short image name
("nginx"), says how podman will resolve it by registries.conf: an alias, the registries it
searches, or why it cannot be pulled.

Exit 0 when nothing would change, 2 when something would, 1 on error."""
EPILOG = """\
examples:
  orchestrator plan examples/web-stack --unit-dir /tmp/units
  orchestrator plan --json        # /etc/orchestrator against /etc/systemd/system
  orchestrator plan --user        # ~/.config/orchestrator against ~/.config/systemd/user"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", metavar="PATH", help="a definition file or directory")
    parser.add_argument(
        "--unit-dir",
        metavar="DIR",
        help="where the units live "
        "(default /etc/systemd/system, or ~/.config/systemd/user with --user)",
    )
    parser.add_argument("--no-diff", action="store_true", help="do not print the diffs")
    parser.add_argument("--show-unchanged", action="store_true", help="list unchanged units too")
    add_user_flag(parser)
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.core.plan import make_plan
    from orchestrator.host.unitdir import read_unit_dir

    where = target(args, [args.path] if args.path else [])
    spec = load_definitions(where)
    refuse_system_units(spec, where, where.unit_dir)
    desired = render_units(spec, where)
    current, foreign = read_unit_dir(where.unit_dir)
    plan = make_plan(desired, current, foreign)
    conf, short = short_names(spec, where.user)
    if args.json:
        data = {"ok": True, "unit_dir": where.unit_dir, **plan.as_dict(diffs=not args.no_diff)}
        found = [{**r.as_dict(), "containers": names} for r, names in short]
        print_json({**data, "short_names": found})
    else:
        print_plan(
            plan, diffs=not args.no_diff, unit_dir=where.unit_dir, unchanged=args.show_unchanged
        )
        print_short_names(conf, short)
    return 2 if plan.has_changes else 0


def short_names(spec: Spec, user: bool) -> tuple[Registries, list[tuple[Resolution, list[str]]]]:
    """How podman will resolve each short image name, and which containers use it."""
    from orchestrator.host import registries

    found = registries.short_names(spec)
    conf = registries.load(user) if found else registries.Registries()
    return conf, [(registries.resolve(conf, image), names) for image, names in found.items()]


def print_short_names(conf: Registries, short: list[tuple[Resolution, list[str]]]) -> None:
    if short:
        files = ", ".join(conf.files) or "no registries.conf"
        print(f"\nShort image names, as podman resolves them ({safe(files)}):")
    for resolution, names in short:
        print(f"  {resolution.image} ({', '.join(names)}): {resolution.describe()}")
