"""`orchestrator status`: how each managed service is doing."""

from __future__ import annotations

import argparse
import time

from orchestrator.commands.common import add_json_flag, add_user_flag, target
from orchestrator.commands.output import print_json
from orchestrator.textout import table

NAME = "status"
HELP = "one row per managed service: state, health, restarts, uptime, image"
DESCRIPTION = """\
List the containers orchestrator manages (the unit files carrying its mark) with systemd's view
of each: active state, health (where a health check is declared), restarts, uptime and image.

Exit 0 when every managed service is as declared, 1 otherwise: running (and healthy where it
has a health check); a job with restart = "no" may also have finished successfully, and a
container with enabled = false may be stopped (not failed)."""
EPILOG = """\
examples:
  orchestrator status
  orchestrator status --json | jq '.services[] | select(.ok | not)'"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.core.plan import as_declared
    from orchestrator.core.unitfile import declares_health, mark_fields
    from orchestrator.host import podman
    from orchestrator.host.systemd import Systemd
    from orchestrator.host.unitdir import read_unit_dir

    where = target(args)
    managed, _ = read_unit_dir(where.unit_dir)
    containers = {u: mark_fields(t) for u, t in managed.items()}
    # the services: containers, and the pods of Kubernetes YAML
    containers = {u: f for u, f in containers.items() if f.get("Kind") in ("container", "kube")}
    with Systemd(where.user) as systemd:
        states = systemd.units(sorted(containers))
    now_us = time.time_ns() // 1000
    rows = []
    for unit, fields in containers.items():
        state = states[unit]
        health = ""
        if declares_health(managed[unit]):
            health = podman.health(fields.get("Name", "")) if state.running else "-"
        uptime = (now_us - state.active_since_realtime_us) / 1e6 if state.running else None
        ok = as_declared(managed[unit], state.active, state.result) and health in (
            "",
            "-",
            "healthy",
        )
        if state.running and health == "-":
            ok = False
        rows.append({
            "name": fields.get("Name", unit), "unit": unit, "state": state.active,
            "sub": state.sub, "health": health, "restarts": state.restarts,
            "uptime_seconds": round(uptime, 1) if uptime is not None else None,
            "image": fields.get("Image", ""), "enabled": state.enablement, "ok": ok,
        })  # fmt: skip
    ok = all(row["ok"] for row in rows)
    if args.json:
        print_json({"ok": ok, "services": rows})
        return 0 if ok else 1
    cells = []
    for row in rows:
        seconds = row["uptime_seconds"]
        cells.append((
            str(row["name"]), f"{row['state']}/{row['sub']}", str(row["health"] or "-"),
            str(row["restarts"]), _duration(seconds) if isinstance(seconds, float) else "-",
            str(row["image"]),
        ))  # fmt: skip
    for line in table(cells, ("NAME", "STATE", "HEALTH", "RESTARTS", "UPTIME", "IMAGE")):
        print(line)
    if not rows:
        print("(no managed services)")
    return 0 if ok else 1


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
