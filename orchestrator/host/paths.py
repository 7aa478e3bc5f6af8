"""Where definitions and units live by default, in system and in user mode."""

from __future__ import annotations

import os


def _config_home() -> str:
    return os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")


def definitions_dir(user: bool) -> str:
    return os.path.join(_config_home(), "orchestrator") if user else "/etc/orchestrator"


def unit_dir(user: bool) -> str:
    return os.path.join(_config_home(), "systemd", "user") if user else "/etc/systemd/system"


def state_dir(user: bool) -> str:
    """Generations, the apply lock and the record of an unfinished apply."""
    if not user:
        return "/var/lib/orchestrator"
    home = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(home, "orchestrator")
