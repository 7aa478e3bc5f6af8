"""Runs last (file order): after every sandbox of the integration tests is gone, nothing of them
is left on the host, and the host itself is as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.host_snapshot import (
    ACCOUNTS,
    cgroup_dirs,
    host_cgroups,
    idle_bridges,
    port_forwards,
    systemd_processes,
)
from tests.support.sandboxes import STATE

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes need root"),
]


def test_nothing_of_the_sandboxes_is_left_and_the_host_is_unchanged(
    host_before: dict[str, object],
) -> None:
    before_cgroups = host_before["sandbox_cgroups"]
    assert isinstance(before_cgroups, set)
    assert not set(cgroup_dirs()) - before_cgroups, "sandbox cgroup directories left"
    assert not os.path.exists(STATE) or not os.listdir(STATE), os.listdir(STATE)
    systemd_before = host_before["systemd"]
    assert isinstance(systemd_before, set)
    assert not systemd_processes() - systemd_before, "sandbox processes left"
    with open("/proc/self/mountinfo") as handle:
        assert STATE not in handle.read()
    marker = host_before["marker"]
    assert isinstance(marker, Path) and marker.read_text() == "still here", "/tmp was emptied"
    marker.unlink()
    assert Path("/proc/1/cgroup").read_text() == host_before["pid1"]
    old = host_before["cgroups"]
    assert isinstance(old, dict)
    moved = {key for key, text in host_cgroups().items() if key in old and old[key] != text}
    assert not moved, f"host processes changed cgroup: {sorted(moved)}"
    accounts = host_before["accounts"]
    assert isinstance(accounts, dict)
    for name in ACCOUNTS:
        if name in accounts:
            assert Path("/etc", name).read_bytes() == accounts[name], f"/etc/{name} changed"
    forwards = host_before["port_forwards"]
    assert isinstance(forwards, set)
    assert not port_forwards() - forwards, "port forwarding of sandbox containers left behind"
    bridges = host_before["bridges"]
    assert isinstance(bridges, set)
    assert not idle_bridges() - bridges, "bridges of sandbox networks left behind"
    if host_before["tun"] is not None:
        assert os.stat("/dev/net/tun").st_mode == host_before["tun"], "/dev/net/tun changed"
