"""The compose corpus: tests/compose/CASE/ holds compose files written in the style of well-known
projects; each is imported, and the written files must be exactly CASE/expected/ (the case's
directory written @DIR@, the output directory @OUT@; what the import printed in _messages.txt),
must validate, and must render. UPDATE_GOLDEN=1 rewrites the expected files and fails the run:
review the diff, then rerun without it."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from orchestrator.convert.compose import Imported, import_compose
from orchestrator.convert.validate import unknown_kinds
from orchestrator.core.loader import load
from orchestrator.core.render import render

CORPUS = Path(__file__).parents[1] / "compose"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "compose.yaml").exists())


def imported(case: str, out: Path) -> Imported:
    directory = CORPUS / case
    words = (directory / "args").read_text().split() if (directory / "args").exists() else []
    profiles = [w for p, w in itertools.pairwise(words) if p == "--profile"]
    files = [w for w in words if w.endswith((".yaml", ".yml"))] or ["compose.yaml"]
    return import_compose(
        [str(directory / f) for f in files],
        out_dir=str(out),
        environ={"HOME": "/home/user"},
        profiles=profiles,
    )


def placeholders(text: str, case: str, out: Path) -> str:
    return text.replace(str(out), "@OUT@").replace(str(CORPUS / case), "@DIR@")


@pytest.mark.parametrize("case", CASES)
def test_each_compose_project_imports_to_its_golden_files(case: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = imported(case, out)
    written = {name: placeholders(text, case, out) for name, text in result.files.items()}
    messages = "".join(f"todo: {line}\n" for line in result.todo)
    messages += "".join(f"warning: {line}\n" for line in result.warnings)
    written["_messages.txt"] = placeholders(messages, case, out)
    expected_dir = CORPUS / case / "expected"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_dir.mkdir(exist_ok=True)
        for old in expected_dir.iterdir():
            old.unlink()
        for name, text in written.items():
            (expected_dir / name).write_text(text)
        pytest.fail(f"goldens regenerated ({case}): review the diff", pytrace=False)
    expected = {p.name: p.read_text() for p in expected_dir.iterdir()}
    assert sorted(written) == sorted(expected)
    for name, text in written.items():
        assert text == expected[name], f"{case}/{name} differs from its golden file"


@pytest.mark.parametrize("case", CASES)
def test_each_imported_compose_project_validates_and_renders(case: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name, text in imported(case, out).files.items():
        (out / name).write_text(text)
    if unknown_kinds(str(out)):
        pytest.xfail("needs issue 12 pods/builds")
    units = render(load([str(out)]), "system")
    assert units


def test_the_example_holds_what_importing_it_writes(tmp_path: Path) -> None:
    example = CORPUS.parents[1] / "examples" / "compose"
    result = import_compose(
        [str(example / "compose.yaml")], out_dir=str(tmp_path), environ={"HOME": "/home/user"}
    )
    shown = {p.name: p.read_text() for p in (example / "imported").iterdir()}
    assert result.files == shown
