"""Golden tests: definitions in tests/core/golden/CASE/input -> exactly the unit files in expected/.

The absolute path of the input directory appears in the units (the source mark); the expected files
hold @DIR@ in its place. Set UPDATE_GOLDEN=1 to rewrite the expected files: the run then fails, so
that a regeneration is never taken for a pass; read the diff and rerun without it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from orchestrator.core.loader import load
from orchestrator.core.render import render

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input").is_dir())


def rendered(case: str) -> dict[str, str]:
    directory = GOLDEN / case
    mode_file = directory / "mode"
    mode = mode_file.read_text().strip() if mode_file.exists() else "system"
    units = render(load([str(directory / "input")]), mode)  # type: ignore[arg-type]
    placeholder = str(directory / "input")
    return {name: text.replace(placeholder, "@DIR@") for name, text in units.items()}


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    units = rendered(case)
    expected_dir = GOLDEN / case / "expected"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_dir.mkdir(exist_ok=True)
        for old in expected_dir.glob("*.service"):
            old.unlink()
        for name, text in units.items():
            (expected_dir / name).write_text(text)
        pytest.fail(
            f"goldens regenerated ({case}): review the diff and rerun without UPDATE_GOLDEN",
            pytrace=False,
        )
    expected = {p.name: p.read_text() for p in sorted(expected_dir.glob("*.service"))}
    assert sorted(units) == sorted(expected)
    for name, text in units.items():
        assert text == expected[name], f"{case}/{name} differs from its golden file"


def test_cases_cover_every_resource_kind() -> None:
    kinds = set()
    for case in CASES:
        for unit in (GOLDEN / case / "expected").glob("*.service"):
            kinds.update(
                line.split("=", 1)[1]
                for line in unit.read_text().splitlines()
                if line.startswith("Kind=")
            )
    assert kinds == {"container", "volume", "network", "image", "build", "kube"}


def test_rendering_is_deterministic_and_independent_of_cwd(tmp_path: Path) -> None:
    first = rendered("full")
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        second = rendered("full")
    finally:
        os.chdir(cwd)
    assert first == second


def test_regenerating_the_goldens_rewrites_them_and_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(GOLDEN / "minimal", tmp_path / "minimal")
    stale = tmp_path / "minimal" / "expected" / "stale.service"
    stale.write_text("a unit render no longer makes\n")
    monkeypatch.setattr(sys.modules[__name__], "GOLDEN", tmp_path)
    monkeypatch.setenv("UPDATE_GOLDEN", "1")

    with pytest.raises(pytest.fail.Exception, match="goldens regenerated"):
        test_golden("minimal")

    assert not stale.exists()
    monkeypatch.delenv("UPDATE_GOLDEN")
    test_golden("minimal")  # what was written is what render makes
