"""apply's decisions against a fake systemd and a fake clock: what it stops, writes, reloads,
enqueues and records as pending, and how the next apply finishes an interrupted one. No root, no
D-Bus, no podman: milliseconds per test. tests/integration/test_apply.py checks the same against a
real systemd."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator import apply as apply_module
from orchestrator.apply import ApplyError, ApplyReport, Host, Options, apply
from orchestrator.core.loader import load
from orchestrator.core.render import render
from orchestrator.core.target import Target
from orchestrator.errors import OrchestratorError
from orchestrator.host.systemd import JobResults, UnitState

IMAGE = "localhost/busybox:test"


def container(name: str, *lines: str) -> str:
    return "\n".join([f"[container.{name}]", f'image = "{IMAGE}"', *lines]) + "\n"


WEB = container("web")
DB = container("db")
APP = container("app", 'depends_on = ["db"]')


class Killed(BaseException):
    """What a SIGKILL at a checkpoint does to apply: it stops there, whatever it was doing."""


@dataclass
class FakeSystemd:
    """A service manager that keeps, per unit, the text it has loaded and the text its running
    process was started from, so a test can tell whether a unit runs its current file. Its
    clock is the test's: sleeping advances it, so waiting costs nothing."""

    unit_dir: Path
    now: float = 1000.0
    loaded: dict[str, str] = field(default_factory=dict)
    running: dict[str, str] = field(default_factory=dict)  # unit -> text it was started from
    states: dict[str, UnitState] = field(default_factory=dict)
    enabled: set[str] = field(default_factory=set)
    events: list[tuple[str, str]] = field(default_factory=list)  # (what, unit), in order
    batches: list[list[tuple[str, str]]] = field(default_factory=list)  # each run_jobs call
    failing: set[str] = field(default_factory=set)  # start fails (the service exits 1)
    refusing: set[str] = field(default_factory=set)  # systemd refuses the job
    dies_after: dict[str, float] = field(default_factory=dict)  # unit -> seconds it stays up
    crash_loops: set[str] = field(default_factory=set)  # dies, and Restart= brings it back
    activating_until: dict[str, float] = field(default_factory=dict)  # unit -> clock time
    healthy_after: float = 0.0  # seconds after a start that a health check passes
    pulled: list[str] = field(default_factory=list)
    pull_fails: bool = False
    invocations: int = 0
    asked: list[list[str]] = field(default_factory=list)  # the names of each units() call
    resets: list[str] = field(default_factory=list)  # each failed unit reset
    reset_batches: list[list[str]] = field(default_factory=list)  # each reset_failed call
    stop_fails: set[str] = field(default_factory=set)  # ends failed when stopped
    job_seconds: dict[str, float] = field(default_factory=dict)  # unit -> how long its job runs
    checked: list[str] = field(default_factory=list)  # each image asked about (image exists)

    # ----- the Manager protocol ------------------------------------------------------------
    def __enter__(self) -> FakeSystemd:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def units(self, names: Iterable[str]) -> dict[str, UnitState]:
        found = {}
        names = list(names)
        self.asked.append(names)
        for name in names:
            text = self._file(name)
            if name not in self.loaded and text is not None:
                self.loaded[name] = text  # systemd loads a unit when it is asked about it
            state = self.state(name)
            state.load = "loaded" if name in self.loaded else "not-found"
            state.need_reload = name in self.loaded and text != self.loaded[name]
            state.enablement = "enabled" if name in self.enabled else "disabled"
            self._advance(name, state)
            found[name] = replace(state)  # a snapshot, as D-Bus gives
        return found

    def run_jobs(
        self,
        jobs: list[tuple[str, str]],
        timeout: float,
        enqueued: Callable[[], None] = lambda: None,
    ) -> JobResults:
        self.batches.append(list(jobs))
        results = JobResults()
        for verb, unit in jobs:
            self.events.append((verb, unit))
            if unit in self.refusing or unit not in self.loaded:
                results.results[unit] = f"refused: unit {unit} cannot be {verb}ed"
            elif verb == "stop":
                failed = unit in self.stop_fails
                self.states[unit] = UnitState(
                    unit, active="failed" if failed else "inactive",
                    result="exit-code" if failed else "success",
                )  # fmt: skip
                results.results[unit] = "done"
            else:
                results.results[unit] = self._start(unit, again=verb == "restart")
        enqueued()  # the jobs are systemd's now: a kill after this point does not undo them
        self.now += max((self.job_seconds.get(u, 0.0) for _, u in jobs), default=0.0)
        return results

    def enable(self, units: list[str]) -> None:
        self._record("enable", units)
        self.enabled.update(units)

    def disable(self, units: list[str]) -> None:
        self._record("disable", units)
        self.enabled.difference_update(units)

    def reenable(self, units: list[str]) -> None:
        self._record("reenable", units)

    def reload(self) -> None:
        self.events.append(("reload", ""))
        self.loaded = {p.name: p.read_text() for p in self.unit_dir.glob("*.service")}

    def reset_failed(self, units: list[str]) -> None:
        if units:
            self.reset_batches.append(list(units))
        for unit in units:
            if self.state(unit).failed:
                self.resets.append(unit)
                self.states[unit] = UnitState(unit)

    # ----- the rest of the host: podman, the journal, the clock -----------------------------
    def host(self) -> Host:
        return Host(
            connect=lambda user: self,
            image_exists=self._image_exists,
            pull=self._pull,
            health=self._health,
            journal_tail=lambda unit, user: f"the journal of {unit}",
            monotonic=lambda: self.now,
            sleep=self._sleep,
        )

    def _image_exists(self, image: str) -> bool:
        self.checked.append(image)
        return image in self.pulled

    def _pull(self, image: str, quiet: bool) -> None:
        self.events.append(("pull", image))
        if self.pull_fails:
            raise OrchestratorError(f"{image}: manifest unknown")
        self.pulled.append(image)

    def _health(self, container: str) -> str:
        state = self.state(f"{container}.service")
        up_for = self.now - state.active_since_us / 1e6
        return "healthy" if state.running and up_for >= self.healthy_after else "starting"

    def _sleep(self, seconds: float) -> None:
        self.now += seconds

    # ----- helpers ---------------------------------------------------------------------------
    def state(self, unit: str) -> UnitState:
        return self.states.setdefault(unit, UnitState(unit))

    def runs_its_file(self, unit: str) -> bool:
        """Active, started from the text that is in its file now."""
        return self.state(unit).running and self.running.get(unit) == self._file(unit)

    def changes(self) -> list[tuple[str, str]]:
        """What apply changed in systemd, in order (what it only asked about is left out)."""
        return [e for e in self.events if e[0] != "pull"]

    def _file(self, name: str) -> str | None:
        path = self.unit_dir / name
        return path.read_text() if path.is_file() else None

    def _record(self, what: str, units: list[str]) -> None:
        self.events += [(what, unit) for unit in units]

    def _start(self, unit: str, *, again: bool) -> str:
        state = self.state(unit)
        if state.running and not again:
            return "done"  # starting an active unit is a no-op
        self.invocations += 1
        if unit in self.failing:
            self.states[unit] = UnitState(unit, active="failed", sub="failed", result="exit-code")
            return "failed"
        self.states[unit] = UnitState(
            unit, load="loaded", active="active", sub="running", result="success",
            active_since_us=int(self.now * 1e6), invocation=str(self.invocations),
        )  # fmt: skip
        self.running[unit] = self.loaded[unit]
        return "done"

    def _advance(self, unit: str, state: UnitState) -> None:
        """Time passes for the units that change by themselves: coming up, or dying."""
        until = self.activating_until.get(unit)
        if until is not None:
            up = self.now >= until
            state.active, state.job = ("active", "") if up else ("activating", "7")
            if up:
                del self.activating_until[unit]
                state.active_since_us, state.result = int(until * 1e6), "success"
                self.running[unit] = self.loaded[unit]
        life = self.dies_after.get(unit)
        if life is not None and state.running and self.now - state.active_since_us / 1e6 > life:
            if unit in self.crash_loops:
                state.active_since_us, state.restarts = int(self.now * 1e6), state.restarts + 1
            else:
                state.active, state.sub, state.result = "failed", "failed", "exit-code"


