"""Builds and Kubernetes YAML on a real podman 4.3 inside a sandbox systemd, offline: a build
FROM the test image with a COPY of a context file, rebuilt when that file changes and not
otherwise; and `kube play` of a small pod, removed when its unit stops."""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF
from tests.support.builds import pod_yaml, write_context
from tests.support.polling import until
from tests.support.sandboxes import booted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
ROOT = Path(__file__).resolve().parents[2]
SITE_PORT = 8391
POD_PORT = 8392
BUILDS = f"""[build.site]
context = "./site"
pull = "never"

[container.site]
build = "site"
command = ["httpd", "-f", "-p", "8080", "-h", "/www"]
ports = ["127.0.0.1:{SITE_PORT}:8080"]

[container.bystander]
image = "{DEFAULT_REF}"
command = ["sleep", "100000"]
init = true

[image.base]
image = "{DEFAULT_REF}"
"""
POD = pod_yaml(
    "imagePullPolicy: Never",
    # kube play sets no PATH where the image has none
    'command: ["/bin/httpd", "-f", "-p", "8080", "-h", "/etc"]',
    "ports:",
    "- containerPort: 8080",
    f"  hostPort: {POD_PORT}",
    "  hostIP: 127.0.0.1",
)
KUBE = """[kube.demo]
yaml = "./demo.yaml"
"""


def defs(box: Sandbox) -> Path:
    return box.share / "defs"


def orchestrator(box: Sandbox, *args: str) -> tuple[int, str, str]:
    # this checkout's code, not whichever one the venv's editable install points at
    argv = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator", *args]
    done = box.run([*argv, str(defs(box))], check=False, timeout=300)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with booted("builds") as sandbox:
        write_context(defs(sandbox) / "site", "one\n", copy_to="/www/msg")
        (defs(sandbox) / "builds.toml").write_text(BUILDS)
        (defs(sandbox) / "demo.yaml").write_text(POD)
        (defs(sandbox) / "kube.toml").write_text(KUBE)
        code, out, err = orchestrator(sandbox, "apply")
        assert code == 0, out + err
        yield sandbox


def answer(port: int, path: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=2) as response:
            return str(response.read().decode().strip())
    except (urllib.error.URLError, OSError):
        return ""


def image_id(box: Sandbox) -> str:
    inspect = ["podman", "image", "inspect", "--format", "{{.Id}}", "localhost/site:latest"]
    return box.run(inspect).stdout.strip()


def invocation(box: Sandbox, unit: str) -> str:
    return box.run(["systemctl", "show", "-pInvocationID", "--value", unit]).stdout.strip()


def units(box: Sandbox) -> dict[str, str]:
    names = ["site-build.service", "site.service", "bystander.service", "demo.service",
             "base-image.service"]  # fmt: skip
    return {unit: invocation(box, unit) for unit in names}


def test_the_container_serves_the_file_its_build_copied(box: Sandbox) -> None:
    until(lambda: answer(SITE_PORT, "msg") == "one", 30, "the built site answers one")


def test_an_image_unit_holds_the_image_its_container_requires(box: Sandbox) -> None:
    show = ["systemctl", "show", "-pActiveState", "-pRequires", "bystander.service"]
    assert "base-image.service" in box.run(show).stdout
    state = box.run(["systemctl", "is-active", "base-image.service"], check=False)
    assert state.stdout.strip() == "active"


def test_an_apply_with_nothing_changed_rebuilds_and_restarts_nothing(box: Sandbox) -> None:
    before, image = units(box), image_id(box)
    code, out, err = orchestrator(box, "plan")
    assert code == 0, out + err
    code, out, err = orchestrator(box, "apply")
    assert code == 0, out + err
    assert (units(box), image_id(box)) == (before, image)


def test_a_changed_context_file_is_rebuilt_and_only_its_container_restarts(
    box: Sandbox,
) -> None:
    before, image = units(box), image_id(box)
    (defs(box) / "site" / "msg").write_text("two\n")
    code, out, err = orchestrator(box, "plan")
    assert code == 2 and "rebuild: context changed" in out, out + err
    code, out, err = orchestrator(box, "apply", "--json")
    assert code == 0, out + err
    report = json.loads(out)
    restarted = sorted(o["unit"] for o in report["units"] if "restart" in o["done"])
    assert restarted == ["site-build.service", "site.service"]
    until(lambda: answer(SITE_PORT, "msg") == "two", 30, "the rebuilt site answers two")
    assert image_id(box) != image
    after = units(box)
    assert after["bystander.service"] == before["bystander.service"]
    assert after["demo.service"] == before["demo.service"]
    assert after["base-image.service"] == before["base-image.service"]
    assert after["site.service"] != before["site.service"]


def test_kube_play_runs_the_pod_and_stopping_the_unit_removes_it(box: Sandbox) -> None:
    until(lambda: answer(POD_PORT, "hostname") != "", 30, "the pod of demo.yaml answers")
    assert box.run(["podman", "pod", "exists", "demo"], check=False).returncode == 0
    argv = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator", "status", "--json"]
    services = json.loads(box.run(argv).stdout)["services"]
    assert {row["name"]: row["ok"] for row in services}.get("demo") is True, services
    box.run(["systemctl", "stop", "demo.service"], timeout=120)
    assert box.run(["podman", "pod", "exists", "demo"], check=False).returncode == 1
    assert answer(POD_PORT, "hostname") == ""


def test_the_build_and_kube_example_comes_up_offline() -> None:
    example = ROOT / "examples" / "build-and-kube"
    with booted("build-example") as sandbox:
        shutil.copytree(example, defs(sandbox))
        code, out, err = orchestrator(sandbox, "apply")
        assert code == 0, out + err
        until(lambda: "Built by orchestrator" in answer(8089, "index.html"), 30, "the site")
        until(lambda: answer(8090, "hostname") != "", 30, "the hello pod answers")
        state = sandbox.run(["systemctl", "is-active", "base-image.service"], check=False)
        assert state.stdout.strip() == "active"
