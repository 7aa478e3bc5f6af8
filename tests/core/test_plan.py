"""Planning: pure make_plan() on texts, and the plan and render commands on a real directory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.core.plan import Pending, Plan, as_declared, make_plan
from orchestrator.errors import ConflictError
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def unit(kind: str, *lines: str, install: bool = True) -> str:
    body = "\n".join(lines)
    tail = "\n[Install]\nWantedBy=multi-user.target\n" if install else ""
    return (
        f"[Unit]\n{body}\n[Service]\nExecStart=/bin/true\n{tail}\n[X-Orchestrator]\nKind={kind}\n"
    )


def test_create_change_remove_unchanged() -> None:
    desired = {
        "a.service": unit("container"),
        "b.service": unit("container", "Wants=new.target"),
        "c.service": unit("container"),
    }
    current = {
        "b.service": unit("container", "Wants=old.target"),
        "c.service": unit("container"),
        "old.service": unit("volume"),
    }
    plan = make_plan(desired, current)
    actions = {c.unit: c.action for c in plan.changes}
    assert actions == {
        "a.service": "create",
        "b.service": "change",
        "c.service": "unchanged",
        "old.service": "remove",
    }
    assert plan.has_changes
    assert [c.kind for c in plan.changes if c.unit == "old.service"] == ["volume"]
    verbs = [(a.verb, a.unit) for a in plan.actions]
    assert verbs == [
        ("stop", "old.service"),
        ("disable", "old.service"),
        ("remove", "old.service"),
        ("write", "a.service"),
        ("write", "b.service"),
        ("enable", "a.service"),
        ("daemon-reload", None),
        ("start", "a.service"),
        ("restart", "b.service"),
    ]
    diff = next(c for c in plan.changes if c.unit == "b.service").diff()
    assert "-Wants=old.target" in diff and "+Wants=new.target" in diff


def test_no_change_means_no_actions() -> None:
    units = {"a.service": unit("container")}
    plan = make_plan(units, dict(units))
    assert not plan.has_changes
    assert plan.actions == []
    assert plan.restarts == {}


def test_restart_propagates_to_units_that_require_a_changed_one() -> None:
    desired = {
        "db.service": unit("container", "Wants=v2.target"),
        "app.service": unit("container", "Requires=db.service"),
        "proxy.service": unit("container", "Requires=app.service other.service"),
        "lone.service": unit("container"),
    }
    current = dict(desired, **{"db.service": unit("container", "Wants=v1.target")})
    plan = make_plan(desired, current)
    assert plan.restarts == {
        "db.service": "its unit file changed",
        "app.service": "it requires db.service, which restarts",
        "proxy.service": "it requires app.service, which restarts",
    }


def test_enable_and_disable_follow_the_install_section() -> None:
    desired = {"a.service": unit("container", install=False), "b.service": unit("container")}
    current = {"a.service": unit("container"), "b.service": unit("container", install=False)}
    verbs = {(a.verb, a.unit) for a in make_plan(desired, current).actions}
    assert ("disable", "a.service") in verbs and ("enable", "b.service") in verbs


def test_a_foreign_unit_of_the_same_name_is_a_conflict() -> None:
    with pytest.raises(ConflictError, match=r"web\.service"):
        make_plan({"web.service": unit("container")}, {}, unmanaged={"web.service"})


def test_foreign_units_are_never_removed() -> None:
    plan = make_plan({}, {}, unmanaged={"handmade.service"})
    assert plan.changes == []


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


def test_only_runtime_changes_restart() -> None:
    old = unit("container", "Description=old", "SourcePath=/a.toml")
    new = unit("container", "Description=new", "SourcePath=/b.toml", install=False)
    plan = make_plan({"a.service": new}, {"a.service": old})
    assert [c.action for c in plan.changes] == ["change"]
    assert plan.restarts == {}
    assert ("disable", "a.service") in {(a.verb, a.unit) for a in plan.actions}


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
    assert "dbus.service (would shadow /lib/systemd/system/dbus.service)" in result.stderr


def test_usage_errors_do_not_look_like_pending_changes() -> None:
    assert run_cli("plan", "a", "b").returncode == 1


@dataclass
class Seen:
    """systemd's view of a unit, as orchestrator.systemd.UnitState gives it."""

    active: str = "active"
    enablement: str = "enabled"
    need_reload: bool = False
    result: str = "success"


def image_unit(image: str, pull: str, *lines: str) -> str:
    return unit("container", *lines) + f"Image={image}\nPull={pull}\n"


def verbs_of(plan: Plan) -> list[tuple[str, str | None]]:
    return [(a.verb, a.unit) for a in plan.actions]


