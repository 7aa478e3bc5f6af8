"""Planning: make_plan() on the cases in plan_cases/ (data: units in, plan out), and the plan and
render commands on a real directory."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.core.plan import Observed, Pending, Plan, as_declared, make_plan
from orchestrator.errors import ConflictError
from tests.support.cli import run_inline as run_cli

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted((Path(__file__).parent / "plan_cases").glob("*.toml"))


def unit(
    kind: str = "container",
    unit: list[str] | tuple[str, ...] = (),
    service: list[str] | tuple[str, ...] = ("ExecStart=/bin/true",),
    wanted_by: str = "multi-user.target",
    install: bool = True,
    mark: list[str] | tuple[str, ...] = (),
) -> str:
    """A managed unit file, from a case's unit table."""
    sections = [("Unit", unit), ("Service", service)]
    if install:
        sections.append(("Install", [f"WantedBy={wanted_by}"]))
    sections.append(("X-Orchestrator", [f"Kind={kind}", *mark]))
    return "".join(f"[{name}]\n" + "".join(f"{line}\n" for line in lines) + "\n"
                   for name, lines in sections)  # fmt: skip


@dataclass(frozen=True)
class Seen:
    """systemd's view of a unit, as orchestrator.host.systemd.UnitState gives it."""

    active: str = "active"
    enablement: str = "enabled"
    need_reload: bool = False
    result: str = "success"


CASE_KEYS = {"observed", "unmanaged", "pending", "units", "expected"}
UNIT_KEYS = {"desired", "current", "seen"}
EXPECTED_KEYS = {"changes", "restarts", "actions"}


def plan_case(path: Path) -> tuple[Plan | str, dict[str, Any]]:
    """Run make_plan on a case file: (the plan, or the ConflictError's message; the expected)."""
    case = tomllib.loads(path.read_text())
    assert set(case) <= CASE_KEYS and "observed" in case, f"{path.name}: keys {sorted(case)}"
    desired, current, observed = {}, {}, {}
    for name, table in case.get("units", {}).items():
        assert set(table) <= UNIT_KEYS, f"{path.name}: {name}: keys {sorted(table)}"
        if "desired" in table:
            desired[name] = unit(**table["desired"])
        if "current" in table:
            current[name] = unit(**table["current"])
        if table.get("seen", {}) is not False:
            observed[name] = Seen(**table.get("seen", {}))
    pending = case.get("pending", {})
    assert set(pending) <= {"reload", "restarts"}, f"{path.name}: pending keys {sorted(pending)}"
    seen: Mapping[str, Observed] | None = observed if case["observed"] else None
    try:
        plan = make_plan(
            desired, current, case.get("unmanaged", ()), seen,
            Pending(pending.get("reload", False), tuple(pending.get("restarts", ()))),
        )  # fmt: skip
    except ConflictError as exc:
        return str(exc), case["expected"]
    return plan, case["expected"]


def test_the_plan_cases_are_found() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_each_plan_case_gives_what_it_expects(path: Path) -> None:
    plan, expected = plan_case(path)
    if "conflict" in expected:
        assert isinstance(plan, str) and re.search(expected["conflict"], plan), plan
        return
    assert isinstance(plan, Plan), f"unexpected conflict: {plan}"
    assert set(expected) == EXPECTED_KEYS, "a case says what every part of the plan must be"
    assert {c.unit: f"{c.action} ({c.kind})" for c in plan.changes} == expected["changes"]
    assert plan.restarts == expected["restarts"]
    actions = [{k: v for k, v in a.as_dict().items() if v is not None} for a in plan.actions]
    assert actions == expected["actions"]


def test_a_wrong_expectation_fails_its_case(tmp_path: Path) -> None:
    case = (Path(__file__).parent / "plan_cases" / "host-stale-units-reloaded.toml").read_text()
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(case.replace("stale units: a.service", "stale units: b.service"))
    with pytest.raises(AssertionError):
        test_each_plan_case_gives_what_it_expects(wrong)


def test_a_changed_units_diff_shows_the_old_and_new_lines() -> None:
    old, new = unit(unit=["Wants=old.target"]), unit(unit=["Wants=new.target"])
    change = make_plan({"b.service": new}, {"b.service": old}).changes[0]
    assert "-Wants=old.target" in change.diff() and "+Wants=new.target" in change.diff()


