"""`orchestrator doctor` inside a sandbox whose systemd is PID 1, with what the definitions need
deliberately missing (a secret, a bind mount source) and then supplied."""

from __future__ import annotations

import json
import os
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


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with booted("doctor") as sandbox:
        yield sandbox


def doctor(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator", "doctor", *args]
    return box.run(argv, check=False, timeout=120)


def statuses(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in json.loads(result.stdout)["checks"]}


def test_the_host_checks_pass_where_systemd_is_pid_1(box: Sandbox) -> None:
    result = doctor(box)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok    systemd") and "it is PID 1" in lines[0]
    assert any(line.startswith("ok    podman") for line in lines)


def test_what_the_definitions_need_is_missing_then_supplied(box: Sandbox) -> None:
    defs, source = box.share / "defs", box.share / "www"
    defs.mkdir(exist_ok=True)
    (defs / "web.toml").write_text(
        f'[container.web]\nimage = "{DEFAULT_REF}"\nsecrets = ["doctor-token"]\n'
        f'volumes = ["{source}:/srv:ro"]\nports = ["127.0.0.1:18190:8080"]\n'
    )
    missing = doctor(box, str(defs), "--json")
    assert missing.returncode == 1, missing.stdout + missing.stderr
    found = statuses(missing)
    assert found["secret doctor-token"] == "fail"
    assert found[f"path {source}"] == "fail"
    assert found[f"image {DEFAULT_REF}"] == "ok"
    assert found["ports"] == "ok"

    source.mkdir()
    token = box.share / "token"
    token.write_text("s3cret")
    box.create_secret("doctor-token", str(token))
    supplied = doctor(box, str(defs))
    assert supplied.returncode == 0, supplied.stdout + supplied.stderr
    assert "0 failed" in supplied.stdout
