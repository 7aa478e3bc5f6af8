"""A real systemd and real podman in a sandbox: the offline example comes up, is supervised by
systemd, survives a reboot, and nothing of the sandbox is left on the host afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.core.loader import load
from orchestrator.core.quoting import quote_argv
from orchestrator.sandbox import run as sandbox_run
from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF
from tests.support.cli import run_cli
from tests.support.polling import until
from tests.support.sandboxes import STATE, booted
from tests.support.unicode import NONCHARACTERS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
ROOT = Path(__file__).resolve().parents[2]
OFFLINE = ROOT / "examples" / "offline"
SETS = Path(__file__).parent / "sets"


@pytest.fixture(scope="module")
def box(host_before: dict[str, object]) -> Iterator[Sandbox]:
    with booted("it") as sandbox:
        yield sandbox


def bring_up(box: Sandbox) -> list[sandbox_run.UnitReport]:
    spec = sandbox_run.install(box, str(OFFLINE))
    return sandbox_run.wait(box, spec, 90)


def state(box: Sandbox, unit: str, *extra: str) -> dict[str, str]:
    names = ["ActiveState", "NRestarts", "MainPID", *extra]
    out = box.run(["systemctl", "show", *[f"-p{n}" for n in names], unit]).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def restarted(box: Sandbox, unit: str, restarts_before: int) -> bool:
    now = state(box, unit)
    return int(now["NRestarts"]) > restarts_before and now["ActiveState"] == "active"


@pytest.mark.parametrize("path", [OFFLINE, *sorted((SETS).iterdir())], ids=lambda p: p.name)
def test_sandbox_run_exits_0_on_the_example_and_the_test_sets(path: Path, tmp_path: Path) -> None:
    """First, before the shared sandbox publishes the same host ports."""
    secrets = []
    for name, value in (("tls-cert", "CERT"), ("db-password", "s3cret")):
        (tmp_path / name).write_text(value)
        secrets += ["--secret", f"{name}={tmp_path / name}"]
    result = run_cli(
        "sandbox", "run", str(path), "--test-image", "--name", f"cmd-{path.name}", *secrets,
        ORCHESTRATOR_SANDBOX_ROOT=STATE,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all units are up" in result.stdout
    assert "torn down" in result.stdout and not Path(STATE, f"cmd-{path.name}").exists()


def test_sandbox_run_fails_with_the_journal_of_what_did_not_come_up(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text(
        '[container.broken]\nimage = "localhost/busybox:test"\n'
        'command = ["sh", "-c", "echo giving up now; exit 3"]\nrestart = "no"\n'
    )
    result = run_cli(
        "sandbox", "run", str(tmp_path), "--test-image", "--name", "cmd-broken", "--timeout", "30",
        ORCHESTRATOR_SANDBOX_ROOT=STATE,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "some units did not come up" in result.stdout
    assert "giving up now" in result.stdout and "broken.service" in result.stdout


def test_sandbox_run_refuses_a_bad_secret_before_booting(tmp_path: Path) -> None:
    result = run_cli(
        "sandbox", "run", str(OFFLINE), "--secret", f"x={tmp_path / 'missing'}",
        ORCHESTRATOR_SANDBOX_ROOT=STATE,
    )  # fmt: skip
    assert result.returncode == 1 and "NAME=FILE" in result.stderr


def test_sandbox_commands_up_exec_reboot_list_down() -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("sandbox", *args, ORCHESTRATOR_SANDBOX_ROOT=STATE)

    def listed() -> dict[str, bool]:
        entries = json.loads(cli("list", "--json").stdout)["sandboxes"]
        return {entry["name"]: entry["running"] for entry in entries}

    missing = cli("reboot", "cli")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert not Path(STATE, "cli").exists()
    try:
        up = cli("up", "cli", "--test-image")
        assert up.returncode == 0 and "is up" in up.stdout, up.stderr
        assert listed()["cli"] is True
        again = cli("up", "cli")
        assert again.returncode == 1 and "already running" in again.stderr
        assert cli("exec", "cli", "--", "sh", "-c", "exit 7").returncode == 7
        assert cli("exec", "cli").returncode == 1
        assert cli("exec", "cli", "--", "touch", "/run/fresh-after-reboot").returncode == 0
        pid1 = cli("exec", "cli", "--", "cat", "/proc/1/comm")
        assert pid1.stdout.strip() == "systemd"
        rebooted = cli("reboot", "cli")
        assert rebooted.returncode == 0 and "rebooted" in rebooted.stdout, rebooted.stderr
        assert cli("exec", "cli", "--", "test", "-e", "/run/fresh-after-reboot").returncode == 1
        kept = cli("exec", "cli", "--", "podman", "image", "exists", DEFAULT_REF)
        assert kept.returncode == 0, "the image storage survives a reboot"
    finally:
        down = cli("down", "cli")
    assert down.returncode == 0 and "removed" in down.stdout
    assert "cli" not in listed() and not Path(STATE, "cli").exists()
    stopped = cli("exec", "cli", "--", "true")
    assert stopped.returncode == 1 and "not running" in stopped.stderr


def test_offline_example_comes_up_and_answers_from_the_host(box: Sandbox) -> None:
    reports = {r.unit: r for r in bring_up(box)}
    assert all(r.up for r in reports.values()), sandbox_run.table(list(reports.values()))
    assert reports["web.service"].health == "healthy"
    with urllib.request.urlopen("http://127.0.0.1:8088/", timeout=10) as response:
        assert b"supervised by systemd" in response.read()
    # the worker waited for web to be healthy before it started
    assert reports["worker.service"].started_us > reports["web.service"].started_us


def test_systemd_restarts_a_killed_container(box: Sandbox) -> None:
    before = int(state(box, "web.service")["NRestarts"])
    pid = box.run(["podman", "inspect", "--format", "{{.State.Pid}}", "web"]).stdout.strip()
    box.run(["kill", "-9", pid])
    until(
        lambda: restarted(box, "web.service", before),
        60,
        "systemd restarts web.service",
        every=0.2,
        seen=lambda: state(box, "web.service"),
    )


def install_and_wait(box: Sandbox, name: str) -> dict[str, sandbox_run.UnitReport]:
    spec = sandbox_run.install(box, str(SETS / name))  # apply, on every set installed so far
    reports = sandbox_run.wait(box, spec, 90)
    assert all(r.up for r in reports), (
        sandbox_run.table(reports) + "\n" + "\n".join(r.journal for r in reports if not r.up)
    )
    return {r.unit: r for r in reports}


def inside(box: Sandbox, container: str, *argv: str) -> str:
    return box.run(["podman", "exec", container, *argv]).stdout


def test_every_key_group_comes_up_and_takes_effect(box: Sandbox) -> None:
    for name, value in (("tls-cert", "CERT"), ("db-password", "s3cret")):
        box.run(["sh", "-c", f"printf %s {value} | podman secret create {name} -"])
    reports = install_and_wait(box, "every-key")
    assert reports["api.service"].health == "healthy"
    assert set(reports) >= {"app-data-volume.service", "internal-network.service", "idle.service"}
    assert "consumer.service" in reports
    with urllib.request.urlopen("http://127.0.0.1:8091/", timeout=10) as response:
        assert b"every key" in response.read()
    env = inside(box, "api", "env").splitlines()
    for line in ("GREETING=hello world", "WORKERS=4", "DEBUG=false", "FROM_ENV_FILE=yes",
                 "DB_PASSWORD=s3cret", "HOSTNAME=api-1"):  # fmt: skip
        assert line in env
    assert inside(box, "api", "cat", "/run/secrets/tls-cert") == "CERT"
    assert inside(box, "api", "id", "-u").strip() == "1000"
    assert inside(box, "api", "pwd").strip() == "/srv"
    assert inside(box, "api", "cat", "/cache/cached.txt").strip() == "cached"
    assert inside(box, "api", "sh", "-c", "test -c /dev/xnull && echo device").strip() == "device"
    read_only = box.run(["podman", "exec", "api", "touch", "/probe"], check=False)
    assert read_only.returncode != 0 and "Read-only" in read_only.stderr
    capabilities = inside(box, "api", "grep", "CapEff", "/proc/self/status")
    assert capabilities.split()[-1] == "0000000000000400"  # only CAP_NET_BIND_SERVICE
    labels = box.run(["podman", "inspect", "--format", "{{json .Config.Labels}}", "api"]).stdout
    assert '"tier":"backend"' in labels and '"io.containers.autoupdate":"local"' in labels
    # the consumer reached api by its network alias and keeps the page in its scratch volume
    assert "every key" in inside(box, "consumer", "cat", "/scratch/page")
    networks = box.run(["podman", "network", "inspect", "internal"]).stdout
    assert "10.213.7.0/24" in networks and '"internal": true' in networks
    shown = state(box, "api.service", "Documentation", "TimeoutStopUSec", "TasksMax")
    assert shown["Documentation"] == "https://example.com/api"
    assert shown["TimeoutStopUSec"] == "20s" and shown["TasksMax"] == "64"


def test_restart_no_leaves_a_killed_container_dead(box: Sandbox) -> None:
    """Both are killed at once; once systemd has restarted the one, the other must still be dead."""
    install_and_wait(box, "supervision")
    for name in ("restarted", "left-dead"):
        pid = box.run(["podman", "inspect", "--format", "{{.State.Pid}}", name]).stdout.strip()
        box.run(["kill", "-9", pid])
    until(
        lambda: restarted(box, "restarted.service", 0),
        60,
        "systemd restarts restarted.service",
        every=0.2,
        seen=lambda: state(box, "restarted.service"),
    )
    # its ExecStopPost may still be removing the container
    until(
        lambda: state(box, "left-dead.service")["ActiveState"] in ("failed", "inactive"),
        30,
        "left-dead.service stops",
        every=0.2,
        seen=lambda: state(box, "left-dead.service"),
    )
    dead = state(box, "left-dead.service")
    assert dead["ActiveState"] in ("failed", "inactive") and dead["NRestarts"] == "0", dead


def test_a_stop_gives_the_grace_period_then_leaves_neither_container_nor_cid_file(
    box: Sandbox,
) -> None:
    """restarted's `sleep` is PID 1 of its container, so it ignores SIGTERM: the stop must wait
    its stop_timeout (1 s, not podman's 10) before SIGKILL, remove the container and its cid file
    (whose absence spares ExecStopPost's podman rm). The same as with `podman stop` before."""
    install_and_wait(box, "supervision")
    started = time.monotonic()
    box.run(["systemctl", "stop", "restarted.service"])
    took = time.monotonic() - started
    assert 1 <= took < 10, f"the stop took {took:.1f} s"
    left = box.run(["podman", "ps", "-a", "--filter", "name=^restarted$", "--format", "{{.ID}}"])
    assert left.stdout.strip() == ""
    assert box.run(["test", "-e", "/run/restarted.service.ctr-id"], check=False).returncode == 1
    # failed: the SIGKILL ended it with 137, as systemd reports a stop that ran out of time
    assert state(box, "restarted.service")["ActiveState"] == "failed"
    box.run(["systemctl", "start", "restarted.service"])


def test_healthy_dependency_waits_for_the_health_check(box: Sandbox) -> None:
    """slow serves (and turns healthy) only 4 s after it starts; eager fetches its page once at
    start and dies if it is not there, with restart = "no"."""
    install_and_wait(box, "slow-health")
    slow = state(box, "slow.service", "ExecMainStartTimestampMonotonic")
    eager = state(box, "eager.service", "ExecMainStartTimestampMonotonic", "NRestarts")
    waited = int(eager["ExecMainStartTimestampMonotonic"]) - int(
        slow["ExecMainStartTimestampMonotonic"]
    )
    assert waited >= 4_000_000, f"eager started {waited} us after slow"
    assert eager["ActiveState"] == "active" and eager["NRestarts"] == "0"


def test_a_chain_starts_in_dependency_order(box: Sandbox) -> None:
    install_and_wait(box, "chain")
    assert_chain_order(box)


def assert_chain_order(box: Sandbox) -> None:
    stamps = ("ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic")
    times = {name: state(box, f"{name}.service", *stamps) for name in ("first", "second", "third")}
    for before, after in (("first", "second"), ("second", "third")):
        started = int(times[after]["ExecMainStartTimestampMonotonic"])
        assert started >= int(times[before]["ActiveEnterTimestampMonotonic"]) > 0, times


def test_enabled_containers_come_back_after_a_reboot(box: Sandbox) -> None:
    """Every set installed so far comes back at boot, the chain in order; idle is not enabled."""
    box.reboot(timeout=180)  # booted = every boot job done, a dozen container starts among them
    for name in (OFFLINE.name, "every-key", "chain", "slow-health", "supervision"):
        spec = load([str(box.share / "definitions" / name)])
        reports = sandbox_run.wait(box, spec, 90, enabled_only=True)
        assert all(r.up for r in reports), sandbox_run.table(reports)
    assert_chain_order(box)
    assert state(box, "idle.service")["ActiveState"] == "inactive"


PRINTABLE = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029" + NONCHARACTERS
    )
)
SPECIAL = st.text(alphabet=st.sampled_from(list(" \"'\\%$;{}#=-\u00e9\u00a0\U0001f600ab")))
WRITE_ARGV = 'for a; do printf "%s\\0" "$a"; done > "$0"'
BATCH = 50


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.lists(st.one_of(PRINTABLE, SPECIAL), max_size=6), min_size=BATCH, max_size=BATCH)
)
def test_quoting_round_trips_through_real_systemd(box: Sandbox, batch: list[list[str]]) -> None:
    """6 x 50 generated argvs in ExecStart= lines; each program writes its argv to a file."""
    lines = [
        "ExecStart=" + quote_argv(["/bin/sh", "-c", WRITE_ARGV, f"/run/argv/{i}", *argv])
        for i, argv in enumerate(batch)
    ]
    unit = "[Service]\nType=oneshot\nExecStartPre=/bin/mkdir -p /run/argv\n" + "\n".join(lines)
    (box.root / "etc-systemd-system" / "quoting-probe.service").write_text(unit + "\n")
    box.run(["systemctl", "daemon-reload"])
    box.run(["systemctl", "restart", "quoting-probe.service"])
    for i, argv in enumerate(batch):
        written = box.run(["cat", f"/run/argv/{i}"]).stdout
        assert written.split("\0")[:-1] == argv
