"""exec, start, stop and restart: a service found by its declared name, the job handed to
systemd (a fake here; tests/integration/test_verbs.py runs the real one)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import pytest

from orchestrator.host import runner
from orchestrator.host import systemd as systemd_module
from orchestrator.host.systemd import JobResults, UnitState
from tests.support.cli import run_inline


class FakeSystemd:
    jobs: ClassVar[list[tuple[str, str]]] = []
    results: ClassVar[dict[str, str]] = {}
    active = "active"

    def __init__(self, user: bool = False) -> None:
        self.user = user

    def __enter__(self) -> FakeSystemd:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        pass

    def units(self, names: Iterable[str]) -> dict[str, UnitState]:
        return {n: UnitState(n, "loaded", self.active, "running") for n in names}

    def run_jobs(self, jobs: list[tuple[str, str]], timeout: float) -> JobResults:
        FakeSystemd.jobs += jobs
        return JobResults({u: self.results.get(u, "done") for _, u in jobs})


@pytest.fixture
def units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(systemd_module, "Systemd", FakeSystemd)
    FakeSystemd.jobs, FakeSystemd.results, FakeSystemd.active = [], {}, "active"
    out = tmp_path / "units"
    assert run_inline("render", "examples/web-stack", "--out", str(out)).returncode == 0
    return str(out)


@pytest.mark.parametrize("verb", ["start", "stop", "restart"])
def test_a_verb_is_one_systemd_job_per_named_service(units: str, verb: str) -> None:
    result = run_inline(verb, "db", "proxy.service", "db", "--unit-dir", units)
    assert result.returncode == 0, result.stderr
    assert FakeSystemd.jobs == [(verb, "db.service"), (verb, "proxy.service")]
    assert result.stdout.splitlines() == [f"{verb} db.service: done", f"{verb} proxy.service: done"]


def test_a_failed_job_exits_1_and_says_where_to_look(units: str) -> None:
    FakeSystemd.results = {"db.service": "failed"}
    result = run_inline("restart", "db", "--unit-dir", units)
    assert result.returncode == 1
    assert "restart db.service: failed" in result.stdout
    assert "systemctl status db.service" in result.stdout


def test_an_unknown_name_is_refused_with_the_closest_one(units: str) -> None:
    result = run_inline("stop", "dbb", "--unit-dir", units)
    assert result.returncode == 1 and 'did you mean "db"' in result.stderr
    assert FakeSystemd.jobs == []


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def fake_run(argv: list[str], **_: Any) -> runner.Completed:
        calls.append(list(argv))
        return runner.Completed(argv, 7, "", "")

    monkeypatch.setattr(runner, "run", fake_run)
    return calls


def test_exec_runs_the_command_in_the_container_with_its_exit_code(
    units: str, ran: list[list[str]]
) -> None:
    result = run_inline("exec", "--unit-dir", units, "db", "--", "psql", "-U", "postgres")
    assert result.returncode == 7
    assert ran == [["podman", "exec", "--interactive", "--", "db", "psql", "-U", "postgres"]]


def test_exec_refuses_a_stopped_service_a_volume_and_no_command(
    units: str, ran: list[list[str]]
) -> None:
    assert "give the command" in run_inline("exec", "--unit-dir", units, "db").stderr
    assert (
        "not a container" in run_inline("exec", "--unit-dir", units, "db-data", "--", "ls").stderr
    )
    FakeSystemd.active = "failed"
    stopped = run_inline("exec", "--unit-dir", units, "db", "--", "ls")
    assert stopped.returncode == 1 and "db is not running (failed/running)" in stopped.stderr
    assert ran == []


STATUS_DEFINITIONS = """
[container.web]
image = "docker.io/library/nginx:1.27"
pod = "front"
volumes = ["site:/srv"]

[pod.front]

[volume.site]

[network.back]

[image.tools]
image = "docker.io/library/busybox:1"
"""


def test_status_lists_every_kind_of_unit_with_its_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pods, volumes, networks, images and builds were left out: a failed pod went unseen
    monkeypatch.setattr(systemd_module, "Systemd", FakeSystemd)
    FakeSystemd.active = "active"
    (tmp_path / "defs.toml").write_text(STATUS_DEFINITIONS)
    out = tmp_path / "units"
    assert run_inline("render", str(tmp_path / "defs.toml"), "--out", str(out)).returncode == 0
    result = run_inline("status", "--unit-dir", str(out), "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["services"]
    assert [(r["kind"], r["name"], r["unit"]) for r in rows] == [
        ("container", "web", "web.service"),
        ("volume", "site", "site-volume.service"),
        ("network", "back", "back-network.service"),
        ("pod", "front", "front-pod.service"),
        ("image", "tools", "tools-image.service"),
    ]
    assert rows[4]["image"] == "docker.io/library/busybox:1"
    text = run_inline("status", "--unit-dir", str(out)).stdout.splitlines()
    assert text[0].split() == ["NAME", "KIND", "STATE", "HEALTH", "RESTARTS", "UPTIME", "IMAGE"]
    assert [line.split()[:2] for line in text[1:]] == [
        ["web", "container"], ["site", "volume"], ["back", "network"], ["front", "pod"],
        ["tools", "image"],
    ]  # fmt: skip


def test_exec_runs_podman_with_the_container_s_global_options_as_its_unit_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ran: list[list[str]]
) -> None:
    # exec left out --root and the module: podman looked in other storage, "no such container"
    monkeypatch.setattr(systemd_module, "Systemd", FakeSystemd)
    FakeSystemd.active = "active"
    (tmp_path / "app.toml").write_text(
        '[container.app]\nimage = "docker.io/library/nginx:1.27"\n'
        'global_args = ["--root=/srv/podman 100%", "--log-level=info"]\n'
        'containers_conf_module = ["/etc/containers/extra.conf"]\n'
    )
    out = tmp_path / "units"
    rendered = run_inline("render", str(tmp_path / "app.toml"), "--out", str(out),
                          "--podman-version", "5.4")  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    result = run_inline("exec", "--unit-dir", str(out), "app", "--", "nginx", "-t")
    assert result.returncode == 7, result.stderr
    assert ran == [[
        "podman", "--module=/etc/containers/extra.conf", "--root=/srv/podman 100%",
        "--log-level=info", "exec", "--interactive", "--", "app", "nginx", "-t",
    ]]  # fmt: skip
