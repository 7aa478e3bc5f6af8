"""`sandbox run`'s command inside: the same orchestrator as the one outside."""

from __future__ import annotations

import sys

import pytest

from orchestrator.sandbox.run import orchestrator_argv


def test_the_orchestrator_inside_keeps_the_pythonpath_the_clean_environment_drops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/work/checkout")
    assert orchestrator_argv("apply", "DIR") == [
        "env", "PYTHONPATH=/work/checkout", sys.executable, "-m", "orchestrator", "apply", "DIR",
    ]  # fmt: skip
    monkeypatch.delenv("PYTHONPATH")
    assert orchestrator_argv("apply") == [sys.executable, "-m", "orchestrator", "apply"]
