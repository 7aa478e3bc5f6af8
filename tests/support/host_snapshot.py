"""What the integration tests compare before and after: sandbox cgroups, every process's cgroups,
the account files, the port forwarding podman wrote into the host's firewall, the bridges of
sandbox networks."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

from orchestrator.sandbox.machine import CGROUP_PREFIX


def cgroup_dirs() -> list[str]:
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        found += [os.path.join(top, d) for d in dirs if d.startswith(CGROUP_PREFIX)]
    return found


def host_cgroups() -> dict[tuple[int, str], str]:
    """Every process's cgroups, by PID and start time (a reused PID is another process)."""
    groups = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                started = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[19]
                groups[(int(entry), started)] = Path(f"/proc/{entry}/cgroup").read_text()
    return groups


def systemd_processes() -> set[tuple[int, str]]:
    """Processes running a systemd binary (a sandbox's manager and its helpers), by PID and start
    time; those present before the tests (a host that runs systemd) are not ours."""
    return {
        key
        for key in host_cgroups()
        if _cmdline(key[0]).startswith(b"/lib/systemd/systemd")
        or b"sandbox-setup" in _cmdline(key[0])
    }


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


ACCOUNTS = ("passwd", "group", "shadow", "gshadow", "subuid", "subgid")


def port_forwards() -> set[str]:
    """The port forwarding rules podman (netavark) keeps in the host's firewall, which sandboxes
    share: one per published container, removed when podman removes the container."""
    if shutil.which("iptables") is None:
        return set()
    listed = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True)
    return {line for line in listed.stdout.splitlines() if "dnat name:" in line}


def idle_bridges() -> set[str]:
    """Bridges of podman networks (podmanN) with nothing attached: what a sandbox's network
    leaves in the host's namespace when the sandbox is gone (podman0, the default network every
    sandbox shares, is left to podman)."""
    found = set()
    for entry in Path("/sys/class/net").iterdir():
        ports = entry / "brif"
        ours = entry.name.startswith("podman") and entry.name != "podman0"
        if ours and ports.is_dir() and not any(ports.iterdir()):
            found.add(entry.name)
    return found
