"""The podman commands apply and status need, through the one subprocess helper.

Every user value comes after `--`, so that one starting with "-" is never read as an option
(podman 4.3's pull, image exists and inspect all honour it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from orchestrator.host import runner
from orchestrator.host.runner import Completed

PODMAN = "podman"


class Runner(Protocol):
    def __call__(self, argv: list[str], *, check: bool) -> Completed: ...


HEALTH_TEMPLATES = ("{{.State.Health.Status}}", "{{.State.Healthcheck.Status}}")


def image_exists(image: str) -> bool:
    return runner.run([PODMAN, "image", "exists", "--", image], check=False).returncode == 0


def pull(image: str, *, quiet: bool) -> None:
    """Pull image; progress goes to the terminal unless quiet. Raises CommandError on failure."""
    argv = [PODMAN, "pull", *(["--quiet"] if quiet else []), "--", image]
    runner.run(argv, capture=quiet)


def pull_showing(image: str, show: Callable[[str], None]) -> None:
    """Pull image, handing each line of podman's progress to show (Copying blob ...)."""
    runner.stream([PODMAN, "pull", "--", image], show)


def health(container: str, run: Runner = runner.run) -> str:
    """healthy, unhealthy, starting, or "" when podman reports nothing (no container). run
    executes podman: here, or e.g. inside a sandbox (Sandbox.run)."""
    for template in HEALTH_TEMPLATES:
        result = run([PODMAN, "inspect", "--format", template, "--", container], check=False)
        status = result.stdout.strip()
        if result.returncode == 0 and status and "no value" not in status:
            return status
    return ""
