"""The test helpers themselves (tests/support): a helper that cannot fail hides failures."""

from __future__ import annotations

import ast
import errno
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_inline
from tests.support.polling import until


def test_until_returns_once_the_predicate_holds() -> None:
    answers: Iterator[bool] = iter([False, False, True])

    seconds = until(lambda: next(answers), 5, "the third answer", every=0.001)

    assert 0 <= seconds < 5
    assert next(answers, None) is None, "asked exactly until it held"


def test_until_fails_naming_what_it_awaited_and_what_it_saw() -> None:
    with pytest.raises(pytest.fail.Exception) as failure:
        until(lambda: False, 0.05, "web.service restarts", every=0.01, seen=lambda: "NRestarts=0")

    assert str(failure.value) == "web.service restarts: not within 0.05 s; by then: NRestarts=0"


def test_an_inline_run_leaves_no_logging_environment_or_directory_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    root_logger = logging.getLogger()
    # pytest's own handlers would make --debug's logging.basicConfig do nothing
    monkeypatch.setattr(root_logger, "handlers", [])
    monkeypatch.setattr(root_logger, "level", logging.WARNING)

    debug = run_inline("--debug", "validate", "examples/hello", ORCHESTRATOR_PROBE="1")

    assert debug.returncode == 0, debug.stderr  # examples/ is found from the repository root
    assert os.getcwd() == str(tmp_path)
    assert os.environ.get("ORCHESTRATOR_PROBE") is None
    assert (root_logger.handlers, root_logger.level) == ([], logging.WARNING)


def test_an_inline_run_reports_argparse_exits_as_the_console_entry_does() -> None:
    usage = run_inline("validate", "--no-such-option")
    version = run_inline("--version")

    assert usage.returncode == 1 and "unrecognized arguments" in usage.stderr
    assert version.returncode == 0 and version.stdout.startswith("orchestrator ")


@pytest.mark.parametrize(
    ("environ", "drawn"),
    [({}, [20, 20, 200]), ({"HOSTILE_SECONDS": "300"}, [10, 100, 1000]),
     ({"HYPOTHESIS_DEPTH": "deep"}, [10, 100, 1000])],
)  # fmt: skip
def test_property_tests_draw_a_fifth_of_their_examples_unless_the_run_is_deep(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], drawn: list[int]
) -> None:
    import importlib

    from tests.support import depth

    for name in ("HOSTILE_SECONDS", "HYPOTHESIS_DEPTH"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    try:
        assert [importlib.reload(depth).examples(n) for n in (10, 100, 1000)] == drawn
    finally:
        monkeypatch.undo()
        importlib.reload(depth)


def test_a_unit_tests_fsync_does_not_wait_for_the_disk_yet_fails_as_the_real_one(
    tmp_path: Path,
) -> None:
    assert os.fsync.__name__ == "_fsync_without_waiting"  # tests/conftest.py's, in a unit test
    with (tmp_path / "f").open("w") as file:
        fd = file.fileno()
        os.fsync(fd)
        os.fsync(file)
    with pytest.raises(OSError) as closed:
        os.fsync(fd)
    assert closed.value.errno == errno.EBADF


def test_every_test_module_under_integration_is_marked_integration() -> None:
    """tests/conftest.py skips the directory in runs without integration tests; a test module
    there that is not marked as a whole would silently leave the unit part."""
    unmarked = []
    for path in sorted((Path(__file__).parent / "integration").glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        marks = [
            ast.unparse(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
        ]
        if not any("pytest.mark.integration" in mark for mark in marks):
            unmarked.append(path.name)
    assert not unmarked, f"not marked pytest.mark.integration as a whole: {unmarked}"
