"""Suite-wide fixtures and guards.

Every test not marked `integration` runs, set-up and tear-down included, under the write guard
(tests/support/write_guard.py): it fails if it writes under /etc, /var/lib/orchestrator or the
real home directory, even when the code under test catches the guard's exception. Its fsyncs do
not wait for the disk (see _fsync_without_waiting).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from tests.support import write_guard
from tests.support.depth import DEEP, examples

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

# Cache compiled modules and pytest's assertion-rewritten tests in __pycache__ even when the
# environment says PYTHONDONTWRITEBYTECODE (as the shared workstations do): without the cache every
# xdist worker compiles and rewrites the whole suite again, some 4 s of CPU each per run.
sys.dont_write_bytecode = False

pytest_plugins = ["pytester"]  # tests/test_write_guard.py runs small suites of its own

write_guard.install()

# No per-example deadline: CI shares its cores (the unit part runs on every one of them), and a
# slow example there is a busy machine, not a bug; timings belong in the benchmarks. The number of
# examples follows tests/support/depth.py: a fifth in the everyday run, the full count in the deep.
settings.register_profile("suite", deadline=None, max_examples=examples(100))
settings.register_profile("deep", deadline=None, max_examples=100)
settings.load_profile("deep" if DEEP else "suite")


INTEGRATION = Path(__file__).parent / "integration"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A run that leaves out integration tests ("not integration and ...", as the unit part
    does) does not import tests/integration either: each worker spent 0.4 s on collecting what it
    then deselected. Every test there is marked integration (tests/test_support.py checks)."""
    conjuncts = {part.strip() for part in str(config.option.markexpr).split(" and ")}
    if collection_path == INTEGRATION and "not integration" in conjuncts:
        return True
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection built (the modules, the strategies, the test items) lives to the end of
    the run: frozen, it is no longer walked by each full collection of the cycle collector (in
    each half of scripts/unit, the collector's time fell from 0.45-0.75 s of CPU to 0.3-0.4 s:
    measured with gc.callbacks)."""
    gc.freeze()


def _fsync_without_waiting(fd: FileDescriptorLike) -> None:
    """os.fsync as unit tests run it: the same error for a descriptor that is not open, but no
    wait for the disk. The code under test makes every call it makes on a host (tests that count
    them still see them all); waiting for the disk proves nothing a unit test checks, and the
    suite's fsyncs, some 800, took seconds of wall time on a busy disk."""
    os.fstat(fd if isinstance(fd, int) else fd.fileno())


@contextlib.contextmanager
def _unit_test() -> Iterator[None]:
    real = os.fsync
    os.fsync = _fsync_without_waiting
    try:
        with write_guard.on():
            yield
    finally:
        os.fsync = real


def _guarded(item: pytest.Item) -> contextlib.AbstractContextManager[None]:
    if item.get_closest_marker("integration") is not None:
        return contextlib.nullcontext()
    return _unit_test()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with _guarded(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with _guarded(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    with _guarded(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    refused = write_guard.take_violations()
    if refused and report.passed:  # the code under test swallowed ForbiddenWrite
        report.outcome = "failed"
        report.longrepr = "\n".join(refused)
    return report
