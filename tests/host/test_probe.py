"""The probe doctor's facts come from: ports tried by binding, files read as they are."""

from __future__ import annotations

import errno
import socket

import pytest

from orchestrator.host import probe


def test_a_port_something_listens_on_is_busy_and_a_free_one_is_not() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        number = holder.getsockname()[1]
        assert probe.port_busy(f"127.0.0.1:{number}/tcp") == "something else listens there"
    assert probe.port_busy(f"127.0.0.1:{number}/tcp") is None


@pytest.mark.parametrize(
    ("code", "says"),
    [(errno.EACCES, "ip_unprivileged_port_start"), (errno.EADDRNOTAVAIL, "not an address")],
)
def test_why_a_port_cannot_be_bound_is_said(code: int, says: str) -> None:
    def refuse(ip: str, number: int, proto: str) -> None:
        raise OSError(code, "refused")

    assert says in (probe.port_busy("10.9.9.9:80/tcp", refuse) or "")


def test_sctp_ports_are_not_tried() -> None:
    def fail(ip: str, number: int, proto: str) -> None:
        raise AssertionError("tried")

    assert probe.port_busy("0.0.0.0:80/sctp", fail) is None


@pytest.mark.tools  # asks the real podman (version, info): half a second of its CPU
def test_the_host_facts_can_always_be_gathered() -> None:
    facts = probe.host("system")  # whatever this host lacks becomes a fact, not an exception
    assert facts.mode == "system"
    assert facts.cgroups in ("v1", "v2", "hybrid")
