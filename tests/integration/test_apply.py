"""`orchestrator apply`, status, logs, history and rollback, run inside a real sandbox systemd with
real podman, as an operator would run them on a host."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF
from tests.support.polling import until
from tests.support.sandboxes import booted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
IMAGE = DEFAULT_REF
ROOT = Path(__file__).resolve().parents[2]
# PID 1 of a container is a shell that exits on SIGTERM, so stops take no stop timeout.
LOOP = "trap 'exit 0' TERM; while :; do sleep 1 & wait; done"


def container(name: str, **keys: str) -> str:
    lines = [f"[container.{name}]", f'image = "{IMAGE}"', "stop_timeout = 1"]
    lines += [f"{key} = {value}" for key, value in keys.items()]
    if "command" not in keys:
        lines.append(f"command = {json.dumps(['sh', '-c', LOOP])}")
    return "\n".join(lines) + "\n"


WEB = container(
    "web",
    command=json.dumps(["httpd", "-f", "-p", "8080", "-h", "/etc"]),
    ports='["127.0.0.1:8189:8080"]',
    health='{ command = ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/hostname"], '
    'interval = "1s" }',
)
DB = container("db")


def app(version: str) -> str:
    return container("app", depends_on='["db"]', environment=f'{{ VERSION = "{version}" }}')


BROKEN = container(
    "broken", command=json.dumps(["sh", "-c", "echo broken on purpose; exit 3"]), restart='"no"'
)
STATE_A = {"web.toml": WEB, "db.toml": DB, "app.toml": app("A"), "extra.toml": container("extra")}
STATE_B = {"web.toml": WEB, "db.toml": DB, "app.toml": app("B"), "fresh.toml": container("fresh")}


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with booted("apply") as sandbox:
        yield sandbox


def defs(box: Sandbox) -> Path:
    return box.share / "defs"


def declare(box: Sandbox, files: dict[str, str]) -> None:
    """Make the definitions directory hold exactly these files."""
    directory = defs(box)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    for name, text in files.items():
        (directory / name).write_text(text)


def orchestrator(
    box: Sandbox, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # this checkout's code, not whichever one the venv's editable install points at
    assignments = [f"PYTHONPATH={ROOT}"] + [f"{k}={v}" for k, v in (env or {}).items()]
    argv = ["env", *assignments, sys.executable, "-m", "orchestrator", *args]
    return box.run(argv, check=False, timeout=300)


def apply(
    box: Sandbox, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return orchestrator(box, "apply", str(defs(box)), *extra, env=env)


def unit_dir(box: Sandbox) -> Path:
    return box.root / "etc-systemd-system"


def show(box: Sandbox, unit: str) -> dict[str, str]:
    props = ["ActiveState", "MainPID", "InvocationID", "LoadState", "UnitFileState", "NRestarts"]
    out = box.run(["systemctl", "show", *[f"-p{p}" for p in props], unit]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def files(box: Sandbox) -> dict[str, tuple[int, int, str]]:
    """unit file -> (inode, mtime ns, text) for every file in the sandbox's unit directory."""
    found = {}
    for path in unit_dir(box).iterdir():
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            found[path.name] = (stat.st_ino, stat.st_mtime_ns, path.read_text())
    return found


def reloads(box: Sandbox) -> int:
    out = box.run(["journalctl", "_PID=1", "-o", "cat", "--no-pager"]).stdout
    return sum(1 for line in out.splitlines() if line.startswith("Reloading"))


def env_of(box: Sandbox, name: str) -> list[str]:
    return box.run(["podman", "exec", name, "env"]).stdout.splitlines()


def container_exists(box: Sandbox, name: str) -> bool:
    return box.run(["podman", "container", "exists", name], check=False).returncode == 0


