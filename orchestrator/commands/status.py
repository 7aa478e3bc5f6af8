"""`orchestrator status`: how each managed service is doing."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from orchestrator.commands.common import add_json_flag, add_user_flag, target
from orchestrator.commands.output import print_json
from orchestrator.textout import table

if TYPE_CHECKING:
    from orchestrator.host.systemd import UnitState

NAME = "status"
HELP = "one row per managed unit: kind, state, health, restarts, uptime, image"
DESCRIPTION = """\
List the units orchestrator manages (the unit files carrying its mark), of every kind: containers,
volumes, networks, pods, images, builds and kubes, with systemd's view of each: active state,
health (where a health check is declared), restarts, uptime and image.

Exit 0 when every managed unit is as declared, 1 otherwise: running (and healthy where it has a
health check); a job with restart = "no", or a volume, network, image or build unit, may also
have finished successfully, and a unit that is not enabled may be stopped (not failed)."""
EPILOG = """\
examples:
  orchestrator status
  orchestrator status --json | jq '.services[] | select(.ok | not)'"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.core.models import KINDS
    from orchestrator.core.unitfile import mark_fields
    from orchestrator.host.systemd import Systemd
    from orchestrator.host.unitdir import read_unit_dir

    where = target(args)
    managed, _ = read_unit_dir(where.unit_dir)
    marks = {u: mark_fields(t) for u, t in managed.items()}
    # every kind, in the order of the definition reference, then by name
    order: dict[str, int] = {kind: i for i, kind in enumerate(KINDS)}
    units = sorted(
        (u for u, f in marks.items() if f.get("Kind") in order),
        key=lambda u: (order[marks[u]["Kind"]], marks[u].get("Name", u), u),
    )
    with Systemd(where.user) as systemd:
        states = systemd.units(units)
    now_us = time.time_ns() // 1000
    rows = [_row(unit, managed[unit], marks[unit], states[unit], now_us) for unit in units]
    ok = all(row["ok"] for row in rows)
    if args.json:
        print_json({"ok": ok, "services": rows})
        return 0 if ok else 1
    cells = []
    for row in rows:
        seconds = row["uptime_seconds"]
        cells.append((
            str(row["name"]), str(row["kind"]), f"{row['state']}/{row['sub']}",
            str(row["health"] or "-"), str(row["restarts"]),
            _duration(seconds) if isinstance(seconds, float) else "-", str(row["image"]),
        ))  # fmt: skip
    heads = ("NAME", "KIND", "STATE", "HEALTH", "RESTARTS", "UPTIME", "IMAGE")
    for line in table(cells, heads):
        print(line)
    if not rows:
        print("(no managed units)")
    return 0 if ok else 1


def _row(
    unit: str, text: str, fields: dict[str, str], state: UnitState, now_us: int
) -> dict[str, object]:
    """One unit's line: systemd's view of it, its health, and whether it is as declared."""
    from orchestrator.core.plan import as_declared
    from orchestrator.core.unitfile import declares_health
    from orchestrator.host import podman

    health = ""
    if declares_health(text):
        health = podman.health(fields.get("Name", "")) if state.running else "-"
    uptime = (now_us - state.active_since_realtime_us) / 1e6 if state.running else None
    ok = as_declared(text, state.active, state.result) and health in ("", "-", "healthy")
    if state.running and health == "-":
        ok = False
    return {
        "name": fields.get("Name", unit), "kind": fields["Kind"], "unit": unit,
        "state": state.active, "sub": state.sub, "health": health, "restarts": state.restarts,
        "uptime_seconds": round(uptime, 1) if uptime is not None else None,
        "image": fields.get("Image", ""), "enabled": state.enablement, "ok": ok,
    }  # fmt: skip


def _duration(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"
