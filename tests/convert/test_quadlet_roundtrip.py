"""export quadlet, then import quadlet, gives back the same definitions: every golden case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.convert.quadlet_in import read_quadlet, toml_files
from orchestrator.convert.quadlet_out import export
from orchestrator.core.loader import load
from orchestrator.core.models import Spec

GOLDEN = Path(__file__).resolve().parents[1] / "core" / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if (p / "input").is_dir())


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def round_trip(spec: Spec, tmp: Path, mode: str = "system") -> Spec:
    quadlet = write(tmp / "quadlet", export(spec, mode))
    definitions = write(tmp / "toml", toml_files(read_quadlet([str(quadlet)])))
    return load([str(definitions)])


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_export_then_import_gives_the_same_definitions(case: Path, tmp_path: Path) -> None:
    mode_file = case / "mode"
    mode = mode_file.read_text().strip() if mode_file.exists() else "system"
    spec = load([str(case / "input")])
    again = round_trip(spec, tmp_path, mode)
    for kind in ("containers", "volumes", "networks"):
        assert differences(getattr(again, kind), getattr(spec, kind)) == {}


def differences(got: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """name -> {key: (got, wanted)} for every key that differs; a missing resource as None."""
    found: dict[str, Any] = {}
    for name in sorted(set(got) | set(want)):
        if name not in got or name not in want:
            found[name] = None
            continue
        a, b = got[name].model_dump(), want[name].model_dump()
        keys = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
        if keys:
            found[name] = keys
    return found


def test_the_round_trip_sees_a_lost_key(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('[container.a]\nimage = "busybox"\ninit = true\n')
    spec = load([str(tmp_path / "a.toml")])
    files = export(spec)
    files["a.container"] = files["a.container"].replace("RunInit=true\n", "")
    quadlet = write(tmp_path / "quadlet", files)
    definitions = write(tmp_path / "toml", toml_files(read_quadlet([str(quadlet)])))
    assert load([str(definitions)]).containers != spec.containers
