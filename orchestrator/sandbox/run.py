"""`orchestrator sandbox run`: boot a sandbox, apply definitions in it, report, tear down.

Definitions are copied into the sandbox's share directory (its /tmp is private), one
subdirectory per installed path, and `orchestrator apply` runs inside on all of them: exactly
what an operator runs on a host.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from orchestrator.apply import SETTLE_SECONDS
from orchestrator.core.loader import load
from orchestrator.core.models import Spec, unit_name
from orchestrator.errors import OrchestratorError
from orchestrator.host import podman
from orchestrator.sandbox.machine import Sandbox
from orchestrator.textout import table as text_table

SHOW = [
    "Id", "ActiveState", "SubState", "Result", "NRestarts", "ExecMainStartTimestampMonotonic",
    "ActiveEnterTimestampMonotonic",
]  # fmt: skip
STEADY_US = int(SETTLE_SECONDS * 1_000_000)  # as apply judges: up once it stayed active


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


def definitions(sandbox: Sandbox) -> Path:
    return sandbox.share / "definitions"


def copy_in(sandbox: Sandbox, path: str) -> Path:
    """Copy a definition file or directory into the sandbox's share; returns where it is."""
    source = Path(path).resolve()
    target = definitions(sandbox) / source.name
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target)
    return target


def orchestrator_argv(*args: str) -> list[str]:
    """This very orchestrator, run inside the sandbox (which sees the host's files, and carries
    in orchestrator's own when they live where the sandbox has directories of its own): this
    interpreter, and the PYTHONPATH it runs with, which the sandbox's clean environment drops."""
    path = os.environ.get("PYTHONPATH")
    return [*(["env", f"PYTHONPATH={path}"] if path else []), sys.executable, "-m", "orchestrator",
            *args]  # fmt: skip


def apply_inside(sandbox: Sandbox, timeout: float) -> dict[str, object]:
    """Run `orchestrator apply --json` inside on every installed definition; its report."""
    argv = orchestrator_argv(
        "apply", str(definitions(sandbox)), "--json", "--timeout", str(timeout)
    )
    result = sandbox.run(argv, check=False, timeout=timeout + 60)
    try:
        report: dict[str, object] = json.loads(result.stdout)
    except ValueError:
        report = {}
    if not report or ("units" not in report and report.get("error")):
        said = str(report.get("error") or "") or (result.stderr or result.stdout).strip()
        raise OrchestratorError(
            f"apply inside sandbox {sandbox.name} failed (exit {result.returncode}): {said}"
        )
    return report


def install(sandbox: Sandbox, path: str, timeout: float = 120) -> Spec:
    """Copy path in and apply everything installed so far; the spec of path."""
    target = copy_in(sandbox, path)
    apply_inside(sandbox, timeout)
    return load([str(target)])


def units_of(spec: Spec, *, enabled_only: bool = False) -> dict[str, str]:
    """unit -> kind. With enabled_only, the containers and kubes that start at boot (and what
    they need: volume, network, image and build units are pulled in by Requires=, so all of
    them count)."""
    found = {unit_name("volume", n): "volume" for n in spec.volumes}
    found |= {unit_name("network", n): "network" for n in spec.networks}
    found |= {unit_name("image", n): "image" for n in spec.images}
    found |= {unit_name("build", n): "build" for n in spec.builds}
    found |= {unit_name("kube", n): "kube" for n, k in spec.kubes.items()
              if k.enabled or not enabled_only}  # fmt: skip
    found |= {
        unit_name("container", n): "container"
        for n, c in spec.containers.items()
        if c.enabled or not enabled_only
    }
    return found


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
    return podman.health(container, sandbox.run) or "starting"


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


HEADERS = ("UNIT", "STATE", "SUB", "RESULT", "RESTARTS", "HEALTH")


def table(reports: list[UnitReport]) -> str:
    rows = [(r.unit, r.active, r.sub, r.result, str(r.restarts), r.health or "-") for r in reports]
    return "\n".join(text_table(rows, HEADERS))


def apply_table(units: list[dict[str, object]]) -> str:
    """The per-unit table of apply's JSON report."""
    keys = ("unit", "active", "sub", "result", "restarts", "health")
    rows = [[str(u.get(k, "")) or "-" for k in keys] for u in units]
    return "\n".join(text_table(rows, HEADERS))
