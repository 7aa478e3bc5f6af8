"""The new container keys on a real podman 4.3 inside a sandbox systemd: init as PID 1, and
ulimits, sysctls, dns and add_hosts as the container sees them."""

from __future__ import annotations

import json
import os
import sys
import time
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
ROOT = Path(__file__).resolve().parents[2]
SLEEP = json.dumps(["sleep", "100000"])  # PID 1 without a SIGTERM handler: the kernel ignores it
STOP_TIMEOUT = 4
HUP_WRITES = json.dumps(
    [
        "sh",
        "-c",
        "trap 'touch /tmp/reloaded' HUP; trap 'exit 0' TERM; while :; do sleep 1 & wait; done",
    ]
)

DEFINITIONS = {
    "with-init.toml": f"""[container.with-init]
image = "{DEFAULT_REF}"
command = {SLEEP}
init = true
stop_timeout = {STOP_TIMEOUT}
""",
    "without-init.toml": f"""[container.without-init]
image = "{DEFAULT_REF}"
command = {SLEEP}
stop_timeout = {STOP_TIMEOUT}
""",
    "probe.toml": f"""[container.probe]
image = "{DEFAULT_REF}"
command = {SLEEP}
init = true
ulimits = {{ nofile = "1111:2222", nproc = 3333 }}
sysctls = {{ "kernel.msgmax" = 12345 }}
dns = ["10.9.9.9"]
dns_search = ["corp.example"]
add_hosts = {{ "db.internal" = "10.0.0.2" }}
""",
    "reload.toml": f"""[container.on-signal]
image = "{DEFAULT_REF}"
command = {HUP_WRITES}
reload_signal = "HUP"
stop_timeout = 1

[container.on-command]
image = "{DEFAULT_REF}"
command = {SLEEP}
init = true
reload_command = "touch /tmp/reloaded"
""",
}


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with booted("keys") as sandbox:
        defs = sandbox.share / "defs"
        defs.mkdir(parents=True)
        for name, text in DEFINITIONS.items():
            (defs / name).write_text(text)
        # this checkout's code, not whichever one the venv's editable install points at
        argv = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator", "apply"]
        done = sandbox.run([*argv, str(defs)], check=False, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        yield sandbox


def in_container(box: Sandbox, name: str, script: str) -> str:
    return box.run(["podman", "exec", name, "sh", "-c", script]).stdout


def stop_seconds(box: Sandbox, unit: str) -> float:
    started = time.monotonic()
    box.run(["systemctl", "stop", unit], timeout=120)
    return time.monotonic() - started


def test_init_makes_a_pid_1_sleep_stop_at_once(box: Sandbox) -> None:
    assert in_container(box, "with-init", "cat /proc/1/comm").strip() == "podman-init"
    fast = stop_seconds(box, "with-init.service")
    slow = stop_seconds(box, "without-init.service")
    assert fast < 1.5, f"with init = true the stop took {fast:.2f}s"
    # the control: without init, podman waits the stop timeout before SIGKILL
    assert slow >= STOP_TIMEOUT, f"without init the stop took only {slow:.2f}s"


def test_ulimits_are_the_container_s_limits(box: Sandbox) -> None:
    limits = in_container(box, "probe", "cat /proc/1/limits")
    files = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    assert files.split()[3:5] == ["1111", "2222"], files
    procs = next(line for line in limits.splitlines() if line.startswith("Max processes"))
    assert procs.split()[2:4] == ["3333", "3333"], procs


def test_sysctls_are_set_in_the_container_s_namespace(box: Sandbox) -> None:
    assert in_container(box, "probe", "cat /proc/sys/kernel/msgmax").strip() == "12345"
    assert box.run(["cat", "/proc/sys/kernel/msgmax"]).stdout.strip() != "12345"


def test_dns_and_add_hosts_are_in_the_container_s_resolver_files(box: Sandbox) -> None:
    resolv = in_container(box, "probe", "cat /etc/resolv.conf")
    assert "nameserver 10.9.9.9" in resolv, resolv
    assert "corp.example" in resolv, resolv
    hosts = in_container(box, "probe", "cat /etc/hosts")
    assert any(line.split()[:2] == ["10.0.0.2", "db.internal"] for line in hosts.splitlines()), (
        hosts
    )


@pytest.mark.parametrize("name", ["on-signal", "on-command"])
def test_systemctl_reload_signals_the_container_or_runs_the_command_in_it(
    box: Sandbox, name: str
) -> None:
    assert box.run(["podman", "exec", name, "test", "-e", "/tmp/reloaded"], check=False).returncode
    box.run(["systemctl", "reload", f"{name}.service"], timeout=60)
    reloaded = lambda: box.run(["podman", "exec", name, "test", "-e", "/tmp/reloaded"], check=False)  # noqa: E731
    until(lambda: reloaded().returncode == 0, 10, f"{name} reloaded")
    assert box.run(["systemctl", "is-active", f"{name}.service"]).stdout.strip() == "active"
