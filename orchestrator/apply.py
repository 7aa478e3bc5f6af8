"""Executing a plan: the only place that changes the host (unit files, systemd, images).

Order, for the safety rules in docs/architecture.md ("The safety rules of apply"): lock; plan
against the files and systemd's view; pre-pull images (nothing is stopped before every image is
there); record what is about to be done (so an interrupted apply is finished by the next); stop,
disable and remove what is no longer declared; write files atomically; reload once;
enable/disable; enqueue every start and restart together; wait for the jobs, then for each unit
to stay up (and be healthy where it has a health check); report; record a generation.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

from orchestrator.core.plan import (
    ChangeKind,
    Observed,
    Pending,
    Plan,
    UnitChange,
    UnitKind,
    Verb,
    as_declared,
    make_plan,
)
from orchestrator.core.target import Target
from orchestrator.core.unitfile import container_name, declares_health, mark_fields
from orchestrator.errors import OrchestratorError
from orchestrator.host import history, journal, lock, podman, statefiles
from orchestrator.host.systemd import JobResults, Systemd
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


class UnitView(Observed, Protocol):
    """A unit as systemd reports it: what the planner reads, and what apply reads to wait for it
    and judge it (orchestrator.host.systemd.UnitState has these)."""

    @property
    def sub(self) -> str: ...
    @property
    def restarts(self) -> int: ...
    @property
    def active_since_us(self) -> int: ...  # CLOCK_MONOTONIC, as Host.monotonic
    @property
    def changing(self) -> bool: ...
    @property
    def running(self) -> bool: ...
    @property
    def failed(self) -> bool: ...


class Manager(Protocol):
    """The service manager apply drives: orchestrator.host.systemd.Systemd, or a fake in tests."""

    def units(self, names: Iterable[str]) -> Mapping[str, UnitView]: ...
    def run_jobs(
        self,
        jobs: list[tuple[str, str]],
        timeout: float,
        enqueued: Callable[[], None] = ...,
    ) -> JobResults: ...
    def enable(self, units: list[str]) -> None: ...
    def disable(self, units: list[str]) -> None: ...
    def reenable(self, units: list[str]) -> None: ...
    def reload(self) -> None: ...
    def reset_failed(self, units: list[str]) -> None: ...  # those of them that failed


def _pull_image(image: str, quiet: bool) -> None:
    podman.pull(image, quiet=quiet)


def _journal_tail(unit: str, user: bool) -> str:
    return journal.tail(unit, user=user)


@dataclass(frozen=True)
class Host:
    """What apply asks of the host besides its files: the service manager (connect(user)), podman,
    the journal and the clock. Tests put fakes here."""

    connect: Callable[[bool], AbstractContextManager[Manager]] = Systemd
    image_exists: Callable[[str], bool] = podman.image_exists
    pull: Callable[[str, bool], None] = _pull_image  # (image, quiet)
    health: Callable[[str], str] = podman.health  # container -> healthy, unhealthy, ...
    journal_tail: Callable[[str, bool], str] = _journal_tail  # (unit, user)
    monotonic: Callable[[], float] = time.monotonic  # CLOCK_MONOTONIC, as systemd's timestamps
    sleep: Callable[[float], None] = time.sleep


@dataclass
class UnitOutcome:
    unit: str
    kind: UnitKind
    change: ChangeKind
    done: list[Verb] = field(default_factory=list)  # the verbs carried out on it
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
    # started units not yet judged: a newer state arrived while they settled (watch), and the
    # apply that carries it out judges them
    unsettled: list[str] = field(default_factory=list)

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
            "unsettled": self.unsettled,
            "plan": self.plan.as_dict(diffs=True),
            "units": [asdict(o) for o in self.outcomes],
        }


@dataclass
class Options:
    target: Target  # the mode, and the unit and state directories apply works in
    timeout: float = 300.0
    settle: float = SETTLE_SECONDS
    quiet_pull: bool = False
    say: Callable[[str], None] = lambda _: None  # progress lines
    # (unit or image, what it is doing now) as apply waits: a terminal shows it live
    progress: Callable[[str, str], None] = lambda _, __: None
    deadline: float = 0.0  # host.monotonic() by which the apply gives up waiting (set by apply)
    # True when newer definitions wait (watch): once its jobs are enqueued, the apply stops
    # waiting for its units to settle and leaves them to the next apply
    superseded: Callable[[], bool] = lambda: False
    host: Host = field(default_factory=Host)


def _pending_path(options: Options) -> Path:
    return Path(options.target.state_dir) / "pending.json"


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
    sources: Sequence[str] = (),
    dry_run: bool = False,
    note: str = "",
    allow_empty: bool = True,
    show_plan: Callable[[Plan], None] = lambda _: None,
) -> ApplyReport:
    """Make the host run exactly the desired units. Raises before touching anything when the
    plan cannot be made (clash with a foreign unit, shadowing, a pull that fails). Once
    something has been changed, errors become a failed report (and a recorded generation)."""
    host = options.host
    started = host.monotonic()
    options = replace(options, deadline=started + options.timeout)
    with (
        host.connect(options.target.user) as systemd,
        _maybe_lock(options, dry_run),
        _ImageChecks(options.host, dry_run) as images,
    ):
        plan, observed = _plan(desired, systemd, options, images, dry_run=dry_run,
                               allow_empty=allow_empty)  # fmt: skip
        show_plan(plan)
        # on its way up or down already (at boot, in a Restart=): wait for it as for our own jobs
        busy = {u for u, st in observed.items() if st.changing and u in desired}
        round_ = _Round(plan, desired, systemd, options, busy, observed)
        if dry_run:
            report = ApplyReport(plan=plan, outcomes=[], ok=True, dry_run=True)
        elif not plan.has_work:
            report = _check(round_)
        else:
            _pull(plan, options, images)
            try:
                report = _execute(round_)
            except OrchestratorError as exc:  # part of the plan was carried out: say what failed
                report = ApplyReport(plan=plan, outcomes=[], ok=False, error=str(exc))
            if plan.has_changes:
                _record(report, desired, sources, note, options)
    report.seconds = host.monotonic() - started
    return report


def _plan(
    desired: dict[str, str],
    systemd: Manager,
    options: Options,
    images: _ImageChecks,
    *,
    dry_run: bool,
    allow_empty: bool,
) -> tuple[Plan, Mapping[str, UnitView]]:
    """The plan against the unit files and systemd's view of them, and that view."""
    target = options.target
    refuse_shadowing(list(desired), target.mode, target.unit_dir)
    current, foreign = read_unit_dir(target.unit_dir)
    images.start(text for unit, text in desired.items() if text != current.get(unit))
    if not dry_run:  # left by an apply killed mid-write
        remove_temp_files(target.unit_dir, sorted(set(desired) | set(current)))
    if not desired and current and not allow_empty:
        raise ApplyError(
            f"the definitions declare nothing, which would remove all {len(current)} managed "
            "unit(s); pass --allow-empty if that is what you want"
        )
    observed = systemd.units(sorted(set(desired) | set(current)))
    refuse_foreign_loaded(list(desired), observed, target.unit_dir)
    return make_plan(desired, current, foreign, observed, _read_pending(options)), observed


