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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from orchestrator.core.plan import Pending, Plan, as_declared, make_plan
from orchestrator.core.unitfile import container_name, declares_health
from orchestrator.errors import OrchestratorError
from orchestrator.host import history, journal, lock, podman, statefiles
from orchestrator.host.systemd import Systemd, UnitState
from orchestrator.host.unitdir import (
    read_unit_dir,
    refuse_foreign_loaded,
    refuse_shadowing,
    remove_temp_files,
    write_atomic,
)

# A started unit counts as up once it has stayed active this long: a container that exits right
# after it started is briefly active.
SETTLE_SECONDS = 1.5


class ApplyError(OrchestratorError):
    pass


KILL_AT_ENV = "ORCHESTRATOR_TEST_KILL_AT"
HOLD_AT_ENV = "ORCHESTRATOR_TEST_HOLD_AT"  # POINT:FILE


def checkpoint(name: str) -> None:
    """The integration tests kill apply here (SIGKILL, as a crash or an OOM kill would) to check
    that the next apply converges, or hold it here (while a file exists) to act meanwhile."""
    if os.environ.get(KILL_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    point, _, hold_file = os.environ.get(HOLD_AT_ENV, "").partition(":")
    while point == name and os.path.exists(hold_file):
        time.sleep(0.05)


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
    error: str = ""  # what stopped the apply part-way, if anything

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "error": self.error,
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
    deadline: float = 0.0  # time.monotonic() by which the apply gives up waiting (set by apply)


def _pending_path(options: Options) -> Path:
    return Path(options.state_dir) / "pending.json"


def _read_pending(options: Options) -> Pending:
    """What an interrupted apply set out to do; anything unreadable means: reload, to be safe."""
    path = _pending_path(options)
    try:
        data = json.loads(statefiles.read_bytes(str(path)))
    except FileNotFoundError:
        return Pending()
    except (OSError, ValueError):
        return Pending(reload=True)
    restarts = data.get("restarts") if isinstance(data, dict) else None
    if not isinstance(restarts, list) or not all(isinstance(u, str) for u in restarts):
        return Pending(reload=True)
    return Pending(bool(data.get("reload")), tuple(restarts))


def _write_pending(options: Options, plan: Plan) -> None:
    path = _pending_path(options)
    try:
        data = json.dumps({"reload": True, "restarts": sorted(plan.restarts)})
        statefiles.replace(str(path), data.encode())
    except OSError as exc:
        raise ApplyError(f"cannot write {path}: {exc.strerror}; nothing was changed") from None


def apply(
    desired: dict[str, str],
    options: Options,
    *,
    sources: list[str] = (),  # type: ignore[assignment]
    dry_run: bool = False,
    note: str = "",
    allow_empty: bool = True,
    show_plan: Callable[[Plan], None] = lambda _: None,
) -> ApplyReport:
    """Make the host run exactly the desired units. Raises before touching anything when the
    plan cannot be made (clash with a foreign unit, shadowing, a pull that fails). Once
    something has been changed, errors become a failed report (and a recorded generation)."""
    started = time.monotonic()
    options = replace(options, deadline=started + options.timeout)
    mode = "user" if options.user else "system"
    with Systemd(options.user) as systemd, _maybe_lock(options, dry_run):
        refuse_shadowing(list(desired), mode, options.unit_dir)
        current, foreign = read_unit_dir(options.unit_dir)
        if not dry_run:  # left by an apply killed mid-write
            remove_temp_files(options.unit_dir, sorted(set(desired) | set(current)))
        if not desired and current and not allow_empty:
            raise ApplyError(
                f"the definitions declare nothing, which would remove all {len(current)} managed "
                "unit(s); pass --allow-empty if that is what you want"
            )
        observed = systemd.units(sorted(set(desired) | set(current)))
        refuse_foreign_loaded(list(desired), observed, options.unit_dir)
        plan = make_plan(desired, current, foreign, observed, _read_pending(options))
        show_plan(plan)
        if dry_run:
            return ApplyReport(plan, [], True, True, seconds=time.monotonic() - started)
        # on its way up or down already (at boot, in a Restart=): wait for it as for our own jobs
        busy = {u for u, st in observed.items() if st.changing and u in desired}
        if not plan.has_work:
            if busy:
                observed = _settle(systemd, desired, busy, options)
            outcomes = _outcomes(plan, observed, {}, options, checked=set())
            ok = all(o.ok for o in outcomes)
            return ApplyReport(plan, outcomes, ok, seconds=time.monotonic() - started)
        _pull(plan, options)
        try:
            report = _execute(plan, desired, systemd, options, busy)
        except OrchestratorError as exc:  # part of the plan was carried out: say what failed
            report = ApplyReport(plan, [], False, error=str(exc))
        if plan.has_changes:
            try:
                report.generation = history.record(
                    options.state_dir, desired, list(sources), "ok" if report.ok else "failed",
                    note,
                )  # fmt: skip
            except OSError as exc:
                report.error = (report.error + "; " if report.error else "") + (
                    f"could not record the generation: {exc}"
                )
    report.seconds = time.monotonic() - started
    return report


@contextlib.contextmanager
def _maybe_lock(options: Options, dry_run: bool) -> Iterator[None]:
    if dry_run:  # reads only: no lock, nothing created (a user without rights may look)
        yield
        return
    with lock.exclusive(options.state_dir):
        yield


def _left(options: Options) -> float:
    return max(options.deadline - time.monotonic(), 0.0)


def _pull(plan: Plan, options: Options) -> None:
    pulled: set[str] = set()
    for action in plan.actions:
        if action.verb != "pull":
            continue
        image, policy = action.reason.rsplit(" ", 1)
        if image in pulled:
            continue
        pulled.add(image)
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
    systemd: Systemd,
    options: Options,
    busy: set[str],
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
        systemd.run_jobs([("stop", u) for u in stops], _left(options))
        did("stop", stops)
        checkpoint("stopped")
    removed = plan.units("remove")
    systemd.disable([u for u in plan.units("disable") if u in removed])
    wrote = plan.units("write")
    try:
        for unit in removed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(options.unit_dir, unit))
            systemd.reset_failed(unit)  # else it lingers as "not-found failed"
            did("remove", [unit])
        if wrote:
            os.makedirs(options.unit_dir, exist_ok=True)
        for unit in wrote:
            write_atomic(options.unit_dir, unit, desired[unit])
            checkpoint("wrote-one")
    except OSError as exc:
        raise ApplyError(
            f"cannot change {options.unit_dir}: {exc}; the next apply finishes what this one began"
        ) from None
    did("write", wrote)
    # Enablement first: like `systemctl enable`, it changes what systemd has loaded, and the one
    # reload below picks it up (a reload before it leaves the units marked NeedDaemonReload).
    enable, disable = plan.units("enable"), [u for u in plan.units("disable") if u not in removed]
    reenable = plan.units("reenable")
    systemd.enable(enable)
    systemd.disable(disable)
    systemd.reenable(reenable)
    did("enable", enable)
    did("disable", disable)
    did("reenable", reenable)
    reloaded = any(a.verb == "daemon-reload" for a in plan.actions)
    if reloaded:
        systemd.reload()
        checkpoint("reloaded")
    jobs = [("start", u) for u in plan.units("start")] + [("restart", u) for u in plan.restarts]
    for _, unit in jobs:
        systemd.reset_failed(unit)  # a unit that hit its start limit may start again
    if jobs:
        options.say(f"starting {len(jobs)} unit(s)")
    results = systemd.run_jobs(jobs, _left(options), enqueued=lambda: checkpoint("enqueued"))
    for verb, unit in jobs:
        did(verb, [unit])
    _pending_path(options).unlink(missing_ok=True)
    touched = {u for _, u in jobs} | busy
    observed = _settle(systemd, desired, touched, options)
    outcomes = _outcomes(plan, observed, results.results, options, checked=touched, done=done)
    for unit in results.unfinished:
        for outcome in outcomes:
            if outcome.unit == unit:
                outcome.ok, outcome.job = False, "timeout"
    ok = all(o.ok for o in outcomes)
    return ApplyReport(plan, outcomes, ok, False, wrote, removed, reloaded)


def _settle(
    systemd: Systemd,
    desired: dict[str, str],
    touched: set[str],
    options: Options,
) -> dict[str, UnitState]:
    """Wait until each started or restarted unit has stayed up for the settle time (and is
    healthy where it has a health check) or has failed, or the timeout has passed."""
    deadline = options.deadline
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
            elif state.running and declares_health(desired[unit]):
                name = container_name(desired[unit]) or ""
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
        text = change.new or ""
        outcome.ok = as_declared(text, outcome.active, outcome.result)
        if outcome.ok and change.unit in checked and state is not None and state.running:
            steady_us = time.monotonic_ns() // 1000 - state.active_since_us
            outcome.ok = steady_us >= options.settle * 1e6
        if outcome.job.startswith("refused"):
            outcome.ok = False  # systemd would not start or restart it: not as declared
        if outcome.ok and change.unit in checked and declares_health(text):
            outcome.health = podman.health(container_name(text) or "")
            outcome.ok = outcome.health == "healthy"
        if not outcome.ok:
            outcome.journal = journal.tail(change.unit, user=options.user)
        outcomes.append(outcome)
    return outcomes
