"""What the host looked like before the integration tests, for the leak test that runs last."""

from __future__ import annotations

import contextlib
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


@pytest.fixture(scope="session", autouse=True)
def host_before() -> dict[str, object]:
    marker = Path("/tmp") / f"orchestrator-leak-marker-{os.getpid()}"
    marker.write_text("still here")
    accounts = {}
    for name in ACCOUNTS:
        with contextlib.suppress(OSError):
            accounts[name] = Path("/etc", name).read_bytes()
    return {
        "marker": marker,
        "cgroups": host_cgroups(),
        "systemd": systemd_processes(),
        "pid1": Path("/proc/1/cgroup").read_text(),
        "sandbox_cgroups": set(cgroup_dirs()),  # sandboxes of others, running before we started
        "accounts": accounts,
        "tun": os.stat("/dev/net/tun").st_mode if os.path.exists("/dev/net/tun") else None,
        "port_forwards": port_forwards(),
        "bridges": idle_bridges(),
    }