@dataclass(frozen=True)
class _Round:
    """What an apply works with once its plan is made."""

    plan: Plan
    desired: dict[str, str]
    systemd: Manager
    options: Options
    busy: set[str]  # declared units on their way up or down already (at boot, in a Restart=)
    observed: Mapping[str, UnitView]  # the units as the plan saw them


def _check(r: _Round) -> ApplyReport:
    """Nothing to do: wait for the units already on their way up, then judge every unit."""
    observed = r.observed
    if r.busy:
        observed, _ = _settle(r.systemd, r.desired, r.busy, r.options)
    outcomes = _outcomes(
        r.plan, observed, JobResults(), r.options, checked=set(), done={}, unjudged=set()
    )
    return ApplyReport(plan=r.plan, outcomes=outcomes, ok=all(o.ok for o in outcomes))


def _record(
    report: ApplyReport,
    desired: dict[str, str],
    sources: Sequence[str],
    note: str,
    options: Options,
) -> None:
    """Record the apply as a generation, whatever its result: a rollback needs to know both."""
    try:
        result: history.Result = "ok" if report.ok else "failed"
        if report.ok and report.unsettled:
            result = "superseded"  # not known to have come up: no rollback goes to it
        report.generation = history.record(
            options.target.state_dir, desired, list(sources), result, note
        )
    except OSError as exc:
        report.error = (report.error + "; " if report.error else "") + (
            f"could not record the generation: {exc}"
        )