@dataclass
class World:
    """A unit directory, a state directory and a fake systemd, and apply run against them."""

    root: Path
    systemd: FakeSystemd
    timeout: float = 300.0  # apply's --timeout

    @property
    def unit_dir(self) -> Path:
        return self.root / "units"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def pending(self) -> Path:
        return self.state_dir / "pending.json"

    def units(self, *definitions: str) -> dict[str, str]:
        """The units of these definitions (one file each), rendered as apply gets them."""
        directory = self.root / "defs"
        directory.mkdir(exist_ok=True)
        for old in directory.glob("*.toml"):
            old.unlink()
        for number, text in enumerate(definitions):
            (directory / f"{number}.toml").write_text(text)
        return render(load([str(directory)]))

    def options(self) -> Options:
        target = Target("system", (), str(self.unit_dir), str(self.state_dir))
        return Options(target=target, timeout=self.timeout, host=self.systemd.host())

    def apply(self, desired: dict[str, str], **keywords: object) -> ApplyReport:
        return apply(desired, self.options(), **keywords)  # type: ignore[arg-type]

    def forget(self) -> None:
        """Start the record of events afresh (after setting the scene)."""
        self.systemd.events.clear()
        self.systemd.batches.clear()
        self.systemd.asked.clear()
        self.systemd.resets.clear()
        self.systemd.reset_batches.clear()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path, FakeSystemd(tmp_path / "units"))


