"""Where definitions and units live by default, in system and in user mode."""

from __future__ import annotations

import os
from collections.abc import Mapping


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


SYSTEM_UNIT_PATH = (
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
)


def unit_search_path(user: bool, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every directory systemd loads unit files from, highest priority first: systemd.unit(5),
    what `systemd-analyze [--user] unit-paths` prints (SYSTEMD_UNIT_PATH as systemd reads it:
    its directories, and the defaults after them when it ends with a colon)."""
    env = os.environ if environ is None else environ
    defaults = _user_unit_path(env) if user else list(SYSTEM_UNIT_PATH)
    override = env.get("SYSTEMD_UNIT_PATH")
    if override is None:
        return defaults
    given = [d for d in override.split(":") if os.path.isabs(d)]
    return given + defaults if override.endswith(":") else given


def _user_unit_path(env: Mapping[str, str]) -> list[str]:
    home = env.get("HOME") or os.path.expanduser("~")
    config = _absolute(env.get("XDG_CONFIG_HOME")) or os.path.join(home, ".config")
    data = _absolute(env.get("XDG_DATA_HOME")) or os.path.join(home, ".local", "share")
    config_dirs = _absolute_list(env.get("XDG_CONFIG_DIRS")) or ["/etc/xdg"]
    data_dirs = _absolute_list(env.get("XDG_DATA_DIRS")) or ["/usr/local/share", "/usr/share"]
    runtime = _absolute(env.get("XDG_RUNTIME_DIR"))

    def run(leaf: str) -> list[str]:  # without XDG_RUNTIME_DIR the manager has none of these
        return [os.path.join(runtime, "systemd", leaf)] if runtime else []

    found = [
        os.path.join(config, "systemd", "user.control"),
        *run("user.control"),
        *run("transient"),
        *run("generator.early"),
        os.path.join(config, "systemd", "user"),
        *(os.path.join(d, "systemd", "user") for d in config_dirs),
        "/etc/systemd/user",
        *run("user"),
        "/run/systemd/user",
        *run("generator"),
        os.path.join(data, "systemd", "user"),
        *(os.path.join(d, "systemd", "user") for d in data_dirs),
        "/usr/local/lib/systemd/user",
        "/usr/local/share/systemd/user",
        "/usr/lib/systemd/user",
        "/usr/share/systemd/user",
        "/lib/systemd/user",
        *run("generator.late"),
    ]
    return list(dict.fromkeys(found))  # the first of the same directory counts, as in systemd


def _absolute(value: str | None) -> str | None:
    """systemd ignores relative XDG directories, as the XDG spec says to."""
    return value if value and os.path.isabs(value) else None


def _absolute_list(value: str | None) -> list[str]:
    return [d for d in (value or "").split(":") if os.path.isabs(d)]
