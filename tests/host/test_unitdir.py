"""The unit directory: modes of the files we write."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.host.unitdir import carries_values, write_atomic

MARKED = "[Service]\nExecStart=/bin/true\n\n[X-Orchestrator]\nKind=container\nName=web\n"
WITH_ENV = (
    "[Service]\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\n"
    'ExecStart=/usr/bin/podman run --name=web "--env=TOKEN=s3 cret" img\n'
)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        (WITH_ENV, 0o600),
        ("[Service]\nExecStart=/usr/bin/podman run --env=A=1 img\n", 0o600),
        ("[Service]\nExecStart=/usr/bin/podman run -e A=1 img\n", 0o600),
        ("[Service]\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\nEnvironment=TOKEN=x\n", 0o600),
        ("[Service]\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\nExecStart=/usr/bin/podman run i\n", 0o644),
        ("[Service]\nExecStart=/usr/bin/podman run --env-file=/etc/web.env img\n", 0o644),
    ],
)
def test_a_unit_file_carrying_environment_values_is_readable_by_its_owner_only(
    tmp_path: Path, open_umask: None, text: str, mode: int
) -> None:
    write_atomic(str(tmp_path), "web.service", text)
    assert stat.S_IMODE((tmp_path / "web.service").stat().st_mode) == mode
    assert carries_values(text) == (mode == 0o600)


def test_writing_a_unit_fsyncs_the_file_and_then_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_atomic(str(tmp_path), "web.service", MARKED)
    assert synced == [str(tmp_path / ".web.service.tmp"), str(tmp_path)]