def outcome_of(report: ApplyReport, unit: str) -> apply_module.UnitOutcome:
    return next(o for o in report.outcomes if o.unit == unit)


def test_a_first_apply_writes_every_unit_reloads_once_and_starts_them_all_together(
    world: World,
) -> None:
    desired = world.units(WEB, DB, APP)
    report = world.apply(desired)
    assert report.ok, report
    assert {p.name: p.read_text() for p in world.unit_dir.iterdir()} == desired
    assert world.systemd.changes() == [
        ("enable", "app.service"), ("enable", "db.service"), ("enable", "web.service"),
        ("reload", ""),
        ("start", "app.service"), ("start", "db.service"), ("start", "web.service"),
    ]  # fmt: skip
    assert len(world.systemd.batches) == 1, "every start is enqueued at once"
    assert all(world.systemd.runs_its_file(unit) for unit in desired)
    assert report.wrote == sorted(desired) and report.reloaded and report.generation == 1
    assert outcome_of(report, "web.service").done == ["write", "enable", "start"]
    assert not world.pending.exists()


def test_a_second_apply_writes_reloads_and_restarts_nothing(world: World) -> None:
    desired = world.units(WEB, DB)
    world.apply(desired)
    before = {p.name: p.stat().st_mtime_ns for p in world.unit_dir.iterdir()}
    world.forget()
    report = world.apply(desired)
    assert report.ok and not report.reloaded and report.generation is None
    assert world.systemd.changes() == [] and world.systemd.batches == []
    assert {p.name: p.stat().st_mtime_ns for p in world.unit_dir.iterdir()} == before
    assert not (world.state_dir / "generations" / "2").exists()


def test_a_changed_unit_restarts_with_the_units_that_require_it_and_nothing_else(
    world: World,
) -> None:
    world.apply(world.units(WEB, DB, APP))
    web = world.systemd.state("web.service").invocation
    world.forget()
    desired = world.units(WEB, container("db", 'environment = { VERSION = "2" }'), APP)
    report = world.apply(desired)
    assert report.ok
    assert world.systemd.changes() == [
        ("reload", ""), ("restart", "db.service"), ("restart", "app.service"),
    ]  # fmt: skip
    assert world.systemd.runs_its_file("db.service")
    assert world.systemd.state("web.service").invocation == web, "web was left running"


def test_a_removed_unit_is_stopped_and_disabled_before_its_file_goes_and_anything_is_written(
    world: World,
) -> None:
    world.apply(world.units(WEB, DB))
    world.forget()
    report = world.apply(world.units(container("web", 'environment = { V = "2" }')))
    assert report.ok and report.removed == ["db.service"]
    assert world.systemd.changes() == [
        ("stop", "db.service"), ("disable", "db.service"), ("reload", ""),
        ("restart", "web.service"),
    ]  # fmt: skip
    assert sorted(p.name for p in world.unit_dir.iterdir()) == ["web.service"]
    assert outcome_of(report, "db.service").done == ["stop", "remove"]


