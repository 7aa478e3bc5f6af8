"""Removing a sandbox does not wait for graceful stops: its state is thrown away."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from orchestrator.sandbox import machine


def _stubborn_init(box: machine.Sandbox) -> subprocess.Popen[bytes]:
    """A process standing for the sandbox's systemd, which ignores SIGTERM as a container
    with a long stop timeout would."""
    script = "trap '' TERM; echo trapped; exec >&-; while :; do sleep 1; done"
    process = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"trapped\n"
    process.stdout.close()
    box.root.mkdir(parents=True)
    state = {"systemd": process.pid, "started": machine._start_time(process.pid)}
    box.state_file.write_text(json.dumps(state))
    return process


def test_destroying_a_sandbox_removes_its_containers_at_once_and_kills_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(machine, "HIDDEN_INSIDE", ())  # state in pytest's /tmp: never booted
    box = machine.Sandbox("teardown", str(tmp_path))
    process = _stubborn_init(box)
    units = box.root / "etc-systemd-system"
    units.mkdir()
    (units / "web.service").write_text("[Service]\n")
    (units / "getty.service").symlink_to("/dev/null")
    asked: list[list[str]] = []

    def run(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        asked.append(argv)
        return subprocess.CompletedProcess(argv, 0, "podman0\npodman7\n")

    monkeypatch.setattr(box, "run", run)
    bridges: list[list[str]] = []
    monkeypatch.setattr(machine, "remove_idle_bridges", bridges.append)
    try:
        assert box.pid == process.pid
        box.destroy()
        assert len(asked) == 1, "no graceful poweroff through the sandbox's systemd"
        script = asked[0][2]
        removals = [line for line in script.splitlines() if " rm " in line]
        assert [line.split(">")[0].strip() for line in removals] == [
            "podman pod rm --force --time=0 --all",
            "podman rm --force --time=0 --all",
        ], "containers removed at once, so that podman takes their port forwarding out of the "
        "host's firewall; pods first"
        assert asked[0][3:] == ["remove", "web.service"], "the masked units are not masked again"
        # the bridges of its own networks, left in the host's namespace, go after it (not the
        # default network's, which every sandbox shares)
        assert bridges == [["podman7"]]
        assert not machine._alive(process.pid), "killed, although it ignores SIGTERM"
        assert not box.root.exists()
    finally:
        process.kill()
        process.wait()


def test_a_reboot_still_powers_off_gracefully(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(machine, "HIDDEN_INSIDE", ())
    box = machine.Sandbox("graceful", str(tmp_path))
    process = _stubborn_init(box)
    asked: list[list[str]] = []
    monkeypatch.setattr(box, "run", lambda argv, **_: asked.append(argv))
    try:
        box.poweroff(timeout=0.2)  # the stand-in ignores the poweroff: killed after the timeout
        assert asked == [["systemctl", "poweroff", "--no-block"]]
        assert box.root.exists(), "its state is kept for the next boot"
    finally:
        process.kill()
        process.wait()
