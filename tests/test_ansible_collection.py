"""The Ansible collection (ansible/ansible_collections/orchestrator/orchestrator) without a real
host: its module run by ansible-playbook against a stand-in orchestrator that prints what the
real one prints, its inventory plugin on the example fleet, its documentation against its
arguments, its build and ansible-lint. Skipped where ansible-core is not installed (scripts/setup
installs it). The real thing, against sandboxes: tests/integration/test_ansible.py."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.plan import UnitChange
from tests.support import ROOT

# Each test starts ansible-playbook, ansible-doc or ansible-lint (seconds each, minutes in all):
# scripts/test runs them after the unit part, with the integration tests.
pytestmark = pytest.mark.tools

pytest.importorskip("ansible", reason="ansible-core is not installed (scripts/setup)")
yaml = pytest.importorskip("yaml")  # PyYAML comes with ansible-core

BIN = Path(sys.executable).parent
COLLECTION = ROOT / "ansible" / "ansible_collections" / "orchestrator" / "orchestrator"
PLUGINS = COLLECTION / "plugins"
OLD = "[Unit]\nDescription=web\n\n[Service]\nExecStart=/usr/bin/podman run web\n"
NEW = OLD.replace("run web", "run --env=A=1 web")
STUB = """\
import json, os, sys
seen = sorted(os.listdir(sys.argv[-1])) if os.path.isdir(sys.argv[-1]) else None
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps({"argv": sys.argv[1:], "seen": seen}) + "\\n")
change = {"unit": "web.service", "kind": "container", "action": "change", "diff": DIFF}
plan = {"ok": True, "changed": True, "summary": {"create": 0, "change": 1, "remove": 0,
        "unchanged": 0}, "units": [change], "restarts": [], "actions": []}
unit = {"unit": "web.service", "kind": "container", "change": "change", "done": ["write",
        "restart"], "active": "active", "sub": "running", "result": "success", "restarts": 0,
        "health": "", "job": "done", "ok": True, "journal": ""}
report = {"ok": True, "error": "", "dry_run": False, "changed": True, "wrote": ["web.service"],
          "removed": [], "reloaded": True, "generation": 3, "seconds": 1.0, "plan": plan,
          "units": [unit]}
if sys.argv[1] == "validate":
    print(json.dumps({"ok": True})); sys.exit(0)
if sys.argv[1] == "plan":
    print(json.dumps(plan)); sys.exit(2)
if os.environ.get("STUB_FAIL"):
    broken = dict(unit, ok=False, active="failed", sub="failed", journal="broken on purpose")
    failed = dict(report, ok=False, generation=4, units=[broken])
    print(json.dumps({"ok": False, "apply": failed, "rollback": dict(report, generation=5)}))
    sys.exit(1)
print(json.dumps(report))
"""


def load_plugin(kind: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_plugin_{name}", PLUGINS / kind / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ansible_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "ansible"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_REMOTE_TMP": str(tmp_path / "ansible-remote"),
        "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "tests" / "support" / "ansible_callbacks"),
        "ANSIBLE_STDOUT_CALLBACK": "results",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
        **extra,
    }


def playbook(tmp_path: Path, task: dict[str, Any], *extra: str, **env: str) -> dict[str, Any]:
    """Run one task on localhost; that host's result."""
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": [task]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play))
    argv = [str(BIN / "ansible-playbook"), "-i", "localhost,", str(path), *extra]
    done = subprocess.run(argv, env=ansible_env(tmp_path, **env), capture_output=True, text=True)
    assert done.stdout.startswith("{"), done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)["tasks"][-1]["hosts"]["localhost"]
    return result


@pytest.fixture
def stub(tmp_path: Path) -> dict[str, Any]:
    """A stand-in orchestrator, a user unit directory holding OLD, definitions to push."""
    diff = UnitChange("web.service", "change", "container", OLD, NEW).diff()
    script = tmp_path / "orchestrator-stub.py"
    script.write_text(STUB.replace("DIFF", repr(diff)))
    config = tmp_path / "config"
    (config / "systemd" / "user").mkdir(parents=True)
    (config / "systemd" / "user" / "web.service").write_text(OLD + "[X-Orchestrator]\n")
    src = tmp_path / "src"
    (src / "env").mkdir(parents=True)
    (src / "web.toml").write_text('[container.web]\nimage = "x"\n')
    (src / "env" / "web.env").write_text("A=1\n")
    (src / "env" / "web.env").chmod(0o600)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "gone.toml").write_text("# dropped from src\n")
    task = {"orchestrator.orchestrator.apply": {
        "src": str(src), "dest": str(dest), "user": True, "timeout": 30,
        "command": [sys.executable, str(script)],
    }}  # fmt: skip
    env = {"XDG_CONFIG_HOME": str(config), "STUB_LOG": str(tmp_path / "calls")}
    return {"task": task, "env": env, "dest": dest, "calls": tmp_path / "calls"}


