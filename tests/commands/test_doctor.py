"""`orchestrator doctor` prints one line per check with its fix, and exits 1 on a failure."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.core.doctor import DefinitionFacts
from orchestrator.host import probe
from tests.core.test_doctor import DEFINITIONS, HEALTHY
from tests.support.cli import run_inline


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The facts the command will see; a test changes them before it runs the command."""
    facts: dict[str, object] = {"host": HEALTHY, "definitions": DefinitionFacts()}
    monkeypatch.setattr(probe, "host", lambda mode: replace(facts["host"], mode=mode))
    monkeypatch.setattr(probe, "definitions", lambda spec, mode: facts["definitions"])
    return facts


def test_a_healthy_host_exits_0_with_a_line_per_check(host: dict[str, object]) -> None:
    result = run_inline("doctor")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["ok", "systemd"]
    assert "0 failed, 0 warning(s)" in lines[-1]


def test_a_failure_exits_1_and_shows_the_fix(host: dict[str, object]) -> None:
    host["host"] = replace(HEALTHY, podman_version=None, journal_dir=False)
    result = run_inline("doctor")
    assert result.returncode == 1
    out = result.stdout
    assert "FAIL  podman" in out and "fix: apt-get install podman" in out
    assert "warn  journal" in out
    assert "1 failed, 1 warning(s)" in out


def test_definitions_are_checked_when_given(host: dict[str, object], tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(DEFINITIONS)
    host["definitions"] = DefinitionFacts(secrets={"token": False})
    result = run_inline("doctor", str(tmp_path), "--json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["schema"] == 1 and payload["ok"] is False
    failed = {c["name"] for c in payload["checks"] if c["status"] == "fail"}
    assert "secret token" in failed and "path /srv/www" in failed


def test_user_mode_checks_the_user_manager(host: dict[str, object]) -> None:
    payload = json.loads(run_inline("doctor", "--user", "--json").stdout)
    assert payload["mode"] == "user"
    assert {"subids", "linger", "tun"} <= {c["name"] for c in payload["checks"]}


def test_the_systemd_connection_error_points_at_doctor() -> None:
    from orchestrator.host.systemd import Systemd, SystemdError

    try:
        Systemd(user=True).close()
    except SystemdError as exc:
        assert "orchestrator doctor --user" in str(exc)
    else:
        pytest.skip("a user manager is reachable here")
