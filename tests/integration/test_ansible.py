"""The Ansible collection for real: ansible-playbook (the pinned ansible-core) pushes a fleet
repository to three sandboxes as hosts, entered through the collection's connection plugin, and
inventoried by its fleet plugin. A first run changes every host and the containers answer; a
second run changes nothing; --check --diff shows an edit and changes nothing; a broken change
stops at the canary, which is rolled back, and never reaches the other hosts."""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF
from tests.support import ROOT
from tests.support.sandboxes import STATE, booted

PLAYBOOK_BIN = shutil.which("ansible-playbook", path=os.path.dirname(sys.executable))
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
    pytest.mark.skipif(
        PLAYBOOK_BIN is None, reason="ansible-core is not installed (scripts/setup)"
    ),
]
HOSTS = {"ans-1": 8311, "ans-2": 8312, "ans-3": 8313}
DEST = "/var/lib/orchestrator/definitions"  # the sandbox's own: /etc/orchestrator is the host's
FLEET = "".join(f'[host.{name}]\ngroups = ["web"]\nvars = {{ web_port = {port} }}\n'
                for name, port in HOSTS.items())  # fmt: skip
WEB = f"""
[container.web]
image = "{DEFAULT_REF}"
pull = "never"
stop_timeout = 1
networks = ["host"]  # no bridge: three sandboxes share the host's network
command = ["httpd", "-f", "-p", "${{web_port}}", "-h", "/etc"]
"""
BROKEN = f"""
[container.broken]
image = "{DEFAULT_REF}"
pull = "never"
restart = "no"
networks = ["host"]
command = ["sh", "-c", "echo broken on purpose; exit 3"]
"""
PLAY = f"""
- name: Push the fleet
  hosts: all
  gather_facts: false
  serial: [1, "50%"]
  max_fail_percentage: 0
  connection: orchestrator.orchestrator.sandbox
  environment:
    PYTHONPATH: {ROOT}
  tasks:
    - name: Apply the host's merge
      orchestrator.orchestrator.apply:
        fleet: "{{{{ orchestrator_fleet }}}}"
        dest: {DEST}
        command: [{sys.executable}, -m, orchestrator]
        rollback_on_failure: "{{{{ rollback | default(false) | bool }}}}"
        timeout: 60
"""


@dataclass
class Push:
    code: int
    output: dict[str, Any]
    stderr: str

    def results(self) -> dict[str, dict[str, Any]]:
        """Each host's result of the apply task."""
        found: dict[str, dict[str, Any]] = {}
        for task in self.output["tasks"]:
            found.update(task["hosts"])
        return found

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        stats: dict[str, dict[str, int]] = self.output.get("stats", {})
        return stats


class Fleet:
    def __init__(self, root: Path, boxes: dict[str, Sandbox]) -> None:
        self.root, self.boxes = root, boxes
        (root / "groups" / "web").mkdir(parents=True)
        (root / "fleet.toml").write_text(FLEET)
        (root / "groups" / "web" / "web.toml").write_text(WEB)
        (root / "push.yml").write_text(PLAY)

    def push(self, *extra: str, playbook: str = "push.yml", pipelining: bool = True) -> Push:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "ansible"),
            "ANSIBLE_INVENTORY_ENABLED": "orchestrator.orchestrator.fleet",
            "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "tests" / "support" / "ansible_callbacks"),
            "ANSIBLE_STDOUT_CALLBACK": "results",
            "ANSIBLE_HOME": str(self.root / ".ansible-home"),
            "ANSIBLE_PIPELINING": "1" if pipelining else "0",
            "ANSIBLE_REMOTE_TMP": "/tmp/.ansible-remote",  # the sandbox's own /tmp
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_SANDBOX_ORCHESTRATOR": f"{sys.executable} -m orchestrator",
            "ANSIBLE_NOCOLOR": "1",
            "ORCHESTRATOR_SANDBOX_ROOT": STATE,
        }
        argv = [str(PLAYBOOK_BIN), "-i", str(self.root / "fleet.toml"),
                str(self.root / playbook), *extra]  # fmt: skip
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        assert done.stdout.lstrip().startswith("{"), done.stdout + done.stderr
        return Push(done.returncode, json.loads(done.stdout), done.stderr)


def generations(box: Sandbox) -> list[dict[str, Any]]:
    argv = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator", "history", "--json"]
    found: list[dict[str, Any]] = json.loads(box.run(argv).stdout)["generations"]
    return found


def units(box: Sandbox) -> dict[str, str]:
    """The unit files orchestrator wrote in the sandbox, by name."""
    directory = box.root / "etc-systemd-system"
    return {
        path.name: path.read_text()
        for path in directory.iterdir()
        if path.is_file() and "[X-Orchestrator]" in path.read_text()
    }


def invocation(box: Sandbox, unit: str) -> str:
    return box.run(["systemctl", "show", "-P", "InvocationID", unit]).stdout.strip()


def active(box: Sandbox, unit: str) -> str:
    return box.run(["systemctl", "is-active", unit], check=False).stdout.strip()


def answers(port: int) -> bool:
    done = subprocess.run(["wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{port}/hostname"],
                          check=False, timeout=10)  # fmt: skip
    return done.returncode == 0


@pytest.fixture(scope="module")
def boxes() -> Iterator[dict[str, Sandbox]]:
    with contextlib.ExitStack() as stack:  # every sandbox destroyed, also when one fails to boot
        yield {name: stack.enter_context(booted(name)) for name in HOSTS}


