"""Facts about this host that change what is rendered (read here, passed to the pure core)."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.core.compat import Version


def cgroups_v1() -> bool:
    """True unless /sys/fs/cgroup is the unified (v2) hierarchy; a hybrid layout counts as v1."""
    return not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


@functools.cache
def podman_version() -> Version:
    """The installed podman's version, asked once per run; the oldest supported (4.3) when podman
    is missing or does not say, so that what is refused is never less than on the oldest."""
    # imported here: the compat table pulls in the models, which every command would pay for
    from orchestrator.core.compat import OLDEST, parse_version
    from orchestrator.host import runner  # subprocess, which render and validate never need

    try:
        result = runner.run(["podman", "version", "--format", "{{.Client.Version}}"], check=False)
    except runner.CommandError:
        return OLDEST
    return (parse_version(result.stdout) if result.returncode == 0 else None) or OLDEST
