"""Unit overrides may tie a container to the units the definitions declare and to systemd's own
targets, never to units orchestrator does not own (the refusals are cases in tests/bad/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.core.loader import load
from orchestrator.core.reach import REACHING
from orchestrator.errors import DefinitionError

IMAGE = 'image = "docker.io/library/nginx:1.27"'


def _load(tmp_path: Path, override: str) -> list[str]:
    """The problems of a definition of web (with the override) and, in another file, db."""
    (tmp_path / "web.toml").write_text(f"[container.web]\n{IMAGE}\n{override}\n")
    (tmp_path / "db.toml").write_text(f"[container.db]\n{IMAGE}\n[volume.data]\n")
    try:
        load([str(tmp_path)])
    except DefinitionError as exc:
        return [str(p) for p in exc.problems]
    return []


@pytest.mark.parametrize(
    "override",
    [
        'unit.Install.WantedBy = "multi-user.target"',
        'unit.Install.WantedBy = ["default.target", "graphical.target"]',
        'unit.Install.RequiredBy = "db.service"',  # declared in another file
        'unit.Unit.Wants = "network-online.target time-sync.target"',
        'unit.Unit.Requires = "data-volume.service"',
        'unit.Unit.BindsTo = "db.service"',
        'unit.Unit.PartOf = "%n"',  # its own name, by specifier
        'unit.Unit.Conflicts = "db.service"',
        'unit.Unit.OnFailure = "%p.service"',
        'unit.Unit.After = "ssh.service cron.service"',  # orders only the container itself
        'unit.Unit.Before = "multi-user.target"',
        'unit.Service.Slice = "machine.slice"',
        "unit.Service.Nice = 5",
    ],
)
def test_overrides_within_our_units_and_systemd_targets_are_accepted(
    tmp_path: Path, override: str
) -> None:
    assert _load(tmp_path, override) == []


@pytest.mark.parametrize("directive", sorted(REACHING))
def test_every_reaching_directive_refuses_a_foreign_service(tmp_path: Path, directive: str) -> None:
    section = "Install" if directive.endswith("By") else "Unit"
    problems = _load(tmp_path, f'unit.{section}.{directive} = "sshd.service"')
    assert len(problems) == 1
    assert f"web.toml: container.web.unit.{section}.{directive}: {directive}= names" in problems[0]
    assert '"sshd.service", a unit orchestrator does not own' in problems[0]


def test_a_unit_named_by_an_unresolvable_specifier_is_refused(tmp_path: Path) -> None:
    (problem,) = _load(tmp_path, 'unit.Unit.Wants = "%i.service"')
    assert "specifier %i" in problem
