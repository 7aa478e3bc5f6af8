"""Executing a plan: the only place that changes the host (unit files, systemd, images).

Order, for the safety rules in DESIGN section 5: lock; plan against the files and systemd's view;
pre-pull images (nothing is stopped before every image is there); record what is about to be
done (so an interrupted apply is finished by the next); stop, disable and remove what is no
longer declared; write files atomically; reload once; enable/disable; enqueue every start and
restart together; wait for the jobs, then for each unit to stay up (and be healthy where it has
a health check); report; record a generation.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from orchestrator import history, journal, lock, podman
from orchestrator.errors import OrchestratorError
from orchestrator.plan import Pending, Plan, make_plan
from orchestrator.systemd import Systemd, UnitState
from orchestrator.unitdir import read_unit_dir, refuse_shadowing, remove_temp_files, write_atomic
from orchestrator.unitfile import mark_fields

# A started unit counts as up once it has stayed active this long: a container that exits right
# after it started is briefly active.
SETTLE_SECONDS = 1.5


class ApplyError(OrchestratorError):
    pass


KILL_AT_ENV = "ORCHESTRATOR_TEST_KILL_AT"


def checkpoint(name: str) -> None:
    """The integration tests kill apply here (SIGKILL, as a crash or an OOM kill would) to check
    that the next apply converges."""
    if os.environ.get(KILL_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class UnitOutcome:
    unit: str
    kind: str
    change: str  # create, change, remove, unchanged
    done: list[str] = field(default_factory=list)  # the verbs carried out on it
    active: str = ""
    sub: str = ""
    result: str = ""
    restarts: int = 0
    health: str = ""  # "" when the unit has no health check
    job: str = ""  # the JobRemoved result of its start/restart job
    ok: bool = True
    journal: str = ""


@dataclass
class ApplyReport:
    plan: Plan
    outcomes: list[UnitOutcome]
    ok: bool
    dry_run: bool = False
    wrote: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reloaded: bool = False
    generation: int | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "changed": self.plan.has_changes,
            "wrote": self.wrote,
            "removed": self.removed,
            "reloaded": self.reloaded,
            "generation": self.generation,
            "seconds": round(self.seconds, 3),
            "plan": self.plan.as_dict(diffs=True),
            "units": [asdict(o) for o in self.outcomes],
        }


@dataclass
class Options:
    user: bool
    unit_dir: str
    state_dir: str
    timeout: float = 300.0
    settle: float = SETTLE_SECONDS
    quiet_pull: bool = False
    say: Callable[[str], None] = lambda _: None  # progress lines


def _pending_path(options: Options) -> Path:
    return Path(options.state_dir) / "pending.json"


def _read_pending(options: Options) -> Pending:
    try:
        data = json.loads(_pending_path(options).read_text())
        return Pending(bool(data.get("reload")), tuple(data.get("restarts", [])))
    except (FileNotFoundError, ValueError, AttributeError):
        return Pending()


def _write_pending(options: Options, plan: Plan) -> None:
    path = _pending_path(options)
    temp = path.with_name(".pending.json.tmp")
    temp.write_text(json.dumps({"reload": True, "restarts": sorted(plan.restarts)}))
    os.replace(temp, path)


def apply(
    desired: dict[str, str],
    options: Options,
    *,
    sources: list[str] = (),  # type: ignore[assignment]
    dry_run: bool = False,
    note: str = "",
    show_plan: Callable[[Plan], None] = lambda _: None,
) -> ApplyReport:
    """Make the host run exactly the desired units. Raises before touching anything when the
    plan cannot be made (clash with a foreign unit, shadowing, a pull that fails)."""
    started = time.monotonic()
    mode = "user" if options.user else "system"
    with Systemd(options.user) as systemd, lock.exclusive(options.state_dir):
        remove_temp_files(options.unit_dir)  # left by an apply killed mid-write
        refuse_shadowing(list(desired), mode)
        current, foreign = read_unit_dir(options.unit_dir)
        observed = systemd.units(sorted(set(desired) | set(current)))
        plan = make_plan(desired, current, foreign, observed, _read_pending(options))
        show_plan(plan)
        if dry_run or not plan.has_work:
            busy = {u for u, st in observed.items() if st.changing}
            if busy and not dry_run:  # e.g. still starting at boot: let it finish
                observed = _settle(systemd, desired, busy, options, time.monotonic())
            outcomes = _outcomes(plan, observed, {}, options, checked=set())
            ok = all(o.ok for o in outcomes)
            return ApplyReport(plan, outcomes, ok, dry_run, seconds=time.monotonic() - started)
        _pull(plan, options)
        report = _execute(plan, desired, current, systemd, options)
        if plan.has_changes:
            report.generation = history.record(
                options.state_dir, desired, list(sources), "ok" if report.ok else "failed", note
            )
    report.seconds = time.monotonic() - started
    return report


def _pull(plan: Plan, options: Options) -> None:
    for action in plan.actions:
        if action.verb != "pull":
            continue
        image, policy = action.reason.rsplit(" ", 1)
        if policy == "missing" and podman.image_exists(image):
            continue
        options.say(f"pulling {image} for {action.unit}")
        try:
            podman.pull(image, quiet=options.quiet_pull)
        except OrchestratorError as exc:
            raise ApplyError(
                f"cannot pull {image} for {action.unit}; nothing was changed: {exc}"
            ) from None


def _execute(
    plan: Plan,
    desired: dict[str, str],
    current: dict[str, str],
    systemd: Systemd,
    options: Options,
) -> ApplyReport:
    _write_pending(options, plan)
    checkpoint("pending")
    done: dict[str, list[str]] = {}

    def did(verb: str, units: list[str]) -> None:
        for unit in units:
            done.setdefault(unit, []).append(verb)

    stops = plan.units("stop")
    if stops:
        options.say(f"stopping {', '.join(stops)}")
        systemd.run_jobs([("stop", u) for u in stops], options.timeout)
        did("stop", stops)
        checkpoint("stopped")
    removed = plan.units("remove")
    systemd.disable([u for u in plan.units("disable") if u in removed])
    for unit in removed:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(options.unit_dir, unit))
        did("remove", [unit])
    wrote = plan.units("write")
    if wrote:
        os.makedirs(options.unit_dir, exist_ok=True)
    for unit in wrote:
        write_atomic(options.unit_dir, unit, desired[unit])
        checkpoint("wrote-one")
    did("write", wrote)
    # Enablement first: like `systemctl enable`, it changes what systemd has loaded, and the one
    # reload below picks it up (a reload before it leaves the units marked NeedDaemonReload).
    enable, disable = plan.units("enable"), [u for u in plan.units("disable") if u not in removed]
    systemd.enable(enable)
    systemd.disable(disable)
    did("enable", enable)
    did("disable", disable)
    reloaded = any(a.verb == "daemon-reload" for a in plan.actions)
    if reloaded:
        systemd.reload()
        checkpoint("reloaded")
    jobs = [("start", u) for u in plan.units("start")] + [("restart", u) for u in plan.restarts]
    for _, unit in jobs:
        systemd.reset_failed(unit)  # a unit that hit its start limit may start again
    if jobs:
        options.say(f"starting {len(jobs)} unit(s)")
    results = systemd.run_jobs(jobs, options.timeout, enqueued=lambda: checkpoint("enqueued"))
    for verb, unit in jobs:
        did(verb, [unit])
    _pending_path(options).unlink(missing_ok=True)
    touched = {u for _, u in jobs}
    observed = _settle(systemd, desired, touched, options, time.monotonic())
    outcomes = _outcomes(plan, observed, results.results, options, checked=touched, done=done)
    for unit in results.unfinished:
        for outcome in outcomes:
            if outcome.unit == unit:
                outcome.ok, outcome.job = False, "timeout"
    ok = all(o.ok for o in outcomes)
    return ApplyReport(plan, outcomes, ok, False, wrote, removed, reloaded)


def _health_declared(text: str) -> bool:
    return mark_fields(text).get("Health") == "yes"


def _container(text: str) -> str | None:
    fields = mark_fields(text)
    return fields.get("Name") if fields.get("Kind") == "container" else None


def _settle(
    systemd: Systemd,
    desired: dict[str, str],
    touched: set[str],
    options: Options,
    since: float,
) -> dict[str, UnitState]:
    """Wait until each started or restarted unit has stayed up for the settle time (and is
    healthy where it has a health check) or has failed, or the timeout has passed."""
    deadline = since + options.timeout
    names = sorted(desired)
    while True:
        observed = systemd.units(names)
        now_us = time.monotonic_ns() // 1000
        waiting = []
        for unit in touched:
            state = observed.get(unit)
            if state is None or state.failed or unit not in desired:
                continue
            young = state.running and now_us - state.active_since_us < options.settle * 1e6
            if state.changing or young:
                waiting.append(unit)
            elif state.running and _health_declared(desired[unit]):
                name = _container(desired[unit]) or ""
                if podman.health(name) not in ("healthy", "unhealthy"):
                    waiting.append(unit)
        if not waiting or time.monotonic() > deadline:
            return observed
        time.sleep(0.1)


def _outcomes(
    plan: Plan,
    observed: dict[str, UnitState],
    jobs: dict[str, str],
    options: Options,
    *,
    checked: set[str],
    done: dict[str, list[str]] | None = None,
) -> list[UnitOutcome]:
    outcomes = []
    for change in plan.changes:
        outcome = UnitOutcome(change.unit, change.kind, change.action)
        outcome.done = (done or {}).get(change.unit, [])
        outcome.job = jobs.get(change.unit, "")
        state = observed.get(change.unit)
        if change.action == "remove":
            outcomes.append(outcome)
            continue
        if state is not None:
            outcome.active, outcome.sub, outcome.result = state.active, state.sub, state.result
            outcome.restarts = state.restarts
        # Judged by where the unit ended up, not by its job alone: a start that failed once and
        # that systemd's Restart= recovered is up (its job still reads "failed"). A started unit
        # must also have stayed active for the settle time, so a crash loop is not up.
        outcome.ok = outcome.active == "active"
        if outcome.ok and change.unit in checked and state is not None:
            steady_us = time.monotonic_ns() // 1000 - state.active_since_us
            outcome.ok = steady_us >= options.settle * 1e6
        text = change.new or ""
        if outcome.ok and change.unit in checked and _health_declared(text):
            outcome.health = podman.health(_container(text) or "")
            outcome.ok = outcome.health == "healthy"
        if not outcome.ok:
            outcome.journal = journal.tail(change.unit, user=options.user)
        outcomes.append(outcome)
    return outcomes