def calls(stub: dict[str, Any]) -> list[list[str]]:
    """The arguments of each run of the stand-in orchestrator."""
    return [json.loads(line)["argv"] for line in stub["calls"].read_text().splitlines()]


def test_an_apply_copies_exactly_the_definitions_and_reports_the_units(
    tmp_path: Path, stub: dict[str, Any]
) -> None:
    result = playbook(tmp_path, stub["task"], "--diff", **stub["env"])
    assert result["changed"] and result["generation"] == 3 and not result["rolled_back"], result
    assert result["copied"] == ["env/web.env", "web.toml"] and result["removed"] == ["gone.toml"]
    assert sorted(p.name for p in stub["dest"].rglob("*") if p.is_file()) == ["web.env", "web.toml"]
    assert result["units"][0]["done"] == ["write", "restart"]
    assert (stub["dest"] / "env" / "web.env").stat().st_mode & 0o777 == 0o600
    [diff] = result["diff"]
    assert diff["before"] == OLD + "[X-Orchestrator]\n" or diff["before"].startswith(OLD)
    assert "--env=A=1" in diff["after"] and "--env=A=1" not in diff["before"]
    validate, apply = calls(stub)
    assert validate[:3] == ["validate", "--json", "--user"] and validate[3] != str(stub["dest"])
    assert apply == ["apply", "--json", "--timeout", "30.0", "--user", str(stub["dest"])]


def test_check_mode_plans_and_leaves_the_definitions_directory_alone(
    tmp_path: Path, stub: dict[str, Any]
) -> None:
    result = playbook(tmp_path, stub["task"], "--check", "--diff", **stub["env"])
    assert result["changed"] and result["copied"] == ["env/web.env", "web.toml"], result
    assert [p.name for p in stub["dest"].iterdir()] == ["gone.toml"]
    assert [argv[:3] for argv in calls(stub)] == [["validate", "--json", "--user"],
                                                  ["plan", "--json", "--user"]]  # fmt: skip
    assert "--env=A=1" in result["diff"][0]["after"]
    run = [json.loads(line) for line in stub["calls"].read_text().splitlines()][-1]
    if not result.get("warnings"):  # planned in dest, where a private mount shows the new files
        assert run["argv"][-1] == str(stub["dest"]) and run["seen"] == ["env", "web.toml"], run
    else:  # no namespace to be had here: planned from a staging directory, and said so
        assert run["argv"][-1] != str(stub["dest"]) and run["seen"] == ["env", "web.toml"], run


def test_a_failed_apply_fails_the_task_with_the_journal_and_says_it_rolled_back(
    tmp_path: Path, stub: dict[str, Any]
) -> None:
    stub["task"]["orchestrator.orchestrator.apply"]["rollback_on_failure"] = True
    result = playbook(tmp_path, stub["task"], **stub["env"], STUB_FAIL="1")
    assert result["failed"] and result["rolled_back"] and result["generation"] == 5, result
    assert "broken on purpose" in result["msg"] and "rolled back to generation 5" in result["msg"]
    assert "--rollback-on-failure" in calls(stub)[-1]


