"""A real systemd and real podman in a sandbox: the offline example comes up, is supervised by
systemd, survives a reboot, and nothing of the sandbox is left on the host afterwards."""

from __future__ import annotations

import contextlib
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import sandbox_run
from orchestrator.loader import load
from orchestrator.quoting import quote_argv
from orchestrator.sandbox import CGROUP_PREFIX, Sandbox
from orchestrator.testimage import DEFAULT_REF

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
ROOT = Path(__file__).resolve().parents[2]
STATE = "/var/lib/orchestrator-sandboxes-test"
OFFLINE = ROOT / "examples" / "offline"


def cgroup_dirs() -> list[str]:
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        found += [os.path.join(top, d) for d in dirs if d.startswith(CGROUP_PREFIX)]
    return found


def host_cgroups() -> dict[int, str]:
    groups = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                groups[int(entry)] = Path(f"/proc/{entry}/cgroup").read_text()
    return groups


@pytest.fixture(scope="module")
def before() -> dict[str, object]:
    marker = Path("/tmp") / f"orchestrator-leak-marker-{os.getpid()}"
    marker.write_text("still here")
    return {"marker": marker, "cgroups": host_cgroups(), "pid1": Path("/proc/1/cgroup").read_text()}


@pytest.fixture(scope="module")
def box(before: dict[str, object]) -> Iterator[Sandbox]:
    sandbox = Sandbox("it", STATE)
    sandbox.destroy()  # a leftover from an interrupted run
    try:
        sandbox.boot()
        sandbox.import_test_image(DEFAULT_REF)
        yield sandbox
    finally:
        sandbox.destroy()
        if os.path.isdir(STATE) and not os.listdir(STATE):
            os.rmdir(STATE)


def bring_up(box: Sandbox) -> list[sandbox_run.UnitReport]:
    spec = sandbox_run.install(box, str(OFFLINE))
    sandbox_run.start(box, spec)
    return sandbox_run.wait(box, spec, 90)


def state(box: Sandbox, unit: str) -> dict[str, str]:
    out = box.run(["systemctl", "show", "-pActiveState", "-pNRestarts", "-pMainPID", unit]).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def test_sandbox_run_command_exits_0_on_the_offline_example(before: dict[str, object]) -> None:
    """First, before the shared sandbox publishes the same host port."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "sandbox", "run", str(OFFLINE), "--test-image",
         "--name", "cmd"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "ORCHESTRATOR_SANDBOX_ROOT": STATE},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all units are up" in result.stdout


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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = state(box, "web.service")
        if int(now["NRestarts"]) > before and now["ActiveState"] == "active":
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"web.service was not restarted: {state(box, 'web.service')}")


def test_enabled_containers_come_back_after_a_reboot(box: Sandbox) -> None:
    box.reboot()
    spec = load([str(box.share / "definitions" / OFFLINE.name)])
    reports = sandbox_run.wait(box, spec, 90)
    assert all(r.up for r in reports), sandbox_run.table(reports)


PRINTABLE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029")
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


def test_zz_nothing_leaks(before: dict[str, object], box: Sandbox) -> None:
    box.destroy()
    assert not cgroup_dirs()
    assert not Path(STATE, "it").exists() and not Path(STATE, "cmd").exists()
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _is_sandbox(p)]
    marker = before["marker"]
    assert isinstance(marker, Path) and marker.read_text() == "still here"
    marker.unlink()
    assert Path("/proc/1/cgroup").read_text() == before["pid1"]
    old = before["cgroups"]
    assert isinstance(old, dict)
    moved = {pid for pid, text in host_cgroups().items() if pid in old and old[pid] != text}
    assert not moved, f"host processes changed cgroup: {sorted(moved)}"
    with open("/proc/self/mountinfo") as handle:
        assert STATE not in handle.read()


def _is_sandbox(pid: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"sandbox-setup" in cmdline or cmdline.startswith(b"/lib/systemd/systemd")
