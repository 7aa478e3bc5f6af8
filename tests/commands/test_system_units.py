"""A definition whose unit the system already holds is refused by validate, as by render and
plan, naming the file and the resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_inline


@pytest.mark.parametrize("command", ["validate", "render", "plan"])
def test_a_container_named_like_a_unit_of_systemd_itself_is_refused_with_its_file_and_key(
    command: str, tmp_path: Path
) -> None:
    definitions = tmp_path / "journal.toml"
    definitions.write_text(
        '[container.systemd-journald]\nimage = "docker.io/library/busybox:1"\n'
        '[container.fine]\nimage = "docker.io/library/busybox:1"\n'
    )
    extra = {"render": ["--out", str(tmp_path / "out")], "plan": ["--unit-dir", str(tmp_path)]}

    result = run_inline(command, str(definitions), *extra.get(command, []))

    assert result.returncode == 1, result.stdout
    first = result.stderr.splitlines()[0]
    assert first.startswith(
        f"error: {definitions}: container.systemd-journald: its unit systemd-journald.service "
        "belongs to the system ("
    ), result.stderr
    assert not (tmp_path / "out").exists()
