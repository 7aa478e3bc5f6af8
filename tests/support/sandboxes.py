"""The integration tests' sandboxes: booted with the test image, destroyed afterwards (also
when a test fails), their shared state directory removed once empty."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF

STATE = "/var/lib/orchestrator-sandboxes-test"


@contextlib.contextmanager
def booted(
    name: str, before_boot: Callable[[Sandbox], object] = lambda _: None
) -> Iterator[Sandbox]:
    sandbox = Sandbox(name, STATE)
    sandbox.destroy()  # a leftover from an interrupted run
    try:
        before_boot(sandbox)
        sandbox.boot()
        sandbox.import_test_image(DEFAULT_REF)
        yield sandbox
    finally:
        sandbox.destroy()
        if os.path.isdir(STATE) and not os.listdir(STATE):
            os.rmdir(STATE)