def report(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_apply_from_nothing(box: Sandbox) -> None:
    declare(box, STATE_A)
    result = apply(box)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "everything runs as declared" in result.stdout
    for name in ("web", "db", "app", "extra"):
        state = show(box, f"{name}.service")
        assert state["ActiveState"] == "active" and state["UnitFileState"] == "enabled", state
    wants = unit_dir(box) / "multi-user.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == [
        "app.service", "db.service", "extra.service", "web.service"
    ]  # fmt: skip
    assert "VERSION=A" in env_of(box, "app")
    status = orchestrator(box, "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    services = {s["name"]: s for s in report(status)["services"]}  # type: ignore[union-attr]
    assert services["web"]["health"] == "healthy" and services["web"]["image"] == IMAGE


def test_a_second_apply_writes_reloads_and_restarts_nothing(box: Sandbox) -> None:
    declare(box, STATE_A)  # the same definitions written again: newer files, same content
    before_files, before_reloads = files(box), reloads(box)
    before = {n: show(box, f"{n}.service") for n in ("web", "db", "app", "extra")}
    result = apply(box, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = report(result)
    assert data["wrote"] == [] and data["reloaded"] is False and data["generation"] is None
    assert files(box) == before_files
    assert reloads(box) == before_reloads
    for name, state in before.items():
        now = show(box, f"{name}.service")
        assert (now["MainPID"], now["InvocationID"]) == (state["MainPID"], state["InvocationID"])
    text = apply(box)
    assert "No changes" in text.stdout and "nothing written, reloaded or restarted" in text.stdout


def test_dry_run_changes_nothing(box: Sandbox) -> None:
    before = files(box)
    declare(box, {**STATE_A, "app.toml": app("dry")})
    result = apply(box, "--dry-run")
    assert result.returncode == 2, result.stdout + result.stderr  # changes pending, as plan
    assert "app.service" in result.stdout and "Dry run" in result.stdout
    assert files(box) == before and "VERSION=A" in env_of(box, "app")


def test_changing_one_definition_restarts_only_that_service(box: Sandbox) -> None:
    declare(box, {**STATE_A, "app.toml": app("A2")})
    before = {n: show(box, f"{n}.service") for n in ("web", "db", "app", "extra")}
    result = apply(box)
    assert result.returncode == 0, result.stdout + result.stderr
    for name, state in before.items():
        now = show(box, f"{name}.service")
        same = (now["MainPID"], now["InvocationID"]) == (state["MainPID"], state["InvocationID"])
        assert same is (name != "app"), (name, state, now)
    assert "VERSION=A2" in env_of(box, "app")


def test_a_removed_definition_leaves_no_unit_container_or_enablement(box: Sandbox) -> None:
    declare(box, {k: v for k, v in STATE_A.items() if k != "extra.toml"} | {"app.toml": app("A2")})
    result = apply(box)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (unit_dir(box) / "extra.service").exists()
    assert not (unit_dir(box) / "multi-user.target.wants" / "extra.service").exists()
    assert show(box, "extra.service")["LoadState"] == "not-found"
    assert not container_exists(box, "extra")


def test_a_service_that_fails_makes_apply_exit_1_with_its_journal(box: Sandbox) -> None:
    declare(box, {**STATE_A, "broken.toml": BROKEN})
    result = apply(box)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL broken.service" in result.stdout
    assert "broken on purpose" in result.stdout
    assert "NOT everything runs as declared" in result.stdout
    declare(box, STATE_A)
    assert apply(box).returncode == 0


def test_a_hand_written_unit_is_never_touched(box: Sandbox) -> None:
    handmade = unit_dir(box) / "handmade.service"
    handmade.write_text("[Service]\nExecStart=/bin/sleep 1000\n")
    before = files(box)
    declare(box, {**STATE_A, "app.toml": app("clash"), "handmade.toml": container("handmade")})
    result = apply(box)
    assert result.returncode == 1
    assert "handmade.service" in result.stderr and "not written by orchestrator" in result.stderr
    assert files(box) == before, "nothing at all was written"
    assert "VERSION=A" in env_of(box, "app")
    handmade.unlink()


def test_invalid_definitions_touch_nothing(box: Sandbox) -> None:
    before = files(box)
    declare(box, {**STATE_A, "app.toml": app("bad") + 'ports = ["80:eighty"]\n'})
    result = apply(box)
    assert result.returncode == 1 and "app.toml" in result.stderr and "ports[0]" in result.stderr
    assert "Traceback" not in result.stderr
    assert files(box) == before


def test_an_image_that_cannot_be_pulled_changes_nothing(box: Sandbox) -> None:
    """Pulls come first: a missing image (no registry here) stops the apply before any unit is
    written, stopped or restarted."""
    declare(box, STATE_A)
    assert apply(box).returncode == 0
    before = files(box)
    app_before = show(box, "app.service")
    absent = container("absent").replace(IMAGE, "localhost/absent:1")
    declare(box, {**STATE_A, "app.toml": app("pull"), "absent.toml": absent})
    result = apply(box)
    assert result.returncode == 1
    assert (
        "cannot pull localhost/absent:1" in result.stderr and "nothing was changed" in result.stderr
    )
    assert files(box) == before
    assert show(box, "app.service")["InvocationID"] == app_before["InvocationID"]
    declare(
        box,
        {**STATE_A, "absent.toml": absent.replace("stop_timeout", 'pull = "never"\nstop_timeout')},
    )
    never = apply(box)
    assert never.returncode == 1 and "FAIL absent.service" in never.stdout, "pull = never: no pull"
    declare(box, STATE_A)
    assert apply(box).returncode == 0


def test_two_applies_at_once_the_second_is_refused(box: Sandbox) -> None:
    """The first apply is held, lock taken, until the second has been refused."""
    declare(box, {**STATE_A, "app.toml": app("held")})
    hold = box.share / "hold"
    hold.touch()
    env = ["env", f"PYTHONPATH={ROOT}", f"ORCHESTRATOR_TEST_HOLD_AT=pending:{hold}"]
    argv = box.command([*env, sys.executable, "-m", "orchestrator", "apply", str(defs(box))])
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock_file = box.root / "var-lib-orchestrator" / "apply.lock"
        until(
            lambda: _locked(lock_file) or first.poll() is not None,
            60,
            "the first apply takes the lock (or ends)",
        )
        assert _locked(lock_file), "the first apply holds the lock"
        second = apply(box)
        assert second.returncode == 1
        assert "another apply is running" in second.stderr
        assert "VERSION=A" in env_of(box, "app"), "the refused apply changed nothing"
        hold.unlink()
        out, err = first.communicate(timeout=120)
    finally:
        hold.unlink(missing_ok=True)
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, out + err
    assert "VERSION=held" in env_of(box, "app")
    declare(box, STATE_A)
    assert apply(box).returncode == 0


def _locked(path: Path) -> bool:
    """Whether someone holds an exclusive flock on path (read from /proc/locks, so that looking
    takes no lock of its own that an apply could collide with)."""
    try:
        inode = path.stat().st_ino
    except FileNotFoundError:
        return False
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()  # 1: FLOCK  ADVISORY  WRITE 4711 08:01:1234 0 EOF
        held = "FLOCK" in fields and "WRITE" in fields and "->" not in fields  # "->": waiting
        if held and any(f.count(":") == 2 and f.endswith(f":{inode}") for f in fields):
            return True
    return False


@pytest.mark.parametrize("point", ["pending", "stopped", "wrote-one", "reloaded", "enqueued"])
def test_an_apply_killed_at_any_point_is_finished_by_the_next(box: Sandbox, point: str) -> None:
    """From state A to B (a change, a removal and a creation), killed with SIGKILL at a point."""
    declare(box, STATE_A)
    assert apply(box).returncode == 0
    declare(box, STATE_B)
    killed = apply(box, env={"ORCHESTRATOR_TEST_KILL_AT": point})
    assert killed.returncode in (-9, 137), killed.stdout + killed.stderr
    (unit_dir(box) / ".app.service.tmp").write_text("half a unit")  # as a kill mid-write leaves
    result = apply(box)
    assert result.returncode == 0, result.stdout + result.stderr
    again = apply(box, "--json")
    assert report(again)["wrote"] == [] and report(again)["reloaded"] is False
    assert "VERSION=B" in env_of(box, "app")
    assert show(box, "fresh.service")["ActiveState"] == "active"
    assert not (unit_dir(box) / "extra.service").exists() and not container_exists(box, "extra")
    assert not [p.name for p in unit_dir(box).iterdir() if p.name.endswith(".tmp")]
    assert not (box.root / "var-lib-orchestrator" / "pending.json").exists()


def test_rollback_restores_the_previous_units_and_containers(box: Sandbox) -> None:
    declare(box, STATE_A)
    assert apply(box).returncode == 0
    declare(box, STATE_B)
    assert apply(box).returncode == 0
    generations = json.loads(orchestrator(box, "history", "--json").stdout)["generations"]
    a_units = set(generations[-2]["units"])
    result = orchestrator(box, "rollback")
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(files(box)) == a_units
    assert "VERSION=A" in env_of(box, "app")
    assert container_exists(box, "extra") and not container_exists(box, "fresh")
    latest = json.loads(orchestrator(box, "history", "--json").stdout)["generations"][-1]
    assert latest["note"] == f"rollback to {generations[-2]['number']}"


def test_rollback_on_failure_goes_back_by_itself(box: Sandbox) -> None:
    declare(box, STATE_B)
    assert apply(box).returncode == 0
    good = files(box)
    declare(box, {**STATE_B, "app.toml": app("C"), "broken.toml": BROKEN})
    result = apply(box, "--rollback-on-failure")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rolling back to generation" in result.stdout
    assert {n: t for n, (_, _, t) in files(box).items()} == {n: t for n, (_, _, t) in good.items()}
    assert "VERSION=B" in env_of(box, "app") and not container_exists(box, "broken")


def test_status_reports_a_stopped_service_and_apply_starts_it(box: Sandbox) -> None:
    declare(box, STATE_B)
    assert apply(box).returncode == 0
    box.run(["systemctl", "stop", "db.service"])
    status = orchestrator(box, "status", "--json")
    assert status.returncode == 1
    rows = {s["name"]: s for s in report(status)["services"]}  # type: ignore[union-attr]
    assert rows["db"]["ok"] is False and rows["web"]["ok"] is True
    result = apply(box)
    assert result.returncode == 0 and "start db.service: declared but inactive" in result.stdout
    assert orchestrator(box, "status").returncode == 0


def test_logs_show_the_container_output(box: Sandbox) -> None:
    declare(box, {**STATE_B, "talker.toml": container(
        "talker", command=json.dumps(["sh", "-c", f"echo hello from talker; {LOOP}"])
    )})  # fmt: skip
    assert apply(box).returncode == 0
    logs = orchestrator(box, "logs", "talker", "-n", "50")
    assert logs.returncode == 0 and "hello from talker" in logs.stdout
    missing = orchestrator(box, "logs", "talkr")
    assert missing.returncode == 1 and 'did you mean "talker"' in missing.stderr


def test_definitions_that_declare_nothing_are_refused_unless_allowed(box: Sandbox) -> None:
    declare(box, STATE_A)
    assert apply(box).returncode == 0
    before = files(box)
    declare(box, {})
    refused = apply(box)
    assert refused.returncode == 1 and "--allow-empty" in refused.stderr
    assert files(box) == before


def test_a_unit_systemd_refuses_to_start_fails_alone(box: Sandbox) -> None:
    """systemd refuses the restart of one unit: the others are still carried out, the apply is
    recorded as failed and a rollback goes back to the last state that came up."""
    declare(box, STATE_A)
    assert apply(box).returncode == 0
    refusing = container("picky", unit="{ Unit = { RefuseManualStart = true } }")
    declare(box, {**STATE_A, "app.toml": app("picky"), "picky.toml": refusing})
    result = apply(box, "--json")
    data = report(result)
    assert result.returncode == 1 and data["ok"] is False and data["generation"]
    units = {u["unit"]: u for u in data["units"]}  # type: ignore[union-attr]
    assert units["picky.service"]["job"].startswith("refused") and not units["picky.service"]["ok"]
    assert units["app.service"]["ok"] and "VERSION=picky" in env_of(box, "app")
    generations = json.loads(orchestrator(box, "history", "--json").stdout)["generations"]
    assert generations[-1]["result"] == "failed"
    back = orchestrator(box, "rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "VERSION=A" in env_of(box, "app") and not (unit_dir(box) / "picky.service").exists()
    assert orchestrator(box, "rollback").returncode == 0  # not back to the failed generation
    assert not (unit_dir(box) / "picky.service").exists()


def test_a_job_that_finishes_and_a_disabled_container_are_as_declared(box: Sandbox) -> None:
    once = container("once", command=json.dumps(["sh", "-c", "echo ran once"]), restart='"no"')
    idle = container("idle", enabled="false")
    declare(box, {**STATE_A, "once.toml": once, "idle.toml": idle})
    first = apply(box)
    assert first.returncode == 0, first.stdout + first.stderr
    box.run(["systemctl", "stop", "idle.service"])
    again = apply(box, "--json")
    assert again.returncode == 0 and report(again)["plan"]["actions"] == []  # type: ignore[index]
    runs = box.run(["journalctl", "-u", "once.service", "-o", "cat", "--no-pager"]).stdout
    assert runs.count("ran once") == 1, "a finished job is not run again"
    assert orchestrator(box, "status").returncode == 0
    declare(box, STATE_A)
    assert apply(box).returncode == 0


def test_a_changed_install_section_makes_the_new_links(box: Sandbox) -> None:
    declare(box, STATE_A)
    assert apply(box).returncode == 0
    before = show(box, "app.service")
    wanted = app("A") + 'unit = { Install = { WantedBy = "graphical.target" } }\n'
    declare(box, {**STATE_A, "app.toml": wanted})
    result = apply(box)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (unit_dir(box) / "graphical.target.wants" / "app.service").is_symlink()
    assert show(box, "app.service")["InvocationID"] == before["InvocationID"], "no restart"
    declare(box, STATE_A)
    assert apply(box).returncode == 0


def test_values_on_disk_are_private_and_systemd_still_reads_them(box: Sandbox) -> None:
    declare(box, STATE_A)
    assert apply(box).returncode == 0
    assert "VERSION=A" in env_of(box, "app"), "systemd read the 0600 unit"
    assert oct((unit_dir(box) / "app.service").stat().st_mode & 0o777) == "0o600"
    assert oct((unit_dir(box) / "web.service").stat().st_mode & 0o777) == "0o644"
    state = box.root / "var-lib-orchestrator"
    for path in [state, *state.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is open to others"


def _loaded_elsewhere(box: Sandbox, script: str) -> None:
    """Units systemd has loaded from /run/systemd/system, whose files are then taken away
    without a reload: only systemd itself can tell that the names are taken."""
    box.run(["sh", "-c", f"mkdir -p /run/systemd/system && cd /run/systemd/system && {script}"])


def test_a_name_systemd_has_loaded_from_elsewhere_or_as_an_alias_is_refused(box: Sandbox) -> None:
    declare(box, STATE_A)
    assert apply(box).returncode == 0
    _loaded_elsewhere(box, (
        "printf '[Service]\\nExecStart=/bin/sleep 1000\\n' > ghost.service && "
        "printf '[Service]\\nExecStart=/bin/sleep 1000\\n' > real.service && "
        "ln -s real.service nick.service && systemctl daemon-reload && "
        "systemctl start ghost.service real.service && rm ghost.service nick.service"
    ))  # fmt: skip
    try:
        before = files(box)
        declare(box, {**STATE_A, "ghost.toml": container("ghost"), "nick.toml": container("nick")})
        result = apply(box)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "ghost.service (systemd loads it from /run/systemd/system/ghost.service)" in (
            result.stderr
        )
        assert "nick.service (systemd knows it as an alias of real.service)" in result.stderr
        assert files(box) == before, "nothing was written"
    finally:
        _loaded_elsewhere(box, "systemctl stop ghost.service real.service; rm -f real.service; "
                          "systemctl daemon-reload")  # fmt: skip
    declare(box, STATE_A)
    assert apply(box).returncode == 0


def test_a_rollback_to_a_damaged_generation_is_refused(box: Sandbox) -> None:
    declare(box, STATE_A)
    assert apply(box).returncode == 0
    declare(box, {**STATE_A, "app.toml": app("damaged")})
    assert apply(box).returncode == 0
    generations = json.loads(orchestrator(box, "history", "--json").stdout)["generations"]
    number = generations[-2]["number"]
    unit = box.root / "var-lib-orchestrator" / "generations" / str(number) / "units" / "app.service"
    text = unit.read_text()
    unit.write_text(text + "ExecStartPre=/bin/true tampered\n")
    try:
        result = orchestrator(box, "rollback", str(number))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "app.service does not match its recorded checksum" in result.stderr
        assert "VERSION=damaged" in env_of(box, "app"), "nothing was applied"
    finally:
        unit.write_text(text)
    declare(box, STATE_A)
    assert apply(box).returncode == 0