def test_with_systemds_view_a_converged_host_needs_nothing() -> None:
    units = {"a.service": unit("container"), "b.service": unit("volume", install=False)}
    seen = {"a.service": Seen(), "b.service": Seen(enablement="static")}
    plan = make_plan(units, dict(units), observed=seen)
    assert plan.actions == [] and not plan.has_work


def test_declared_units_not_running_are_started_and_enablement_is_fixed() -> None:
    units = {"a.service": unit("container"), "b.service": unit("container", install=False)}
    seen = {"a.service": Seen(active="failed", enablement="disabled"), "b.service": Seen()}
    plan = make_plan(units, dict(units), observed=seen)
    assert verbs_of(plan) == [
        ("enable", "a.service"), ("disable", "b.service"), ("daemon-reload", None),
        ("start", "a.service"),
    ]  # fmt: skip
    assert plan.actions[-1].reason == "declared but failed"


def test_stale_units_in_systemd_are_reloaded_without_writing() -> None:
    units = {"a.service": unit("container")}
    plan = make_plan(units, dict(units), observed={"a.service": Seen(need_reload=True)})
    assert verbs_of(plan) == [("daemon-reload", None)]


def test_an_interrupted_apply_is_finished() -> None:
    units = {"a.service": unit("container"), "b.service": unit("container")}
    seen = {"a.service": Seen(), "b.service": Seen()}
    pending = Pending(reload=True, restarts=("a.service", "gone.service"))
    plan = make_plan(units, dict(units), observed=seen, pending=pending)
    assert verbs_of(plan) == [("daemon-reload", None), ("restart", "a.service")]
    assert plan.restarts == {"a.service": "an interrupted apply had not restarted it yet"}


def test_images_are_pulled_for_new_and_restarting_containers_only() -> None:
    desired = {
        "new.service": image_unit("localhost/a:1", "missing"),
        "changed.service": image_unit("localhost/b:2", "always", "Wants=x.target"),
        "described.service": image_unit("localhost/c:1", "newer", "Description=new words"),
        "never.service": image_unit("localhost/d:1", "never"),
    }
    current = {
        "changed.service": image_unit("localhost/b:1", "always"),
        "described.service": image_unit("localhost/c:1", "newer", "Description=old words"),
    }
    seen = {unit: Seen() for unit in desired}
    plan = make_plan(desired, current, observed=seen)
    pulls = [(a.unit, a.image, a.pull_policy) for a in plan.actions if a.verb == "pull"]
    assert pulls == [
        ("changed.service", "localhost/b:2", "always"),
        ("new.service", "localhost/a:1", "missing"),
    ]
    assert verbs_of(plan)[:2] == [("pull", "changed.service"), ("pull", "new.service")]


def test_removed_units_are_stopped_and_disabled_only_when_they_need_it() -> None:
    current = {"on.service": unit("container"), "off.service": unit("container")}
    seen = {"on.service": Seen(), "off.service": Seen(active="inactive", enablement="disabled")}
    plan = make_plan({}, current, observed=seen)
    assert verbs_of(plan) == [
        ("remove", "off.service"), ("stop", "on.service"), ("disable", "on.service"),
        ("remove", "on.service"), ("daemon-reload", None),
    ]  # fmt: skip


def test_jobs_that_finished_and_disabled_units_that_are_stopped_are_as_declared() -> None:
    job = unit("container", install=True).replace("ExecStart=/bin/true", "Restart=no")
    service = unit("container").replace("ExecStart=/bin/true", "Restart=on-failure")
    disabled = unit("container", install=False).replace("ExecStart=/bin/true", "Restart=always")
    units = {"job.service": job, "svc.service": service, "off.service": disabled}
    seen = {name: Seen(active="inactive") for name in units}
    plan = make_plan(units, dict(units), observed=seen)
    assert [a for a in verbs_of(plan) if a[0] == "start"] == [("start", "svc.service")]
    assert as_declared(job, "inactive", "success") and not as_declared(job, "failed", "exit-code")
    assert as_declared(disabled, "inactive", "success")
    assert not as_declared(disabled, "inactive", "exit-code")
    assert not as_declared(service, "inactive", "success") and as_declared(service, "active", "")


def test_a_changed_install_section_is_enabled_again() -> None:
    old = unit("container")
    new = old.replace("WantedBy=multi-user.target", "WantedBy=graphical.target")
    plan = make_plan({"a.service": new}, {"a.service": old}, observed={"a.service": Seen()})
    assert ("reenable", "a.service") in verbs_of(plan)
    assert not plan.restarts, "an [Install] change restarts nothing"
