"""`orchestrator fleet` as a reviewer and a bot use it: every host's result even when one host is
invalid, directories that reach no host, and explain after a removal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support import ROOT
from tests.support.cli import run_inline

EXAMPLE = ROOT / "examples" / "fleet"


def example(tmp_path: Path, files: dict[str, str]) -> str:
    repo = tmp_path / "fleet"
    shutil.copytree(EXAMPLE, repo)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    return str(repo)


BROKEN = {"hosts/web-2/ports.toml": '[container.extra]\nimage = "busybox"\nports = ["80:x"]\n'}


def test_plan_all_json_gives_every_host_s_result_when_one_host_is_invalid(
    tmp_path: Path,
) -> None:
    result = run_inline("fleet", "plan", example(tmp_path, BROKEN), "--all", "--json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and sorted(payload["hosts"]) == ["db-1", "web-1", "web-2"]
    assert payload["hosts"]["web-1"]["ok"] is True and payload["hosts"]["web-1"]["changed"]
    broken = payload["hosts"]["web-2"]
    assert broken["ok"] is False
    assert broken["problems"][0]["file"].endswith("hosts/web-2/ports.toml")
    assert broken["problems"][0]["path"] == "container.extra.ports[0]"


def test_plan_all_prints_the_valid_hosts_plans_and_the_invalid_host_s_errors(
    tmp_path: Path,
) -> None:
    result = run_inline("fleet", "plan", example(tmp_path, BROKEN), "--all", "--no-diff")
    assert result.returncode == 1
    assert "host web-1: 2 to create" in result.stdout
    assert "host web-2: invalid, nothing planned" in result.stdout
    assert "hosts/web-2/ports.toml: container.extra.ports[0]" in result.stderr


def test_plan_all_of_valid_hosts_still_exits_2_for_changes(tmp_path: Path) -> None:
    result = run_inline("fleet", "plan", example(tmp_path, {}), "--all", "--json")
    assert result.returncode == 2
    assert all(h["ok"] for h in json.loads(result.stdout)["hosts"].values())


def test_validate_refuses_host_and_group_directories_that_reach_no_host(tmp_path: Path) -> None:
    repo = example(tmp_path, {
        "hosts/web-3/app.toml": '[volume.v]\n',
        "groups/db/app.toml": '[volume.w]\n',
    })  # fmt: skip
    result = run_inline("fleet", "validate", repo)
    assert result.returncode == 1
    assert "hosts/web-3: no [host.web-3] in fleet.toml" in result.stderr
    assert 'groups/db: no host in fleet.toml has "db" in its groups' in result.stderr
    assert "groups/web" not in result.stderr and "groups/eu" not in result.stderr


def test_explain_shows_a_removal_and_not_the_values_it_removed(tmp_path: Path) -> None:
    repo = example(tmp_path, {
        "base/extra.toml": '[container.extra]\nimage = "busybox:1"\nlabels = { a = "b" }\n',
        "groups/web/no-extra.toml": "[container.extra]\nremove = true\n",
        "hosts/web-1/extra.toml": '[container.extra]\nimage = "busybox:2"\n',
    })  # fmt: skip
    result = run_inline("fleet", "explain", repo, "--host", "web-1", "container.extra.image")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("groups/web/no-extra.toml: container.extra.remove = true")
    assert lines[1].endswith('hosts/web-1/extra.toml: container.extra.image = "busybox:2"')
    assert "base/" not in result.stdout


def test_explain_names_the_fleet_toml_key_that_gave_a_variable_its_value(
    tmp_path: Path,
) -> None:
    repo = example(tmp_path, {})
    result = run_inline("fleet", "explain", repo, "--host", "web-2", "container.web.ports")
    assert result.stdout.splitlines()[1].endswith("fleet.toml: host.web-2.vars.web_port = 8081")
    result = run_inline("fleet", "explain", repo, "--host", "web-1", "container.web.ports")
    assert result.stdout.splitlines()[1].endswith("fleet.toml: defaults.web_port = 8080")
    shown = run_inline("fleet", "explain", repo, "--host", "web-1", "container.worker", "--json")
    assert json.loads(shown.stdout)["variables"] == [
        {"file": f"{repo}/fleet.toml", "key": "group.eu.vars.region", "value": "eu-west"}
    ]


POD_AND_IMAGE = {
    "hosts/db-1/pod.toml": '[pod.backup]\n\n[image.tools]\nimage = "docker.io/library/busybox:1"\n'
}


def test_validate_counts_every_kind_as_validate_does(tmp_path: Path) -> None:
    # pods, images, builds and kubes went uncounted: a host of pods only read "0 containers"
    repo = example(tmp_path, POD_AND_IMAGE)
    text = run_inline("fleet", "validate", repo)
    assert text.returncode == 0, text.stderr
    assert "ok: db-1: 1 container(s), 0 volume(s), 0 network(s), 1 pod(s), 1 image(s)\n" in (
        text.stdout
    )
    assert "ok: web-1: 2 container(s), 0 volume(s), 0 network(s)\n" in text.stdout
    hosts = json.loads(run_inline("fleet", "validate", repo, "--json").stdout)["hosts"]
    assert hosts["db-1"] == {
        "containers": 1, "volumes": 0, "networks": 0, "pods": 1, "images": 1, "builds": 0,
        "kubes": 0,
    }  # fmt: skip
