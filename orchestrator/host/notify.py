"""Telling systemd how a Type=notify service is doing (sd_notify, through pystemd's binding of
libsystemd). Does nothing when not run by systemd."""

from __future__ import annotations

import os


def notify(*fields: str) -> bool:
    """Send e.g. "READY=1", "STATUS=..." or "STOPPING=1"; True if systemd was told."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return False  # not under systemd: not even libsystemd needs loading
    from pystemd import daemon  # type: ignore[import-untyped]

    # sd_notify: > 0 sent, 0 no socket to send to, < 0 -errno (the socket is gone, say)
    sent: int = daemon.notify(False, *fields)
    return sent > 0