@pytest.fixture(scope="module")
def fleet(boxes: dict[str, Sandbox], tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return Fleet(tmp_path_factory.mktemp("ansible-fleet"), boxes)


def test_a_first_push_changes_every_host_and_the_containers_answer(fleet: Fleet) -> None:
    push = fleet.push()
    assert push.code == 0, push.stderr + json.dumps(push.results(), indent=1)
    assert {h: s["changed"] for h, s in push.stats.items()} == dict.fromkeys(HOSTS, 1)
    for result in push.results().values():
        assert result["generation"] == 1, result
        assert [u["unit"] for u in result["units"]] == ["web.service"], result
    for name, port in HOSTS.items():
        assert answers(port), f"{name}: nothing answers on port {port}"
        assert f"-p {port}" in units(fleet.boxes[name])["web.service"]


def test_a_second_push_reports_ok_and_writes_or_restarts_nothing(fleet: Fleet) -> None:
    before = {n: (units(b), invocation(b, "web.service"), len(generations(b)))
              for n, b in fleet.boxes.items()}  # fmt: skip
    push = fleet.push()
    assert push.code == 0, push.stderr
    assert {h: s["changed"] for h, s in push.stats.items()} == dict.fromkeys(HOSTS, 0)
    assert all(not r["changed"] and r["copied"] == [] for r in push.results().values())
    after = {n: (units(b), invocation(b, "web.service"), len(generations(b)))
             for n, b in fleet.boxes.items()}  # fmt: skip
    assert after == before


def test_check_diff_after_an_edit_shows_the_diff_and_changes_nothing(fleet: Fleet) -> None:
    web = fleet.root / "groups" / "web" / "web.toml"
    web.write_text(WEB + 'environment = { GREETING = "hello from ansible" }\n')
    try:
        before = {n: (units(b), len(generations(b))) for n, b in fleet.boxes.items()}
        push = fleet.push("--check", "--diff")
        assert push.code == 0, push.stderr
        assert {h: s["changed"] for h, s in push.stats.items()} == dict.fromkeys(HOSTS, 1)
        for result in push.results().values():
            [diff] = result["diff"]
            assert diff["before_header"].endswith("/web.service"), diff
            assert "GREETING" not in diff["before"] and "GREETING" in diff["after"], diff
            # planned where the definitions would be: the command line is the only difference,
            # not the source path in the unit's header
            lines = difflib.ndiff(diff["before"].splitlines(), diff["after"].splitlines())
            changed = [line[2:] for line in lines if line[:1] in "+-"]
            assert len(changed) == 2 and all(x.startswith("ExecStart=") for x in changed), changed
            assert not result.get("warnings"), result["warnings"]
            assert result["copied"] == ["container-web.toml"], result
        after = {n: (units(b), len(generations(b))) for n, b in fleet.boxes.items()}
        assert after == before
        for name, box in fleet.boxes.items():
            copied = box.root / "var-lib-orchestrator" / "definitions" / "container-web.toml"
            assert "GREETING" not in copied.read_text(), name
    finally:
        web.write_text(WEB)


def test_a_failure_on_the_canary_stops_the_rollout_and_is_rolled_back(fleet: Fleet) -> None:
    canary, *others = fleet.boxes
    before = {n: (units(b), len(generations(b))) for n, b in fleet.boxes.items()}
    last_good = generations(fleet.boxes[canary])[-1]["number"]
    broken = fleet.root / "base" / "broken.toml"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text(BROKEN)
    try:
        push = fleet.push("-e", "rollback=true")
    finally:
        broken.unlink()
    assert push.code != 0
    results = push.results()
    assert set(results) == {canary}, results  # the other hosts were never reached
    assert results[canary]["failed"] and results[canary]["rolled_back"], results[canary]
    assert "broken on purpose" in results[canary]["msg"], results[canary]["msg"]
    box = fleet.boxes[canary]
    assert units(box) == before[canary][0]  # on its previous generation's units
    assert generations(box)[-1]["note"] == f"rollback to {last_good}"
    assert active(box, "web.service") == "active" and answers(HOSTS[canary])
    for name in others:
        assert (units(fleet.boxes[name]), len(generations(fleet.boxes[name]))) == before[name]
        definitions = fleet.boxes[name].root / "var-lib-orchestrator" / "definitions"
        assert sorted(p.name for p in definitions.iterdir()) == ["container-web.toml"]


def test_files_travel_into_a_sandbox_and_back_through_the_connection(fleet: Fleet) -> None:
    """Without pipelining, modules and files are put and fetched (put_file, fetch_file)."""
    fetched = fleet.root / "fetched"
    play = [{"hosts": "ans-2", "gather_facts": False,
             "connection": "orchestrator.orchestrator.sandbox", "tasks": [
                 {"ansible.builtin.copy": {"content": "from the controller\n",
                                           "dest": "/tmp/carried", "mode": "0644"}},
                 {"ansible.builtin.fetch": {"src": "/tmp/carried", "dest": f"{fetched}/",
                                            "flat": True}},
             ]}]  # fmt: skip
    (fleet.root / "files.yml").write_text(json.dumps(play))
    push = fleet.push(playbook="files.yml", pipelining=False)
    assert push.code == 0, push.stderr + json.dumps(push.results(), indent=1)
    assert fleet.boxes["ans-2"].run(["cat", "/tmp/carried"]).stdout == "from the controller\n"
    assert (fetched / "carried").read_text() == "from the controller\n"
