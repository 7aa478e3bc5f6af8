"""docs/json.md is the contract of every --json output: each command's output is checked against
the example there (no undocumented key, every documented top-level key present)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from orchestrator import cli
from orchestrator.commands.completion import Command, command_tree
from orchestrator.commands.output import JSON_SCHEMA
from orchestrator.core.doctor import DefinitionFacts
from orchestrator.host import history, podman, probe
from orchestrator.host import systemd as systemd_module
from tests.commands.test_verbs import FakeSystemd
from tests.core.test_doctor import HEALTHY
from tests.support.cli import ROOT, run_inline

DOC = ROOT / "docs" / "json.md"
MAPS = {"hosts"}  # objects keyed by data (host names): each value is checked against the first


def examples() -> dict[str, Any]:
    """Each documented command (as "validate", "fleet plan", "" for errors) -> its example."""
    found: dict[str, Any] = {}
    sections = re.split(r"^## ", DOC.read_text(), flags=re.M)[1:]
    for section in sections:
        heading, _, body = section.partition("\n")
        block = re.search(r"```json\n(.*?)```", body, re.S)
        assert block, heading
        example = json.loads(block.group(1))
        commands = re.findall(r"`orchestrator ([a-z -]+?) --json`", heading) or [""]
        for command in commands:
            found[command] = example
    return found


def test_every_example_is_json_with_the_schema_number() -> None:
    for command, example in examples().items():
        assert example["schema"] == JSON_SCHEMA, command


def test_every_command_with_json_output_is_documented() -> None:
    def with_json(command: Command) -> list[str]:
        own = [" ".join(command.words)] if any("--json" in o.flags for o in command.options) else []
        return own + [w for sub in command.subcommands.values() for w in with_json(sub)]

    documented = set(examples())
    missing = [c for c in with_json(command_tree(cli.build_parser())) if c not in documented]
    assert not missing, f"docs/json.md has no section for: {missing}"


def conforms(actual: Any, example: Any, where: str = "") -> list[str]:
    """Where actual differs in shape from example: keys not documented, documented top-level
    keys missing, values of another type."""
    if example is None or actual is None:
        return []
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object"]
        if where.rsplit(".", 1)[-1] in MAPS:
            first = next(iter(example.values()))
            return [p for k, v in actual.items() for p in conforms(v, first, f"{where}[{k}]")]
        wrong = [f"{where}.{k}: not documented" for k in actual if k not in example]
        if not where:
            wrong += [f"{k}: missing" for k in example if k not in actual]
        return wrong + [
            p
            for k, v in actual.items()
            if k in example
            for p in conforms(v, example[k], f"{where}.{k}")
        ]
    if isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list"]
        if not example:
            return []
        merged = _merged(example)
        return [p for i, item in enumerate(actual) for p in conforms(item, merged, f"{where}[{i}]")]
    numbers = (int, float)
    same = (
        isinstance(actual, numbers)
        if isinstance(example, numbers)
        else type(actual) is type(example)
    )
    return (
        [] if same else [f"{where}: {type(actual).__name__}, documented {type(example).__name__}"]
    )


def _merged(items: list[Any]) -> Any:
    """The list's items as one: objects with the keys of all of them."""
    if all(isinstance(i, dict) for i in items):
        merged: dict[str, Any] = {}
        for item in items:
            merged.update({k: v for k, v in item.items() if k not in merged or merged[k] is None})
        return merged
    return items[0]


def check(command: str, *args: str, code: int = 0, **env: str) -> None:
    result = run_inline(*args, **env)
    assert result.returncode == code, result.stdout + result.stderr
    payload = json.loads(result.stdout)
    assert payload["schema"] == JSON_SCHEMA
    assert not conforms(payload, examples()[command]), conforms(payload, examples()[command])


def test_the_check_finds_an_undocumented_key_a_missing_one_and_a_wrong_type() -> None:
    example = {"schema": 1, "ok": True, "units": [{"unit": "a", "n": 1}]}
    assert conforms({"schema": 1, "ok": True, "units": [{"unit": "b", "n": 2}]}, example) == []
    assert conforms({"schema": 1, "ok": True, "units": [], "new": 1}, example) == [
        ".new: not documented"
    ]
    assert conforms({"schema": 1, "units": []}, example) == ["ok: missing"]
    assert conforms({"schema": 1, "ok": "yes", "units": [{"n": "1"}]}, example) == [
        ".ok: str, documented bool",
        ".units[0].n: str, documented int",
    ]


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    out = tmp_path / "units"
    assert run_inline("render", "examples/web-stack", "--out", str(out)).returncode == 0
    return out


def test_definition_commands_keep_the_contract(tmp_path: Path) -> None:
    check("validate", "validate", "examples/web-stack", "--json")
    check("render", "render", "examples/offline", "--out", str(tmp_path / "u"), "--json")
    check(
        "plan", "plan", "examples/web-stack", "--unit-dir", str(tmp_path / "none"), "--json", code=2
    )
    check("graph", "graph", "examples/web-stack", "--json")
    check("", "validate", "/nonexistent", "--json", code=1)


def test_doctor_keeps_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "host", lambda mode: HEALTHY)
    monkeypatch.setattr(probe, "definitions", lambda spec, mode: DefinitionFacts())
    check("doctor", "doctor", "examples/web-stack", "--json", code=1)


def test_host_commands_keep_the_contract(
    stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(systemd_module, "Systemd", FakeSystemd)
    monkeypatch.setattr(FakeSystemd, "active", "active")
    monkeypatch.setattr(podman, "health", lambda name: "healthy")
    check("status", "status", "--unit-dir", str(stack), "--json")
    state = tmp_path / "state"
    history.record(str(state / "orchestrator"), {"a.service": "[Unit]\n"}, [], "ok")
    check("history", "history", "--user", "--json", XDG_STATE_HOME=str(state))
    check("sandbox list", "sandbox", "list", "--json")  # reads the sandboxes there are


def test_fleet_commands_keep_the_contract(tmp_path: Path) -> None:
    fleet = str(ROOT / "examples/fleet")
    check("fleet validate", "fleet", "validate", fleet, "--json")
    check(
        "fleet render",
        "fleet",
        "render",
        fleet,
        "--host",
        "web-1",
        "--out",
        str(tmp_path),
        "--json",
    )
    check("fleet plan", "fleet", "plan", fleet, "--all", "--json", code=2)
    check(
        "fleet explain",
        "fleet",
        "explain",
        fleet,
        "container.web.ports",
        "--host",
        "web-1",
        "--json",
    )
