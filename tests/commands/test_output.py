"""What people read: the plan as `plan` and as `apply` show it, apply's report, the history table.

The expected texts are the bytes the commands printed before their printers became one module;
they change only with a deliberate change of what people see.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrator import cli
from orchestrator.apply import ApplyReport, UnitOutcome
from orchestrator.commands.output import print_plan, print_report
from orchestrator.core.plan import Plan, make_plan
from orchestrator.host import history
from orchestrator.host.systemd import UnitState
from orchestrator.sandbox import machine
from orchestrator.textout import table


def unit(kind: str, *lines: str) -> str:
    body = "\n".join(lines)
    return (
        f"[Unit]\n{body}\n[Service]\nExecStart=/bin/true\n\n[Install]\n"
        f"WantedBy=multi-user.target\n\n[X-Orchestrator]\nKind={kind}\n"
    )


def running(name: str, active: str = "active", sub: str = "running") -> UnitState:
    return UnitState(name, load="loaded", active=active, sub=sub, enablement="enabled")


LONG = "a-very-long-unchanged.service"  # the widest name, and not shown unless asked


@pytest.fixture
def plan() -> Plan:
    desired = {
        "a.service": unit("container"),
        "b.service": unit("container", "Wants=new.target"),
        LONG: unit("container"),
    }
    current = {
        "b.service": unit("container", "Wants=old.target"),
        LONG: unit("container"),
        "old-volume.service": unit("volume"),
    }
    observed = {u: running(u) for u in current}
    observed[LONG] = running(LONG, "failed", "failed")
    return make_plan(desired, current, observed=observed)


def test_plan_lists_units_aligned_on_every_unit_restarts_and_counts(
    plan: Plan, capsys: pytest.CaptureFixture[str]
) -> None:
    print_plan(plan, diffs=False, unit_dir="/units")
    assert capsys.readouterr().out == (
        "Unit directory: /units\n"
        "  + a.service                      create (container)\n"
        "  ~ b.service                      change (container)\n"
        "  - old-volume.service             remove (volume)\n"
        "Restarts:\n"
        "  b.service: its unit file changed\n"
        "\n"
        "Plan: 1 to create, 1 to change, 1 to remove, 1 unchanged.\n"
    )


def test_plan_shows_unchanged_units_and_every_diff_when_asked(
    plan: Plan, capsys: pytest.CaptureFixture[str]
) -> None:
    print_plan(plan, diffs=True, unit_dir="/units", unchanged=True)
    shown = capsys.readouterr().out
    assert f"  = {LONG}  unchanged (container)\n" in shown
    assert "\n--- a/a.service\n+++ b/a.service\n@@ -0,0 +1,10 @@\n+[Unit]\n" in shown
    assert "\n--- a/old-volume.service\n" in shown
    assert " [Unit]\n-Wants=old.target\n+Wants=new.target\n [Service]\n" in shown


def test_apply_shows_its_jobs_and_indents_the_diffs_of_changed_units(
    plan: Plan, capsys: pytest.CaptureFixture[str]
) -> None:
    print_plan(plan, diffs=True, applying=True)
    assert capsys.readouterr().out == (
        "  + a.service                      create (container)\n"
        "  ~ b.service                      change (container)\n"
        "  - old-volume.service             remove (volume)\n"
        "    --- a/b.service\n"
        "    +++ b/b.service\n"
        "    @@ -1,5 +1,5 @@\n"
        "     [Unit]\n"
        "    -Wants=old.target\n"
        "    +Wants=new.target\n"
        "     [Service]\n"
        "     ExecStart=/bin/true\n"
        "     \n"
        f"  start {LONG}: declared but failed\n"
        "  start a.service: new unit\n"
        "  restart b.service: its unit file changed\n"
    )


def test_nothing_to_do_reads_differently_for_plan_and_apply(
    capsys: pytest.CaptureFixture[str],
) -> None:
    units = {"x.service": unit("container")}
    same = make_plan(units, units, observed={"x.service": running("x.service")})
    print_plan(same, diffs=True, unit_dir="/units")
    print_plan(same, diffs=True, applying=True)
    assert capsys.readouterr().out == (
        "Unit directory: /units\n\nNo changes: 1 unit(s) up to date.\n"
        "No changes: 1 unit(s) up to date and running; nothing written, reloaded or restarted.\n"
    )


def test_the_report_has_a_line_per_unit_the_failures_journals_and_a_verdict(
    plan: Plan, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes = [
        UnitOutcome(unit="a.service", kind="container", change="create",
                    done=["write", "enable", "start"], active="active", sub="running",
                    health="healthy"),
        UnitOutcome(unit="b.service", kind="container", change="change", done=["write", "restart"],
                    active="failed", sub="failed", result="exit-code", job="failed", ok=False,
                    journal="line1\nline2"),
        UnitOutcome(unit=LONG, kind="container", change="unchanged", active="active",
                    sub="running"),
        UnitOutcome(unit="old-volume.service", kind="volume", change="remove",
                    done=["stop", "remove"]),
    ]  # fmt: skip
    print_report(ApplyReport(
        plan=plan, outcomes=outcomes, ok=False, wrote=["a.service", "b.service"],
        removed=["old-volume.service"], reloaded=True, generation=3, seconds=1.234,
    ))  # fmt: skip
    assert capsys.readouterr().out == (
        "  ok   a.service                      active/running, healthy  write, enable, start\n"
        "  FAIL b.service                      failed/failed            write, restart\n"
        f"  ok   {LONG}  active/running           unchanged\n"
        "  ok   old-volume.service             removed                  stop, remove\n"
        "\n"
        "--- b.service (job failed, result exit-code): journal\n"
        "line1\n"
        "line2\n"
        "\n"
        "NOT everything runs as declared (wrote 2; removed 1; reloaded systemd; generation 3; "
        "1.23 s)\n"
    )


def test_history_is_a_table_that_marks_the_current_generation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history.record(str(tmp_path), {"a.service": "1\n", "b.service": "1\n"}, [], "ok")
    history.record(str(tmp_path), {"a.service": "2\n"}, [], "failed", "rollback to 1")
    first, second = (g.time for g in history.generations(str(tmp_path)))
    assert cli.main(["history", "--state-dir", str(tmp_path)]) == 0

    def when(seconds: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))

    assert capsys.readouterr().out == (
        "GEN  TIME                 RESULT  UNITS  NOTE\n"
        f"1    {when(first)}  ok      2\n"
        f"2    {when(second)}  failed  1      rollback to 1  (current)\n"
    )


def test_a_table_pads_every_column_but_the_last_and_indents_every_line() -> None:
    assert table([("a", "bb", "c"), ("ccc", "d", "")], ("X", "Y", "Z"), indent="> ") == [
        "> X    Y   Z",
        "> a    bb  c",
        "> ccc  d",
    ]
    assert table([]) == []


def test_sandbox_list_is_a_table_of_names_states_and_directories(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    boxes = [
        SimpleNamespace(name="a", pid=None, root=Path("/srv/boxes/a")),
        SimpleNamespace(name="longer-name", pid=42, root=Path("/srv/boxes/longer-name")),
    ]
    monkeypatch.setattr(machine, "list_sandboxes", lambda: boxes)
    assert cli.main(["sandbox", "list"]) == 0
    assert capsys.readouterr().out == (
        "a            stopped  /srv/boxes/a\nlonger-name  running  /srv/boxes/longer-name\n"
    )