def rollback_after(report: ApplyReport, options: Options) -> ApplyReport | None:
    """After an apply that did not bring everything up: apply the newest earlier generation
    that did. None (and why, through options.say) when there is nothing to roll back to."""
    if report.generation is None:
        options.say("rollback: this apply changed no unit file, so there is nothing to roll back")
        return None
    state_dir = options.target.state_dir
    good = history.rollback_target(state_dir, before=report.generation)
    if good is None:
        options.say("rollback: no earlier generation came up; nothing to roll back to")
        return None
    options.say(f"the new state did not come up: rolling back to generation {good.number}")
    try:
        units = history.units_of(state_dir, good.number)
        return apply(units, options, note=f"rollback to {good.number}")
    except OrchestratorError as exc:
        options.say(f"rollback to generation {good.number} failed: {exc}")
        return None


@contextlib.contextmanager
def _maybe_lock(options: Options, dry_run: bool) -> Iterator[None]:
    if dry_run:  # reads only: no lock, nothing created (a user without rights may look)
        yield
        return
    with lock.exclusive(options.target.state_dir):
        yield


def _left(options: Options) -> float:
    return max(options.deadline - options.host.monotonic(), 0.0)


def _now_us(options: Options) -> int:
    return int(options.host.monotonic() * 1_000_000)


class _ImageChecks:
    """Whether the images of new and changed containers (pull = "missing") are there, asked
    while systemd is asked about the units: each answer is a podman process, which would
    otherwise run only once the plan is made. One check per image."""

    def __init__(self, host: Host, dry_run: bool) -> None:
        self.host = host
        self.dry_run = dry_run  # pulls nothing: asks nothing
        self.pool: ThreadPoolExecutor | None = None
        self.asked: dict[str, Future[bool]] = {}

    def __enter__(self) -> _ImageChecks:
        return self

    def __exit__(self, *_: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def start(self, texts: Iterable[str]) -> None:
        if self.dry_run:
            return
        for text in texts:
            fields = mark_fields(text)
            image = fields.get("Image")
            if fields.get("Kind") != "container" or not image or image in self.asked:
                continue
            if fields.get("Pull", "missing") == "missing":
                self.pool = self.pool or ThreadPoolExecutor(max_workers=4)
                self.asked[image] = self.pool.submit(self.host.image_exists, image)

    def exists(self, image: str) -> bool:
        asked = self.asked.get(image)
        return asked.result() if asked is not None else self.host.image_exists(image)


def _pull(plan: Plan, options: Options, images: _ImageChecks) -> None:
    pulled: set[str] = set()
    for action in plan.actions:
        image, policy = action.image, action.pull_policy
        if action.verb != "pull" or image is None or image in pulled:
            continue
        pulled.add(image)
        if policy == "missing" and images.exists(image):
            continue
        options.say(f"pulling {image} for {action.unit}")
        options.progress(image, "pulling")
        try:
            options.host.pull(image, options.quiet_pull)
        except OrchestratorError as exc:
            options.progress(image, "pull failed")
            raise ApplyError(
                f"cannot pull {image} for {action.unit}; nothing was changed: {exc}"
            ) from None
        options.progress(image, "pulled")


Done = dict[str, list[Verb]]  # unit -> the verbs carried out on it, in order


def _did(done: Done, verb: Verb, units: Iterable[str]) -> None:
    for unit in units:
        done.setdefault(unit, []).append(verb)


def _execute(r: _Round) -> ApplyReport:
    """The phases, in order; each checkpoint is a point where the integration tests kill apply."""
    plan, desired, systemd, options = r.plan, r.desired, r.systemd, r.options
    _write_pending(options, plan)
    checkpoint("pending")
    done: Done = {}
    _stop_removed(plan, systemd, options, done)
    _write_units(plan, desired, systemd, options, done)
    _set_enablement(plan, systemd, done)
    reloaded = _reload(plan, systemd)
    jobs = _enqueue(plan, systemd, options, done, r.observed)
    _pending_path(options).unlink(missing_ok=True)
    touched = set(jobs.units) | r.busy
    settled, unsettled = _settle(systemd, desired, touched, options, may_leave=True)
    outcomes = _outcomes(
        plan, settled, jobs.results, options, checked=touched - unsettled, done=done,
        unjudged=unsettled,
    )  # fmt: skip
    return ApplyReport(
        plan=plan,
        outcomes=outcomes,
        ok=all(o.ok for o in outcomes if o.unit not in unsettled),
        wrote=plan.units("write"),
        removed=plan.units("remove"),
        reloaded=reloaded,
        unsettled=sorted(unsettled),
    )


def _stop_removed(plan: Plan, systemd: Manager, options: Options, done: Done) -> None:
    """Units no longer declared stop first (podman removes their containers), then lose their
    links while their files are still there to say what the links are."""
    stops = plan.units("stop")
    if stops:
        options.say(f"stopping {', '.join(stops)}")
        systemd.run_jobs([("stop", u) for u in stops], _left(options))
        _did(done, "stop", stops)
        checkpoint("stopped")
    removed = plan.units("remove")
    systemd.disable([u for u in plan.units("disable") if u in removed])


def _write_units(
    plan: Plan, desired: dict[str, str], systemd: Manager, options: Options, done: Done
) -> None:
    """Remove the files of removed units, write new and changed ones atomically."""
    unit_dir = options.target.unit_dir
    wrote = plan.units("write")
    removed = plan.units("remove")
    try:
        for unit in removed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(unit_dir, unit))
            _did(done, "remove", [unit])
        systemd.reset_failed(removed)  # else a failed one lingers as "not-found failed"
        if wrote:
            os.makedirs(unit_dir, exist_ok=True)
        for unit in wrote:
            write_atomic(unit_dir, unit, desired[unit])
            checkpoint("wrote-one")
    except OSError as exc:
        raise ApplyError(
            f"cannot change {unit_dir}: {exc}; the next apply finishes what this one began"
        ) from None
    _did(done, "write", wrote)