def test_a_vault_encrypted_file_reaches_the_host_decrypted(
    tmp_path: Path, stub: dict[str, Any]
) -> None:
    secret = Path(stub["task"]["orchestrator.orchestrator.apply"]["src"]) / "env" / "web.env"
    password = tmp_path / "vault-password"
    password.write_text("not a real secret\n")
    argv = [str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password),
            str(secret)]  # fmt: skip
    done = subprocess.run(argv, env=ansible_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0 and secret.read_text().startswith("$ANSIBLE_VAULT"), done.stderr
    result = playbook(tmp_path, stub["task"], "--vault-password-file", str(password),
                      **stub["env"])  # fmt: skip
    assert not result.get("failed"), result
    assert (stub["dest"] / "env" / "web.env").read_text() == "A=1\n"


def test_invalid_definitions_fail_the_task_and_leave_dest_as_it_was(
    tmp_path: Path, stub: dict[str, Any]
) -> None:
    task = stub["task"]["orchestrator.orchestrator.apply"]
    (Path(task["src"]) / "web.toml").write_text('[container.web]\nimage = "x"\nports = ["no"]\n')
    task["command"] = [sys.executable, "-m", "orchestrator"]  # the real one: validate only
    result = playbook(tmp_path, stub["task"], **stub["env"])
    assert result["failed"], result
    assert f"{stub['dest']}/web.toml: container.web.ports[0]: expected" in result["msg"]
    assert [p.name for p in stub["dest"].iterdir()] == ["gone.toml"]


def test_a_fleet_host_gets_its_merge_one_file_per_resource(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    task = {"orchestrator.orchestrator.apply": {
        "fleet": str(ROOT / "examples" / "fleet"), "fleet_host": "web-2", "dest": str(dest),
        "command": [sys.executable, "-c", 'print(\'{"ok": true, "changed": false}\')'],
    }}  # fmt: skip
    result = playbook(tmp_path, task, "--check")
    assert result["copied"] == ["container-web.toml", "container-worker.toml"], result
    assert "planned from a staging directory" in result["warnings"][0]  # dest does not exist


def test_an_invalid_fleet_fails_on_the_controller_naming_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "fleet" / "base").mkdir(parents=True)
    (tmp_path / "fleet" / "fleet.toml").write_text("[host.a]\n")
    (tmp_path / "fleet" / "base" / "web.toml").write_text(
        '[container.web]\nimage = "x"\nports = ["no"]\n'
    )
    task = {"orchestrator.orchestrator.apply": {"fleet": str(tmp_path / "fleet"),
                                                "fleet_host": "a"}}  # fmt: skip
    result = playbook(tmp_path, task)
    assert result["failed"] and "base/web.toml: container.web.ports[0]" in result["msg"], result


def test_the_inventory_has_the_fleet_hosts_groups_and_resolved_variables(tmp_path: Path) -> None:
    source = tmp_path / "inventory.fleet.yml"
    source.write_text(f"plugin: orchestrator.orchestrator.fleet\nrepo: {ROOT / 'examples/fleet'}\n")
    argv = [str(BIN / "ansible-inventory"), "-i", str(source), "--list"]
    done = subprocess.run(argv, env=ansible_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert sorted(found["web"]["hosts"]) == ["web-1", "web-2"]
    web2 = found["_meta"]["hostvars"]["web-2"]
    # strings come marked unsafe: fleet variables are data for orchestrator, never templates
    assert web2["orchestrator_fleet_host"] == {"__ansible_unsafe": "web-2"}
    assert web2["web_port"] == 8081


def test_the_module_documents_exactly_its_arguments() -> None:
    module = load_plugin("modules", "apply")
    options = yaml.safe_load(module.DOCUMENTATION)["options"]
    spec = {k: v for k, v in module.ARGUMENT_SPEC.items() if not k.startswith("_")}
    assert sorted(options) == sorted(spec)
    for name, argument in spec.items():
        documented = {k: options[name][k] for k in ("type", "default", "elements")
                      if k in options[name]}  # fmt: skip
        assert documented == argument, name
    for block in ("EXAMPLES", "RETURN"):
        assert yaml.safe_load(getattr(module, block))


@pytest.mark.parametrize(("kind", "name"), [("module", "apply"), ("inventory", "fleet"),
                                            ("connection", "sandbox")])  # fmt: skip
def test_ansible_doc_reads_each_plugin(kind: str, name: str, tmp_path: Path) -> None:
    argv = [str(BIN / "ansible-doc"), "-t", kind, "-j", f"orchestrator.orchestrator.{name}"]
    done = subprocess.run(argv, env=ansible_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    assert json.loads(done.stdout)[f"orchestrator.orchestrator.{name}"]["doc"]["description"]


@given(st.lists(st.sampled_from(["a\n", "b\n", "c\n", "[X]\n", "\n"]), max_size=12),
       st.lists(st.sampled_from(["a\n", "b\n", "d\n", "[X]\n", "\n"]), max_size=12))  # fmt: skip
def test_a_units_after_text_is_rebuilt_from_its_before_text_and_diff(
    old: list[str], new: list[str]
) -> None:
    patched = load_plugin("modules", "apply").patched
    diff = UnitChange("u.service", "change", "container", "".join(old), "".join(new)).diff()
    assert patched("".join(old), diff) == "".join(new)


def test_the_collection_builds(tmp_path: Path) -> None:
    argv = [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)]
    done = subprocess.run(argv, cwd=COLLECTION, env=ansible_env(tmp_path), capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / "orchestrator-orchestrator-0.1.0.tar.gz") as archive:
        names = archive.getnames()
    assert {"plugins/modules/apply.py", "plugins/action/apply.py", "plugins/inventory/fleet.py",
            "plugins/connection/sandbox.py", "playbooks/push.yml"} <= set(names)  # fmt: skip


@pytest.mark.skipif(not (BIN / "ansible-lint").exists(), reason="ansible-lint is not installed")
def test_ansible_lint_passes_on_the_collection(tmp_path: Path) -> None:
    env = ansible_env(tmp_path, HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run([str(BIN / "ansible-lint"), "--offline", "--nocolor"], cwd=COLLECTION,
                          env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def test_the_readme_shows_the_collections_playbook() -> None:
    playbook = (COLLECTION / "playbooks" / "push.yml").read_text()
    play = playbook[playbook.index("- name: Push orchestrator definitions") :]
    assert play in (ROOT / "README.md").read_text()
