"""exec, stop, start and restart against a real systemd and podman, in a sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF
from tests.support.sandboxes import booted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
ROOT = Path(__file__).resolve().parents[2]
LOOP = "trap 'exit 0' TERM; while :; do sleep 1 & wait; done"


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with booted("verbs") as sandbox:
        defs = sandbox.share / "defs"
        defs.mkdir()
        (defs / "t.toml").write_text(
            f'[container.ticker]\nimage = "{DEFAULT_REF}"\ncommand = ["sh", "-c", "{LOOP}"]\n'
            "stop_timeout = 1\n"
        )
        applied = orchestrator(sandbox, "apply", str(defs))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        yield sandbox


def orchestrator(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator", *args]
    return box.run(argv, check=False, timeout=180)


def main_pid(box: Sandbox) -> str:
    return box.run(["systemctl", "show", "-P", "MainPID", "ticker.service"]).stdout.strip()


def test_exec_runs_in_the_container_and_passes_its_exit_code(box: Sandbox) -> None:
    said = orchestrator(box, "exec", "ticker", "--", "sh", "-c", "echo inside; exit 3")
    assert (said.returncode, said.stdout.strip()) == (3, "inside"), said.stderr


def test_stop_start_and_restart_go_through_systemd(box: Sandbox) -> None:
    before = main_pid(box)
    restarted = orchestrator(box, "restart", "ticker")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert main_pid(box) not in (before, "0")

    stopped = orchestrator(box, "stop", "ticker")
    assert stopped.stdout.strip() == "stop ticker.service: done"
    state = box.run(["systemctl", "is-active", "ticker.service"], check=False).stdout.strip()
    assert state == "inactive"
    refused = orchestrator(box, "exec", "ticker", "--", "true")
    assert refused.returncode == 1 and "not running" in refused.stderr

    started = orchestrator(box, "start", "ticker")
    assert started.returncode == 0, started.stdout + started.stderr
    assert box.run(["systemctl", "is-active", "ticker.service"]).stdout.strip() == "active"


def test_apply_on_a_terminal_shows_live_progress_then_the_usual_report(box: Sandbox) -> None:
    defs = box.share / "defs"
    (defs / "t.toml").write_text((defs / "t.toml").read_text() + 'environment = { V = "2" }\n')
    command = f"env PYTHONPATH={ROOT} {sys.executable} -m orchestrator apply {defs}"
    shown = box.run(["script", "-qec", command, "/dev/null"], check=False, timeout=180)
    assert shown.returncode == 0, shown.stdout
    assert "\x1b[" in shown.stdout  # the live lines, redrawn in place
    live = re.findall(r"\x1b\[2K(.*)", shown.stdout)  # each live line as drawn
    assert any("ticker.service" in line for line in live), repr(shown.stdout)
    tail = shown.stdout.rsplit("\x1b[J", 1)[-1].replace("\r", "")  # after the block is erased
    assert "ok   ticker.service" in tail and "everything runs as declared" in tail