def _set_enablement(plan: Plan, systemd: Manager, done: Done) -> None:
    """Enablement before the reload: like `systemctl enable`, it changes what systemd has loaded,
    and the one reload picks it up (a reload before it leaves the units NeedDaemonReload)."""
    removed = plan.units("remove")
    enable, disable = plan.units("enable"), [u for u in plan.units("disable") if u not in removed]
    reenable = plan.units("reenable")
    systemd.enable(enable)
    systemd.disable(disable)
    systemd.reenable(reenable)
    _did(done, "enable", enable)
    _did(done, "disable", disable)
    _did(done, "reenable", reenable)


def _reload(plan: Plan, systemd: Manager) -> bool:
    if not any(a.verb == "daemon-reload" for a in plan.actions):
        return False
    systemd.reload()
    checkpoint("reloaded")
    return True


@dataclass(frozen=True)
class _Jobs:
    units: list[str]  # the units started or restarted
    results: JobResults


def _enqueue(
    plan: Plan, systemd: Manager, options: Options, done: Done, observed: Mapping[str, UnitView]
) -> _Jobs:
    """Every start and restart at once, so that systemd orders them by After=."""
    jobs = [("start", u) for u in plan.units("start")] + [("restart", u) for u in plan.restarts]
    # only a failed unit has anything to reset (one that hit its start limit may start again)
    failed = [u for _, u in jobs if (state := observed.get(u)) is not None and state.failed]
    systemd.reset_failed(failed)
    if jobs:
        options.say(f"starting {len(jobs)} unit(s)")
    for verb, unit in jobs:
        options.progress(unit, f"{verb} queued")
    # not left when newer definitions wait (watch): the next apply would restart a unit whose
    # start is still running, and systemd cancels that start (a burst of saves measured 6.6 s
    # from save to answer that way, against 1.7-2.4 s waiting for the jobs)
    results = systemd.run_jobs(jobs, _left(options), enqueued=lambda: checkpoint("enqueued"))
    _did(done, "start", plan.units("start"))
    _did(done, "restart", plan.restarts)
    return _Jobs([unit for _, unit in jobs], results)


