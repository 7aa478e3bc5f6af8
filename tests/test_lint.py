"""ruff (lint and format), mypy --strict and the import contracts (import-linter) run as tests.

Those four drive external tools, so they are marked `tools` and run in scripts/test's second pass:
their cost is the tools' start-up and, for mypy, its cache (14 s of CPU in a fresh clone), which
the unit part cannot afford. The length of functions is checked here, in Python, with the unit part.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def check(*command: str) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.tools
def test_ruff_lint() -> None:
    check(str(BIN / "ruff"), "check", "orchestrator", "tests")


@pytest.mark.tools
def test_ruff_format() -> None:
    check(str(BIN / "ruff"), "format", "--check", "orchestrator", "tests")


@pytest.mark.tools
def test_mypy_strict() -> None:
    check(sys.executable, "-m", "mypy")


@pytest.mark.tools
def test_the_import_contracts_of_the_layout_hold() -> None:
    check(str(BIN / "lint-imports"), "--no-cache")


def _functions(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions defined in body, however nested: a def is a statement, so only the bodies
    of statements are searched, not every expression (half the time of ast.walk)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for child in getattr(node, field, None) or []:
                # an except handler or a match case is no statement, but holds a body of them
                yield from _functions([child] if isinstance(child, ast.stmt) else child.body)


def test_no_function_in_the_package_is_longer_than_60_lines() -> None:
    long = []
    for path in sorted((ROOT / "orchestrator").rglob("*.py")):
        for node in _functions(ast.parse(path.read_text(encoding="utf-8")).body):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > 60:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert not long, "split these (docs/architecture.md): " + ", ".join(long)
