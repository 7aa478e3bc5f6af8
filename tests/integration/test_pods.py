"""Pods, and the other ways of sharing what podman runs, on a real podman 4.3 inside a sandbox
systemd: a pod of two containers that talk over localhost and publish a port on the pod; a
container in another's network namespace; a rootfs; optional devices."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF
from tests.support.polling import until
from tests.support.sandboxes import booted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
ROOT = Path(__file__).resolve().parents[2]
PORT = 38417  # the sandbox shares the host's network: a port nothing else here publishes
SERVE = json.dumps(
    ["sh", "-c", "mkdir -p /www && echo hello from web > /www/index.html && "
     "exec httpd -f -p 80 -h /www"]
)  # fmt: skip
SLEEP = json.dumps(["sleep", "100000"])
ROOTFS = "/srv/rootfs"


def definitions(client_env: str, tier: str) -> dict[str, str]:
    return {
        "pod.toml": f"""[pod.app]
ports = ["{PORT}:80"]
labels = {{ tier = "{tier}" }}

[container.web]
image = "{DEFAULT_REF}"
pod = "app"
command = {SERVE}

[container.client]
image = "{DEFAULT_REF}"
pod = "app"
command = {SLEEP}
init = true
environment = {{ VERSION = "{client_env}" }}
""",
        "others.toml": f"""[container.solo]
image = "{DEFAULT_REF}"
command = {SERVE}

[container.side]
image = "{DEFAULT_REF}"
networks = ["container:solo"]
command = {SLEEP}
init = true

[container.rooted]
rootfs = "{ROOTFS}"
command = {SLEEP}
init = true
devices = ["-/dev/no-such-device", "-/dev/zero:/dev/optional-zero", "/dev/full"]
""",
    }


def apply(box: Sandbox, client_env: str, tier: str = "web") -> str:
    defs = box.share / "defs"
    defs.mkdir(parents=True, exist_ok=True)
    for name, text in definitions(client_env, tier).items():
        (defs / name).write_text(text)
    # this checkout's code, not whichever one the venv's editable install points at
    argv = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator", "apply"]
    done = box.run([*argv, str(defs)], check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def unpack_rootfs(box: Sandbox) -> None:
    script = (
        f"mkdir -p {ROOTFS} && c=$(podman create {DEFAULT_REF}) && "
        f'podman export "$c" | tar -x -C {ROOTFS} && podman rm "$c"'
    )
    box.run(["sh", "-c", script], timeout=120)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with booted("pods") as sandbox:
        unpack_rootfs(sandbox)
        apply(sandbox, "1")
        yield sandbox


def active(box: Sandbox, unit: str) -> str:
    return box.run(["systemctl", "is-active", unit], check=False).stdout.strip()


def pid(box: Sandbox, container: str) -> str:
    return box.run(["podman", "inspect", "--format", "{{.State.Pid}}", container]).stdout.strip()


def fetch(box: Sandbox, container: str, url: str) -> str:
    return box.run(["podman", "exec", container, "wget", "-qO-", url], check=False).stdout


def test_the_members_of_a_pod_talk_over_localhost(box: Sandbox) -> None:
    until(lambda: "hello from web" in fetch(box, "client", "http://localhost:80/"), 20,
          "client reaching web over the pod's localhost")  # fmt: skip


def test_the_port_published_on_the_pod_answers_outside(box: Sandbox) -> None:
    code = f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{PORT}/').read().decode())"
    until(lambda: "hello from web" in box.run([sys.executable, "-c", code], check=False).stdout,
          20, f"web answering on the pod's published port {PORT}")  # fmt: skip


def test_a_container_in_another_s_network_namespace_reaches_it_over_localhost(
    box: Sandbox,
) -> None:
    until(lambda: "hello from web" in fetch(box, "side", "http://localhost:80/"), 20,
          "side reaching solo in the network namespace it joined")  # fmt: skip


def test_a_rootfs_runs_and_optional_devices_are_passed_when_present(box: Sandbox) -> None:
    assert active(box, "rooted.service") == "active"
    devices = box.run(["podman", "exec", "rooted", "ls", "/dev"]).stdout.split()
    assert "optional-zero" in devices and "full" in devices, devices
    assert "no-such-device" not in devices, devices


def test_restarting_a_changed_member_leaves_its_sibling_and_the_pod_running(
    box: Sandbox,
) -> None:
    web, client, infra = pid(box, "web"), pid(box, "client"), pid(box, "app-infra")
    out = apply(box, "2")
    assert pid(box, "client") != client, out
    assert (pid(box, "web"), pid(box, "app-infra")) == (web, infra), out
    assert active(box, "client.service") == "active"


def test_a_changed_pod_restarts_with_its_members_and_plan_says_so(box: Sandbox) -> None:
    before = {name: pid(box, name) for name in ("web", "client", "app-infra", "solo")}
    out = apply(box, "2", tier="shop")
    assert "restart web.service: it is bound to app-pod.service, which restarts" in out, out
    after = {name: pid(box, name) for name in before}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"web", "client", "app-infra"}, (before, after, out)
    until(lambda: "hello from web" in fetch(box, "client", "http://localhost:80/"), 20,
          "client reaching web again in the new pod")  # fmt: skip


def test_stopping_the_pod_stops_its_members_and_starting_a_member_starts_the_pod(
    box: Sandbox,
) -> None:
    box.run(["systemctl", "stop", "app-pod.service"], timeout=120)
    # "failed" too: a container ended by SIGTERM exits 143, as outside a pod
    assert {active(box, u) for u in ("web.service", "client.service")} <= {"inactive", "failed"}
    assert box.run(["podman", "pod", "exists", "app"], check=False).returncode != 0
    assert box.run(["podman", "container", "exists", "web"], check=False).returncode != 0
    box.run(["systemctl", "start", "web.service"], timeout=120)
    assert active(box, "app-pod.service") == "active"
    until(lambda: "hello from web" in fetch(box, "web", "http://localhost:80/"), 20,
          "web serving again in the pod started for it")  # fmt: skip


def test_starting_the_pod_starts_its_enabled_members(box: Sandbox) -> None:
    box.run(["systemctl", "stop", "app-pod.service"], timeout=120)
    box.run(["systemctl", "start", "app-pod.service"], timeout=120)
    until(lambda: [active(box, u) for u in ("web.service", "client.service")] == ["active"] * 2,
          30, "both members started with their pod")  # fmt: skip
