"""`orchestrator sandbox run`: boot a sandbox, install definitions, start them, report, tear down.

Until `apply` exists, installing is a plain write of the rendered units into the sandbox's
/etc/systemd/system, one daemon-reload, enable, and one start job per unit, all enqueued at once
so that systemd orders them by After=.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from orchestrator.loader import load
from orchestrator.models import Spec, unit_name
from orchestrator.render import render
from orchestrator.sandbox import Sandbox
from orchestrator.unitdir import write_units

SHOW = [
    "Id", "ActiveState", "SubState", "Result", "NRestarts", "ExecMainStartTimestampMonotonic",
    "ActiveEnterTimestampMonotonic",
]  # fmt: skip
# A unit counts as up once it has stayed active this long: a container that exits right after
# it started is briefly active.
STEADY_US = 1_500_000


@dataclass
class UnitReport:
    unit: str
    kind: str
    active: str = "unknown"
    sub: str = "unknown"
    result: str = "unknown"
    restarts: int = 0
    health: str = ""  # "", starting, healthy, unhealthy
    started_us: int = 0
    active_since_us: int = 0
    journal: str = ""

    @property
    def up(self) -> bool:
        return self.active == "active" and self.health in ("", "healthy")

    @property
    def failed(self) -> bool:
        return self.active == "failed" or (self.active == "inactive" and self.result != "success")


def install(sandbox: Sandbox, path: str) -> Spec:
    """Copy the definitions where the sandbox sees them, render, write units, reload, enable."""
    source = Path(path).resolve()
    target = sandbox.share / "definitions" / source.name
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target)
    spec = load([str(target)])
    units = render(spec, "system")
    write_units(str(sandbox.root / "etc-systemd-system"), units, durable=False)
    sandbox.run(["systemctl", "daemon-reload"])
    enabled = [unit_name("container", n) for n, c in spec.containers.items() if c.enabled]
    if enabled:
        sandbox.run(["systemctl", "enable", "--quiet", *enabled])
    return spec


def units_of(spec: Spec, *, enabled_only: bool = False) -> dict[str, str]:
    """unit -> kind. With enabled_only, the containers that start at boot (and what they need:
    volume and network units are pulled in by Requires=, so all of them count)."""
    found = {unit_name("volume", n): "volume" for n in spec.volumes}
    found |= {unit_name("network", n): "network" for n in spec.networks}
    found |= {
        unit_name("container", n): "container"
        for n, c in spec.containers.items()
        if c.enabled or not enabled_only
    }
    return found


def start(sandbox: Sandbox, spec: Spec) -> None:
    sandbox.run(["systemctl", "start", "--no-block", *units_of(spec)])


def observe(sandbox: Sandbox, spec: Spec, *, enabled_only: bool = False) -> list[UnitReport]:
    kinds = units_of(spec, enabled_only=enabled_only)
    result = sandbox.run(["systemctl", "show", *[f"-p{p}" for p in SHOW], *kinds])
    reports = []
    for block in result.stdout.strip().split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        unit = fields.get("Id", "")
        if unit not in kinds:
            continue
        reports.append(UnitReport(
            unit, kinds[unit], fields.get("ActiveState", "unknown"), fields.get("SubState", ""),
            fields.get("Result", ""), int(fields.get("NRestarts") or 0),
            started_us=int(fields.get("ExecMainStartTimestampMonotonic") or 0),
            active_since_us=int(fields.get("ActiveEnterTimestampMonotonic") or 0),
        ))  # fmt: skip
    for report in reports:
        name = report.unit.removesuffix(".service")
        container = spec.containers.get(name) if report.kind == "container" else None
        if container is not None and container.health is not None:
            report.health = health(sandbox, name) if report.active == "active" else "starting"
    return reports


def health(sandbox: Sandbox, container: str) -> str:
    for template in ("{{.State.Health.Status}}", "{{.State.Healthcheck.Status}}"):
        result = sandbox.run(["podman", "inspect", "--format", template, container], check=False)
        status = result.stdout.strip()
        if result.returncode == 0 and status and "no value" not in status:
            return status
    return "starting"


def wait(
    sandbox: Sandbox, spec: Spec, timeout: float, *, enabled_only: bool = False
) -> list[UnitReport]:
    """Until every unit is up or failed, or timeout; journal tails attached to the failures.
    enabled_only: watch only what starts at boot (after a reboot)."""
    deadline = time.monotonic() + timeout
    while True:
        reports = observe(sandbox, spec, enabled_only=enabled_only)
        now_us = time.monotonic_ns() // 1000  # the host's CLOCK_MONOTONIC is the sandbox's
        settled = all(
            r.failed or (r.up and now_us - r.active_since_us >= STEADY_US) for r in reports
        )
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    for report in reports:
        if not report.up:
            report.journal = journal_tail(sandbox, report.unit)
    return reports


def journal_tail(sandbox: Sandbox, unit: str, lines: int = 20) -> str:
    result = sandbox.run(
        ["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "-o", "short-monotonic"],
        check=False,
    )
    return result.stdout.strip()


def table(reports: list[UnitReport]) -> str:
    rows = [("UNIT", "STATE", "SUB", "RESULT", "RESTARTS", "HEALTH")]
    rows += [(r.unit, r.active, r.sub, r.result, str(r.restarts), r.health or "-") for r in reports]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def as_json(reports: list[UnitReport]) -> list[dict[str, object]]:
    return [{**asdict(r), "up": r.up} for r in reports]