def test_pending_json_is_written_before_the_first_change_and_removed_after(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.apply(world.units(WEB, DB))
    seen: list[object] = []
    real = world.systemd.run_jobs

    def run_jobs(jobs: list[tuple[str, str]], timeout: float, **waits: Any) -> JobResults:
        seen.append(json.loads(world.pending.read_text()) if world.pending.exists() else None)
        return real(jobs, timeout, **waits)

    monkeypatch.setattr(world.systemd, "run_jobs", run_jobs)
    world.apply(world.units(container("web", 'environment = { V = "2" }')))
    assert seen == [
        {"reload": True, "restarts": ["web.service"]},  # stopping db: the first change
        {"reload": True, "restarts": ["web.service"]},  # the restart
    ]
    assert not world.pending.exists()


@pytest.mark.parametrize("point", ["pending", "stopped", "wrote-one", "reloaded", "enqueued"])
def test_an_apply_killed_at_any_point_is_finished_by_the_next(
    world: World, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    world.apply(world.units(WEB, DB, APP, container("extra")))
    desired = world.units(WEB, DB, container("app", 'environment = { V = "B" }'), container("new"))

    def kill_at(name: str) -> None:
        if name == point:
            raise Killed(name)

    monkeypatch.setattr(apply_module, "checkpoint", kill_at)
    with pytest.raises(Killed):
        world.apply(desired)
    assert world.pending.exists(), "the killed apply left what it had set out to do"
    monkeypatch.undo()
    report = world.apply(desired)
    assert report.ok, report
    assert all(world.systemd.runs_its_file(unit) for unit in desired)
    assert not world.systemd.state("extra.service").running
    assert sorted(p.name for p in world.unit_dir.iterdir()) == sorted(desired)
    assert not world.pending.exists()


def test_a_pending_json_left_behind_makes_the_next_apply_reload_and_restart_what_was_pending(
    world: World,
) -> None:
    old = world.units(WEB, DB, APP)
    world.apply(old)
    desired = world.units(WEB, DB, container("app", 'environment = { V = "B" }'))
    # killed after writing app's file and reloading, before the restart was enqueued
    (world.unit_dir / "app.service").write_text(desired["app.service"])
    world.systemd.reload()
    world.state_dir.joinpath("pending.json").write_text(
        json.dumps({"reload": True, "restarts": ["app.service", "gone.service"]})
    )
    world.forget()
    report = world.apply(desired)
    assert report.ok
    assert world.systemd.changes() == [("reload", ""), ("restart", "app.service")]
    assert world.systemd.runs_its_file("app.service")
    assert report.plan.restarts == {"app.service": "an interrupted apply had not restarted it yet"}


def test_an_unreadable_pending_json_means_reload_to_be_safe(world: World) -> None:
    desired = world.units(WEB)
    world.apply(desired)
    world.pending.write_text("{not json")
    world.forget()
    world.apply(desired)
    assert world.systemd.changes() == [("reload", "")]
    assert not world.pending.exists()


def test_a_unit_already_activating_is_waited_for_not_restarted(world: World) -> None:
    desired = world.units(WEB, DB)
    world.apply(desired)
    world.systemd.states["web.service"] = UnitState("web.service", active="activating", job="7")
    world.systemd.activating_until["web.service"] = world.systemd.now + 3.0
    started = world.systemd.now
    world.forget()
    report = world.apply(desired)
    assert world.systemd.changes() == []
    assert world.systemd.now - started >= 3.0, "apply waited for it to come up"
    assert report.ok and outcome_of(report, "web.service").active == "active"


def test_a_declared_unit_that_is_not_running_is_started_alone(world: World) -> None:
    desired = world.units(WEB, DB)
    world.apply(desired)
    world.systemd.states["db.service"] = UnitState("db.service", active="failed", result="signal")
    world.forget()
    report = world.apply(desired)
    assert world.systemd.changes() == [("start", "db.service")]
    assert report.ok and not report.reloaded and report.wrote == []


def test_only_a_failed_unit_is_reset_before_it_is_started(world: World) -> None:
    desired = world.units(WEB, DB)
    world.apply(desired)
    assert world.systemd.resets == [], "nothing to reset in units that never ran"
    world.systemd.states["db.service"] = UnitState("db.service", active="failed", result="signal")
    world.forget()
    assert world.apply(desired).ok
    assert world.systemd.resets == ["db.service"]


def test_removed_units_are_reset_in_one_call_and_only_a_failed_one_is_reset(world: World) -> None:
    world.apply(world.units(WEB, DB, container("cache")))
    world.systemd.stop_fails.add("db.service")
    world.forget()
    report = world.apply(world.units(WEB), allow_empty=True)
    assert report.ok and report.removed == ["cache.service", "db.service"]
    assert world.systemd.reset_batches == [["cache.service", "db.service"]]
    assert world.systemd.resets == ["db.service"], "else it lingers as not-found failed"


def test_each_unit_settles_from_its_own_start_and_settled_ones_are_not_asked_again(
    world: World,
) -> None:
    world.systemd.activating_until["db.service"] = world.systemd.now + 1.0
    start = world.systemd.now
    report = world.apply(world.units(WEB, DB))
    assert report.ok
    # web came up at once and db a second later: done the settle time after db, not after both
    assert 2.5 <= world.systemd.now - start < 2.6
    settling = world.systemd.asked[2:-1]  # after the plan's and the enqueue's, before the last
    assert settling and settling[-1] == ["db.service"], "web had settled: not asked about"
    assert len(settling) < 15, "a unit running out its settle time is not polled for"


def test_a_newer_state_waiting_ends_the_wait_for_units_to_settle(world: World) -> None:
    start = world.systemd.now
    options = replace(world.options(), superseded=lambda: True)
    report = apply(world.units(WEB, DB), options)
    assert report.ok and report.unsettled == ["db.service", "web.service"]
    assert world.systemd.now - start < 1.5, "it did not wait out the settle time"
    assert world.systemd.batches == [[("start", "db.service"), ("start", "web.service")]]
    meta = json.loads((world.state_dir / "generations" / "1" / "meta.json").read_text())
    assert meta["result"] == "superseded", "not known to have come up: no rollback target"


def test_a_newer_state_waiting_does_not_end_the_wait_for_the_jobs_and_leaves_units_unjudged(
    world: World,
) -> None:
    world.systemd.job_seconds["web.service"] = 5.0  # a slow start (a health check, a pull)
    world.systemd.activating_until["db.service"] = world.systemd.now + 6.0
    start = world.systemd.now
    options = replace(world.options(), superseded=lambda: True)
    report = apply(world.units(WEB, DB), options)
    # a restart by the next apply would cancel a start still running: waited for
    assert 5.0 <= world.systemd.now - start < 6.0, "the jobs, not the settle time"
    assert report.ok and report.unsettled == ["db.service"], "web has been up for 5 s"
    db = outcome_of(report, "db.service")
    assert (db.active, db.ok, db.journal) == ("activating", True, ""), "the next apply judges it"


def test_a_unit_that_fails_to_start_fails_the_apply_with_its_journal(world: World) -> None:
    world.systemd.failing.add("db.service")
    report = world.apply(world.units(WEB, DB))
    assert not report.ok
    db = outcome_of(report, "db.service")
    assert (db.ok, db.active, db.journal) == (False, "failed", "the journal of db.service")
    assert outcome_of(report, "web.service").ok
    meta = json.loads((world.state_dir / "generations" / "1" / "meta.json").read_text())
    assert report.generation == 1 and meta["result"] == "failed"


def test_a_unit_that_dies_right_after_it_started_is_not_up(world: World) -> None:
    world.systemd.dies_after["web.service"] = 1.0  # before the settle time (1.5 s) is over
    report = world.apply(world.units(WEB))
    assert not report.ok and outcome_of(report, "web.service").result == "exit-code"


def test_a_unit_in_a_crash_loop_is_not_up_though_systemd_shows_it_active(world: World) -> None:
    world.systemd.dies_after["web.service"] = 1.0
    world.systemd.crash_loops.add("web.service")
    world.timeout = 10.0
    report = world.apply(world.units(WEB))
    web = outcome_of(report, "web.service")
    assert (web.ok, web.active) == (False, "active") and web.restarts >= 5


def test_a_unit_systemd_refuses_to_start_fails_alone(world: World) -> None:
    world.systemd.refusing.add("web.service")
    report = world.apply(world.units(WEB, DB))
    web, db = outcome_of(report, "web.service"), outcome_of(report, "db.service")
    assert not report.ok and not web.ok and web.job.startswith("refused")
    assert db.ok and world.systemd.runs_its_file("db.service")


def test_a_health_check_is_waited_for(world: World) -> None:
    world.systemd.healthy_after = 4.0
    start = world.systemd.now
    report = world.apply(world.units(container("web", 'health = { command = ["true"] }')))
    assert report.ok and outcome_of(report, "web.service").health == "healthy"
    assert world.systemd.now - start >= 4.0


def test_a_disabled_unit_is_disabled_before_the_one_reload(world: World) -> None:
    world.apply(world.units(WEB))
    world.forget()
    report = world.apply(world.units(container("web", "enabled = false")))
    assert world.systemd.changes() == [("disable", "web.service"), ("reload", "")]
    assert report.ok and "web.service" not in world.systemd.enabled


def test_images_are_pulled_once_before_anything_is_stopped(world: World) -> None:
    world.apply(world.units(WEB, DB))
    world.forget()
    always = 'pull = "always"'
    world.apply(world.units(container("web", always, "stop_timeout = 3"), container("new", always)))
    assert world.systemd.events[0] == ("pull", IMAGE)
    assert [e for e in world.systemd.events if e[0] == "pull"] == [("pull", IMAGE)]
    assert world.systemd.events[1] == ("stop", "db.service")


def test_a_missing_image_is_pulled_and_a_present_one_is_not(world: World) -> None:
    world.apply(world.units(WEB))
    world.apply(world.units(WEB, DB))
    assert world.systemd.pulled == [IMAGE], "pulled once, for the first apply"


def test_an_image_is_checked_once_and_only_for_new_or_changed_containers(world: World) -> None:
    world.apply(world.units(WEB, DB), dry_run=True)
    assert world.systemd.checked == [], "a dry run asks podman nothing"
    world.apply(world.units(WEB, DB))
    assert world.systemd.checked == [IMAGE], "two containers, one image, one check"
    world.systemd.checked.clear()
    world.apply(world.units(WEB, DB))
    assert world.systemd.checked == []


def test_the_image_check_runs_while_systemd_is_asked_about_the_units(world: World) -> None:
    checked = threading.Event()
    seen: list[bool] = []
    exists, units = world.systemd._image_exists, world.systemd.units

    def image_exists(image: str) -> bool:
        checked.set()
        return exists(image)

    def units_waiting_for_the_check(names: Iterable[str]) -> dict[str, UnitState]:
        if not seen:  # the plan's question: the check is under way meanwhile
            seen.append(checked.wait(timeout=5))
        return units(names)

    world.systemd.units = units_waiting_for_the_check  # type: ignore[method-assign]
    options = world.options()
    options = replace(options, host=replace(options.host, image_exists=image_exists))
    assert apply(world.units(WEB), options).ok
    assert seen == [True]


def test_a_failed_pull_changes_nothing(world: World) -> None:
    world.apply(world.units(WEB))
    before = {p.name: p.read_text() for p in world.unit_dir.iterdir()}
    world.systemd.pull_fails = True
    world.forget()
    with pytest.raises(ApplyError, match="nothing was changed"):
        world.apply(world.units(container("web", 'pull = "always"', "stop_timeout = 3")))
    assert world.systemd.changes() == []
    assert {p.name: p.read_text() for p in world.unit_dir.iterdir()} == before
    assert not world.pending.exists()


def test_a_dry_run_changes_nothing_and_creates_no_state(world: World) -> None:
    report = world.apply(world.units(WEB), dry_run=True)
    assert report.dry_run and report.plan.has_work
    assert world.systemd.events == [] and not world.unit_dir.exists()
    assert not world.state_dir.exists()


def test_declaring_nothing_is_refused_while_managed_units_exist_unless_allowed(
    world: World,
) -> None:
    world.apply(world.units(WEB))
    world.forget()
    with pytest.raises(ApplyError, match="--allow-empty"):
        world.apply({}, allow_empty=False)
    assert world.systemd.changes() == []
    report = world.apply({}, allow_empty=True)
    assert report.removed == ["web.service"] and not any(world.unit_dir.iterdir())


def test_a_unit_file_that_cannot_be_written_fails_the_report_and_keeps_pending(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(directory: str, name: str, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(apply_module, "write_atomic", disk_full)
    report = world.apply(world.units(WEB))
    assert not report.ok and "No space left on device" in report.error
    assert world.systemd.changes() == []
    assert world.pending.exists(), "the next apply finishes what this one began"
    assert report.generation == 1


@pytest.fixture(autouse=True)
def _no_real_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever these tests forget to fake must fail, not reach the machine's systemd."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a test of apply reached the real host")

    monkeypatch.setattr("orchestrator.host.runner.run", refuse)
    monkeypatch.setattr("orchestrator.host.systemd.Systemd.__init__", refuse)
