"""A fleet host's merge written out as plain definition files (what the Ansible collection's
`fleet` copies to the host): applied as any directory, they give the host the units its pull
would give it."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.core.fleet import host_definitions, load_host, read_fleet
from orchestrator.core.loader import load
from orchestrator.core.render import render
from orchestrator.errors import DefinitionError
from tests.support import ROOT

EXAMPLE = ROOT / "examples" / "fleet"


def without_sources(units: dict[str, str], *roots: Path) -> dict[str, list[str]]:
    """The units, less the lines naming the definition file they came from."""
    return {
        name: [line for line in text.splitlines() if not any(str(r) in line for r in roots)]
        for name, text in units.items()
    }


@pytest.mark.parametrize("host", ["web-1", "web-2", "db-1"])
def test_the_exported_merge_renders_the_units_of_the_host(host: str, tmp_path: Path) -> None:
    fleet = read_fleet(str(EXAMPLE))
    files = host_definitions(fleet, fleet.host(host))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    _, merged = load_host(fleet, fleet.host(host))
    exported = render(load([str(tmp_path)]), "system")
    assert without_sources(exported, tmp_path) == without_sources(render(merged), EXAMPLE)


def test_each_resource_has_a_file_of_its_own_named_after_it() -> None:
    fleet = read_fleet(str(EXAMPLE))
    assert sorted(host_definitions(fleet, fleet.host("web-2"))) == [
        "container-web.toml", "container-worker.toml",
    ]  # fmt: skip


def test_an_invalid_merge_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "fleet.toml").write_text("[host.a]\n")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "web.toml").write_text('[container.web]\nimage = "x"\nports = ["no"]\n')
    fleet = read_fleet(str(tmp_path))
    with pytest.raises(DefinitionError) as caught:
        host_definitions(fleet, fleet.host("a"))
    assert [p.path for p in caught.value.problems] == ["container.web.ports[0]"]
