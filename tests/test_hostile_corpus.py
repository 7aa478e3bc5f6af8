"""The hostile corpus (tests/hostile): generated inputs of every class of issue 10, run through
validate, render and plan, with the rules of tests/hostile/check.py.

The unit suite runs a sample: one case of each class. The whole corpus (thousands of cases) is
marked `corpus` and runs when HOSTILE_SECONDS is set, as scripts/test sets it (300): it takes the
classes in turn until that many seconds have passed, so that a slow machine runs fewer cases of
each class rather than a longer suite. `python -m tests.hostile --full` runs every case, unbounded.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.cases import CLASSES, Case, all_cases
from tests.hostile.check import Outcome, run_case, verify_batches


def _interleaved(full: bool) -> Iterator[Case]:
    """The classes in turn, one case of each at a time."""
    streams = [all_cases(full, [name]) for name in CLASSES]
    for batch in itertools.zip_longest(*streams):
        yield from (case for case in batch if case is not None)


def _report(outcomes: list[Outcome]) -> list[str]:
    return [
        f"[{o.case.klass}] {o.case.name}: {failure}" for o in outcomes for failure in o.failures
    ]


def test_one_case_of_every_class_keeps_every_rule(tmp_path: Path) -> None:
    outcomes = [run_case(case, tmp_path) for case in itertools.islice(_interleaved(False), 10)]
    verify_batches(outcomes, tmp_path)

    assert {o.case.klass for o in outcomes} == set(CLASSES)
    assert not _report(outcomes)


@pytest.mark.corpus
@pytest.mark.skipif("HOSTILE_SECONDS" not in os.environ, reason="scripts/test runs the corpus")
def test_the_corpus_keeps_every_rule_within_its_time(tmp_path: Path) -> None:
    deadline = time.monotonic() + float(os.environ["HOSTILE_SECONDS"])
    outcomes = []
    for case in _interleaved(False):
        if time.monotonic() > deadline:
            break
        outcomes.append(run_case(case, tmp_path))
    verify_batches(outcomes, tmp_path)

    assert {o.case.klass for o in outcomes} == set(CLASSES)
    failures = _report(outcomes)
    assert not failures, f"{len(failures)} failure(s) in {len(outcomes)} cases:\n" + "\n".join(
        failures[:40]
    )
