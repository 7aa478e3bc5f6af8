"""What the integration tests compare before and after: sandbox cgroups, every process's cgroups,
the account files."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from orchestrator.sandbox import CGROUP_PREFIX


def cgroup_dirs() -> list[str]:
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        found += [os.path.join(top, d) for d in dirs if d.startswith(CGROUP_PREFIX)]
    return found


def host_cgroups() -> dict[int, str]:
    groups = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                groups[int(entry)] = Path(f"/proc/{entry}/cgroup").read_text()
    return groups


ACCOUNTS = ("passwd", "group", "shadow", "gshadow", "subuid", "subgid")
