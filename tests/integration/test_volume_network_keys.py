"""The volume and network keys of issue 12 on a real podman 4.3 inside a sandbox systemd: a
volume owned as declared, copy = false, an image-backed volume, an internal network with
several subnets that gives its containers an address from the declared range and no way out, and
a network removed when its unit stops."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF
from tests.support.sandboxes import booted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
ROOT = Path(__file__).resolve().parents[2]
SLEEP = json.dumps(["sleep", "100000"])

DEFINITION = f"""[volume.owned]
uid = 1234
gid = 2345

[volume.bare]
copy = false

[volume.copied]

[volume.tools]
image = "{DEFAULT_REF}"

[network.isolated]
internal = true
ipam_driver = "host-local"
subnets = [
  {{ subnet = "10.89.77.0/24", gateway = "10.89.77.1", ip_range = "10.89.77.128/25" }},
  "10.89.78.0/24",
]
labels = {{ purpose = "test" }}

[network.open]
subnet = "10.89.79.0/24"

[network.transient]
delete_on_stop = true

[container.inside]
image = "{DEFAULT_REF}"
command = {SLEEP}
init = true
volumes = ["owned:/owned", "bare:/etc", "tools:/tools:ro"]
networks = ["isolated"]

[container.outside]
image = "{DEFAULT_REF}"
command = {SLEEP}
init = true
volumes = ["copied:/etc"]
networks = ["open"]
"""


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with booted("netvol") as sandbox:
        defs = sandbox.share / "defs"
        defs.mkdir(parents=True)
        (defs / "storage.toml").write_text(DEFINITION)
        # this checkout's code, not whichever one the venv's editable install points at
        argv = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator", "apply"]
        done = sandbox.run([*argv, str(defs)], check=False, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        yield sandbox


def in_container(box: Sandbox, name: str, script: str) -> str:
    return box.run(["podman", "exec", name, "sh", "-c", script]).stdout


def test_a_volume_is_owned_by_the_declared_uid_and_gid(box: Sandbox) -> None:
    assert in_container(box, "inside", "stat -c %u:%g /owned").strip() == "1234:2345"


def test_copy_false_leaves_the_image_s_files_out_of_the_volume(box: Sandbox) -> None:
    assert in_container(box, "inside", "ls /etc/group || true").strip() == ""
    # the control: podman's default copies them into an empty volume
    assert in_container(box, "outside", "ls /etc/group").strip() == "/etc/group"


def test_an_image_volume_holds_the_image_s_files(box: Sandbox) -> None:
    assert in_container(box, "inside", "ls /tools/bin/busybox").strip() == "/tools/bin/busybox"
    driver = box.run(["podman", "volume", "inspect", "--format", "{{.Driver}}", "tools"])
    assert driver.stdout.strip() == "image"


def test_an_internal_network_gives_an_address_from_the_range_and_no_route_out(
    box: Sandbox,
) -> None:
    address = in_container(box, "inside", "ip -4 -o addr show scope global").split()
    ours = next(word for word in address if word.startswith("10.89.77."))
    assert int(ours.split("/")[0].rsplit(".", 1)[1]) >= 128, address  # inside ip_range
    assert "default" not in in_container(box, "inside", "ip route")
    # the control: a network that is not internal routes out through its gateway
    assert "default" in in_container(box, "outside", "ip route")


def test_the_second_subnet_and_the_label_are_the_network_s(box: Sandbox) -> None:
    inspect = box.run(["podman", "network", "inspect", "isolated"]).stdout
    network = json.loads(inspect)[0]
    subnets = {s["subnet"]: s.get("gateway") for s in network["subnets"]}
    assert set(subnets) == {"10.89.77.0/24", "10.89.78.0/24"}
    assert subnets["10.89.77.0/24"] == "10.89.77.1"
    assert network["internal"] is True and network["labels"] == {"purpose": "test"}


def test_a_network_deleted_on_stop_goes_with_its_unit_and_comes_back_with_it(box: Sandbox) -> None:
    exists = ["podman", "network", "exists", "transient"]
    assert box.run(exists, check=False).returncode == 0
    box.run(["systemctl", "stop", "transient-network.service"])
    assert box.run(exists, check=False).returncode != 0
    box.run(["systemctl", "start", "transient-network.service"])
    assert box.run(exists, check=False).returncode == 0
    # the control: a network without it outlives its unit (this stops "outside": the last test)
    box.run(["systemctl", "stop", "open-network.service"])
    assert box.run(["podman", "network", "exists", "open"], check=False).returncode == 0
