"""podman calls never let a user value be read as an option."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from orchestrator.host import podman, runner

HOSTILE = "-v/etc/x"


def _record(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def fake_run(argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        return subprocess.CompletedProcess(argv, 1, "", "")

    monkeypatch.setattr(runner, "run", fake_run)
    return calls


def _after_double_dash(argv: list[str], value: str) -> bool:
    return "--" in argv and argv.index(value) > argv.index("--")


def test_image_exists_passes_the_image_after_double_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record(monkeypatch)
    podman.image_exists(HOSTILE)
    assert _after_double_dash(calls[0], HOSTILE)


@pytest.mark.parametrize("quiet", [True, False])
def test_pull_passes_the_image_after_double_dash(
    monkeypatch: pytest.MonkeyPatch, quiet: bool
) -> None:
    calls = _record(monkeypatch)
    podman.pull(HOSTILE, quiet=quiet)
    assert _after_double_dash(calls[0], HOSTILE)


def test_health_passes_the_container_after_double_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record(monkeypatch)
    assert podman.health(HOSTILE, runner.run) == ""
    assert calls and all(_after_double_dash(argv, HOSTILE) for argv in calls)
