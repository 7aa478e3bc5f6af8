"""Telling systemd how a Type=notify service is doing (sd_notify), without a library: one
datagram to $NOTIFY_SOCKET. Does nothing when not run by systemd."""

from __future__ import annotations

import contextlib
import os
import socket


def notify(*fields: str) -> bool:
    """Send e.g. "READY=1", "STATUS=..." or "STOPPING=1"; True if systemd was told."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall("\n".join(fields).encode())
        return True
    return False