def test_jobs_that_finished_and_disabled_units_that_are_stopped_are_as_declared() -> None:
    job = unit(service=["Restart=no"])
    service = unit(service=["Restart=on-failure"])
    disabled = unit(service=["Restart=always"], install=False)
    assert as_declared(job, "inactive", "success") and not as_declared(job, "failed", "exit-code")
    assert as_declared(disabled, "inactive", "success")
    assert not as_declared(disabled, "inactive", "exit-code")
    assert not as_declared(service, "inactive", "success") and as_declared(service, "active", "")


def test_plan_exit_codes_follow_terraform(tmp_path: Path) -> None:
    example = str(ROOT / "examples" / "web-stack")
    units = tmp_path / "units"
    first = run_cli("plan", example, "--unit-dir", str(units))
    assert first.returncode == 2, first.stderr
    assert "+ proxy.service" in first.stdout and "5 to create" in first.stdout
    assert run_cli("render", example, "--out", str(units)).returncode == 0
    same = run_cli("plan", example, "--unit-dir", str(units))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "No changes" in same.stdout
    bad = run_cli("plan", str(tmp_path / "missing"), "--unit-dir", str(units))
    assert bad.returncode == 1
    assert "no such file or directory" in bad.stderr


def test_plan_json_shows_changes_restarts_and_removals(tmp_path: Path) -> None:
    definitions = tmp_path / "defs"
    definitions.mkdir()
    (definitions / "a.toml").write_text(
        '[container.db]\nimage = "docker.io/library/postgres:16"\n'
        '[container.app]\nimage = "localhost/app:1"\ndepends_on = ["db"]\n'
        '[container.gone]\nimage = "localhost/gone:1"\n'
    )
    units = tmp_path / "units"
    assert run_cli("render", str(definitions), "--out", str(units)).returncode == 0
    (definitions / "a.toml").write_text(
        '[container.db]\nimage = "docker.io/library/postgres:17"\n'
        '[container.app]\nimage = "localhost/app:1"\ndepends_on = ["db"]\n'
    )
    result = run_cli("plan", str(definitions), "--unit-dir", str(units), "--json")
    assert result.returncode == 2, result.stderr
    plan = json.loads(result.stdout)
    assert plan["summary"] == {"create": 0, "change": 1, "remove": 1, "unchanged": 1}
    assert {r["unit"] for r in plan["restarts"]} == {"db.service", "app.service"}
    assert {u["unit"]: u["action"] for u in plan["units"]}["gone.service"] == "remove"
    assert "+ExecStart=" in next(u["diff"] for u in plan["units"] if u["unit"] == "db.service")


def test_render_and_plan_leave_foreign_units_alone(tmp_path: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    handmade = units / "hello.service"
    handmade.write_text("[Service]\nExecStart=/bin/true\n")
    (units / "other.service").write_text("[Service]\nExecStart=/bin/true\n")
    example = str(ROOT / "examples" / "hello")
    for args in (
        ("render", example, "--out", str(units)),
        ("plan", example, "--unit-dir", str(units)),
    ):
        result = run_cli(*args)
        assert result.returncode == 1
        assert "hello.service" in result.stderr and "not written by orchestrator" in result.stderr
    assert handmade.read_text() == "[Service]\nExecStart=/bin/true\n"
    assert sorted(p.name for p in units.iterdir()) == ["hello.service", "other.service"]


def test_a_copy_of_our_unit_under_another_name_is_not_ours(tmp_path: Path) -> None:
    from orchestrator.host.unitdir import read_unit_dir

    text = unit("container").replace("Kind=container", "Kind=container\nName=web")
    (tmp_path / "web.service").write_text(text)
    (tmp_path / "web-debug.service").write_text(text)
    managed, foreign = read_unit_dir(str(tmp_path))
    assert list(managed) == ["web.service"] and foreign == {"web-debug.service"}


def test_units_of_the_system_are_not_shadowed(tmp_path: Path) -> None:
    (tmp_path / "dbus.toml").write_text('[container.dbus]\nimage = "localhost/x:1"\n')
    result = run_cli("plan", str(tmp_path), "--unit-dir", str(tmp_path / "units"))
    assert result.returncode == 1
    assert "container.dbus: its unit dbus.service belongs to the system (would " in result.stderr


def test_usage_errors_do_not_look_like_pending_changes() -> None:
    assert run_cli("plan", "a", "b").returncode == 1
