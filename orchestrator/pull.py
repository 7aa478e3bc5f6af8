"""`orchestrator pull`'s engine: fetch the fleet repository, refuse what is not a signed
fast-forward of what this host last applied, resolve this host's definitions and converge.

State (STATE/pull.json): the commit last applied with success, and the commit that last failed.
A commit that failed (and was rolled back) is not tried again on every timer tick: the host
converges on its last good commit until a new commit arrives. Every run leaves a status file
(JSON) and a Prometheus text file, whatever happened.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from orchestrator.core.fleet import load_host, read_fleet
from orchestrator.errors import DefinitionError, OrchestratorError
from orchestrator.host import git, lock, statefiles

Result = Literal["ok", "failed", "refused", "unmatched", "invalid", "error"]


@dataclass(frozen=True)
class Settings:
    url: str
    branch: str | None  # None: the host's ring, else "main"
    state_dir: str
    hostname: str
    machine_id: str | None
    allowed_signers: str | None = None
    gpg_home: str | None = None
    status_file: str = ""
    metrics_file: str = ""
    mode: Literal["system", "user"] = "system"
    cgroups_v1: bool = False

    @property
    def checkout(self) -> str:
        return os.path.join(self.state_dir, "fleet-checkout")


@dataclass
class PullStatus:
    """What the status file holds after a run."""

    result: Result
    message: str
    generation: int | None = None
    drift: list[str] = field(default_factory=list)
    commit: str = ""  # what the host runs after this pull
    fetched: str = ""  # the branch's head, which may differ: refused, or failed before
    branch: str = ""
    host: str = ""
    units: list[dict[str, Any]] = field(default_factory=list)
    time: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"schema": 1, **asdict(self)}


# converge(units, sources, note) -> an ApplyReport-like object with ok, generation, plan, outcomes
Converge = Callable[[dict[str, str], list[str], str], Any]


def pull(settings: Settings, converge: Converge, say: Callable[[str], None]) -> PullStatus:
    """One pull: never raises for what a status can say; the status is written in any case.
    Raises lock.BusyError, writing nothing, while another pull runs."""
    with lock.exclusive(settings.state_dir, "pull"):
        # filled in as the pull goes, so that a refusal still names the branch and commit
        status = PullStatus("ok", "")
        try:
            git.recover(settings.checkout)
            _pull(settings, status, converge, say)
        except git.GitError as exc:
            status.result = "refused" if "not signed" in str(exc) else "error"
            status.message = str(exc)
        except DefinitionError as exc:
            status.result, status.message = "invalid", "\n".join(exc.lines())
        except (OrchestratorError, OSError) as exc:
            status.result, status.message = "error", "\n".join(_lines(exc))
        status.time = time.time()
        write_status(settings, status)
    return status


def _lines(exc: Exception) -> list[str]:
    return exc.lines() if isinstance(exc, OrchestratorError) else [f"error: {exc}"]


def _pull(
    settings: Settings, base: PullStatus, converge: Converge, say: Callable[[str], None]
) -> None:
    memory = _read_memory(settings)
    base.branch = settings.branch or "main"
    commit = base.commit = base.fetched = git.fetch(settings.checkout, settings.url, base.branch)
    # verified before its fleet.toml is trusted to send this host to its ring's branch
    _verify(settings, commit)
    # without --branch, main's head is checked out to read which branch this host follows
    checked_out = commit if settings.branch is None else None
    fleet_commit = _resolve_branch(settings, commit, say)
    if fleet_commit is not None:
        base.branch, commit = fleet_commit
        base.commit = base.fetched = commit
        _verify(settings, commit)
    applied, failed = memory.get("applied"), memory.get("failed")
    if applied and not git.is_ancestor(settings.checkout, applied, commit):
        base.result, base.message = (
            "refused",
            (
                f"{commit[:12]} is not a fast-forward of {applied[:12]}, the commit last applied "
                "(a force-push or a rewritten branch); nothing applied"
            ),
        )
        return
    if commit == failed and applied:
        say(f"{commit[:12]} failed before; converging on {applied[:12]} until a new commit")
        base.commit = applied
    _apply_commit(settings, base, applied, converge, say, checked_out)
    if base.commit != base.fetched and base.result == "ok":
        base.message += f" (the branch's {commit[:12]} failed before: not retried)"


def _resolve_branch(
    settings: Settings, commit: str, say: Callable[[str], None]
) -> tuple[str, str] | None:
    """Without --branch, a host that names a ring tracks the branch of that name (as main's
    fleet.toml says: main's head is verified first)."""
    if settings.branch is not None:
        return None
    git.checkout(settings.checkout, commit)
    host = read_fleet(settings.checkout).match(settings.hostname, settings.machine_id)
    if host is None or not host.ring or host.ring == "main":
        return None
    say(f"host {host.name} is in ring {host.ring}: following branch {host.ring}")
    return host.ring, git.fetch(settings.checkout, settings.url, host.ring)


def _verify(settings: Settings, commit: str) -> None:
    if settings.allowed_signers or settings.gpg_home:
        keys = {"allowed_signers": settings.allowed_signers, "gpg_home": settings.gpg_home}
        git.verify(settings.checkout, commit, **keys)


def _apply_commit(
    settings: Settings,
    status: PullStatus,
    applied: str | None,
    converge: Converge,
    say: Callable[[str], None],
    checked_out: str | None = None,
) -> None:
    if status.commit != checked_out:  # checking out again would spawn two gits for nothing
        git.checkout(settings.checkout, status.commit)
    fleet = read_fleet(settings.checkout)
    host = fleet.match(settings.hostname, settings.machine_id)
    if host is None:
        status.result = "unmatched"
        status.message = (f"this host ({settings.hostname}, machine id {settings.machine_id}) "
                          "is not in fleet.toml: nothing applied")  # fmt: skip
        return
    status.host = host.name
    from orchestrator.core import compat
    from orchestrator.core.render import render
    from orchestrator.host import facts

    merged, spec = load_host(fleet, host)
    compat.check(spec, facts.podman_version())
    note = f"pull {status.branch} {status.commit[:12]}"
    units = render(spec, settings.mode, cgroups_v1=settings.cgroups_v1)
    report = converge(units, merged.files, note)
    status.generation = report.generation
    status.units = [
        {"unit": o.unit, "ok": o.ok, "active": o.active, "done": list(o.done)}
        for o in report.outcomes
    ]
    if status.commit == applied:  # the same commit: whatever had to be done was drift
        status.drift = sorted({a.unit for a in report.plan.actions if a.unit})
    if not getattr(report, "dry_run", False):  # a dry run applied nothing to remember
        _remember(settings, status.commit, ok=report.ok)
    status.result = "ok" if report.ok else "failed"
    status.message = "applied" if report.ok else "did not come up; rolled back"
    say(f"{host.name}: {status.commit[:12]} {status.message}")


def _memory_path(settings: Settings) -> str:
    return os.path.join(settings.state_dir, "pull.json")


def _read_memory(settings: Settings) -> dict[str, str]:
    try:
        with open(_memory_path(settings), encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise OrchestratorError(f"cannot read {_memory_path(settings)}: {exc}") from None
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _remember(settings: Settings, commit: str, *, ok: bool) -> None:
    memory = _read_memory(settings)
    memory["applied" if ok else "failed"] = commit
    if ok:
        memory.pop("failed", None)
    statefiles.private_dir(settings.state_dir)
    statefiles.replace(_memory_path(settings), (json.dumps(memory, indent=2) + "\n").encode())


def write_status(settings: Settings, status: PullStatus) -> None:
    path = settings.status_file or os.path.join(settings.state_dir, "pull-status.json")
    if not settings.status_file:
        statefiles.private_dir(settings.state_dir)
    statefiles.replace(path, (json.dumps(status.as_dict(), indent=2) + "\n").encode())
    # node_exporter runs as its own user: the metrics (no secrets in them) are world-readable
    metrics = settings.metrics_file or os.path.join(settings.state_dir, "orchestrator.prom")
    statefiles.replace(metrics, prometheus(status).encode(), mode=0o644)


def prometheus(status: PullStatus) -> str:
    """node_exporter's textfile format: one gauge per fact, labelled with the commit."""
    labels = ",".join(
        f'{name}="{_label_value(value)}"'
        for name, value in (("host", status.host), ("branch", status.branch),
                            ("commit", status.commit[:12]), ("result", status.result))
    )  # fmt: skip
    ok = sum(1 for u in status.units if u["ok"])
    lines = [
        "# HELP orchestrator_pull_success 1 if the last pull applied its commit and all came up.",
        "# TYPE orchestrator_pull_success gauge",
        f"orchestrator_pull_success{{{labels}}} {int(status.result == 'ok')}",
        "# HELP orchestrator_pull_timestamp_seconds When the last pull finished.",
        "# TYPE orchestrator_pull_timestamp_seconds gauge",
        f"orchestrator_pull_timestamp_seconds {status.time:.0f}",
        "# HELP orchestrator_units_ok Managed units running as declared after the last pull.",
        "# TYPE orchestrator_units_ok gauge",
        f"orchestrator_units_ok {ok}",
        "# HELP orchestrator_units_failed Managed units not running as declared.",
        "# TYPE orchestrator_units_failed gauge",
        f"orchestrator_units_failed {len(status.units) - ok}",
        "# HELP orchestrator_drift_units Units found drifted from the applied commit.",
        "# TYPE orchestrator_drift_units gauge",
        f"orchestrator_drift_units {len(status.drift)}",
    ]
    return "\n".join(lines) + "\n"


def _label_value(value: str) -> str:
    """The exposition format's escapes in a label value: a branch (a ring) may hold `"` or `\\`,
    and one unescaped quote makes node_exporter drop the whole file."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