def _settle(
    systemd: Manager,
    desired: dict[str, str],
    touched: set[str],
    options: Options,
    *,
    may_leave: bool = False,
) -> tuple[Mapping[str, UnitView], set[str]]:
    """Wait until each started or restarted unit has stayed up for the settle time (and is
    healthy where it has a health check) or has failed, or the timeout has passed; each unit's
    settle time counts from its own start. With may_leave, stop waiting as soon as newer
    definitions wait (options.superseded). Returns every desired unit's state, and the units
    left unsettled."""
    waiting = {unit for unit in touched if unit in desired}
    while waiting:
        # only the units still on their way up are asked about: each costs bus round trips
        observed = systemd.units(sorted(waiting))
        now_us = _now_us(options)
        still = set()
        for unit in sorted(waiting):
            state = observed.get(unit)
            awaited = _coming_up(state, desired[unit], now_us, options)
            options.progress(unit, awaited or _settled(state))
            if awaited:
                still.add(unit)
        waiting = still
        if not waiting or options.host.monotonic() > options.deadline:
            break
        if may_leave and options.superseded():
            return systemd.units(sorted(desired)), waiting
        options.host.sleep(_pause(observed, waiting, now_us, options))
    return systemd.units(sorted(desired)), set()


def _pause(
    observed: Mapping[str, UnitView], waiting: set[str], now_us: int, options: Options
) -> float:
    """How long nothing can change: a tenth of a second while a unit is on its way up or its
    health check is pending; until the youngest is old enough, when all that is waited for is
    running units running out their settle time."""
    pause = 0.5
    for unit in waiting:
        state = observed.get(unit)
        if state is None or state.changing or not state.running:
            return 0.1
        settled_in = options.settle - (now_us - state.active_since_us) / 1e6
        pause = min(pause, settled_in if settled_in > 0 else 0.1)
    return max(min(pause, _left(options)), 0.01)


def _coming_up(state: UnitView | None, text: str, now_us: int, options: Options) -> str:
    """What a started unit is still waiting for ("" when it is up, or failed, for good)."""
    if state is None or state.failed:
        return ""
    if state.changing:
        return f"{state.active} ({state.sub})"
    up_for = (now_us - state.active_since_us) / 1e6
    if state.running and up_for < options.settle:
        return f"running, staying up {up_for:.1f}/{options.settle:g} s"
    if state.running and declares_health(text):
        health = options.host.health(container_name(text) or "")
        return "" if health in ("healthy", "unhealthy") else f"health check: {health or 'none yet'}"
    return ""


def _settled(state: UnitView | None) -> str:
    if state is None:
        return "not loaded"
    return "failed" if state.failed else f"{state.active} ({state.sub})"


def _outcomes(
    plan: Plan,
    observed: Mapping[str, UnitView],
    jobs: JobResults,
    options: Options,
    *,
    checked: set[str],
    done: Done,
    unjudged: set[str],
) -> list[UnitOutcome]:
    """unjudged: units left settling for the next apply, which judges them: reported as they
    are, not as failed."""
    outcomes = []
    for change in plan.changes:
        outcome = _outcome(
            change,
            observed.get(change.unit),
            jobs.results.get(change.unit, ""),
            options,
            checked=change.unit in checked,
            judged=change.unit not in unjudged,
        )
        outcome.done = done.get(change.unit, [])
        if change.unit in jobs.unfinished:
            outcome.ok, outcome.job = False, "timeout"
        outcomes.append(outcome)
    return outcomes


def _outcome(
    change: UnitChange,
    state: UnitView | None,
    job: str,
    options: Options,
    *,
    checked: bool,
    judged: bool = True,
) -> UnitOutcome:
    """Judged by where the unit ended up, not by its job alone: a start that failed once and
    that systemd's Restart= recovered is up (its job still reads "failed"). A started unit
    (checked) must also have stayed active for the settle time, so a crash loop is not up."""
    outcome = UnitOutcome(unit=change.unit, kind=change.kind, change=change.action, job=job)
    if change.action == "remove":
        return outcome
    if state is not None:
        outcome.active, outcome.sub, outcome.result = state.active, state.sub, state.result
        outcome.restarts = state.restarts
    if not judged:
        return outcome
    text = change.new or ""
    ok = as_declared(text, outcome.active, outcome.result)
    if ok and checked and state is not None and state.running:
        ok = _now_us(options) - state.active_since_us >= options.settle * 1e6
    if job.startswith("refused"):
        ok = False  # systemd would not start or restart it: not as declared
    if ok and checked and declares_health(text):
        outcome.health = options.host.health(container_name(text) or "")
        ok = outcome.health == "healthy"
    if not ok:
        outcome.journal = options.host.journal_tail(change.unit, options.target.user)
    outcome.ok = ok
    return outcome
