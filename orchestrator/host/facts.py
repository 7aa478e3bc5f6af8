"""Facts about this host that change what is rendered (read here, passed to the pure core)."""

from __future__ import annotations

import os


def cgroups_v1() -> bool:
    """True unless /sys/fs/cgroup is the unified (v2) hierarchy; a hybrid layout counts as v1."""
    return not os.path.exists("/sys/fs/cgroup/cgroup.controllers")
