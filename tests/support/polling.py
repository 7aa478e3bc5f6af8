"""Waiting for a sandbox to reach a state: the one polling loop of the integration tests."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def until(
    predicate: Callable[[], object],
    timeout: float,
    what: str,
    *,
    every: float = 0.05,
    seen: Callable[[], object] | None = None,
) -> float:
    """Seconds until predicate() is true, asked every `every` seconds; after `timeout` seconds
    the test fails, saying `what` was awaited and, if given, what seen() shows by then."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start >= timeout:
            break
        time.sleep(every)
    message = f"{what}: not within {timeout:g} s"
    if seen is not None:
        message += f"; by then: {seen()}"
    pytest.fail(message)
