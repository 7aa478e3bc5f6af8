"""The written definitions, checked by the loader before they are moved into place: an import
writes nothing orchestrator would refuse."""

from __future__ import annotations

import os
from typing import Any

from orchestrator.errors import DefinitionError, Problem


def unknown_kinds(directory: str) -> set[str]:
    """The kinds the written files use that this orchestrator does not have yet (pods and builds
    come with issue 12)."""
    import tomllib

    from orchestrator.core.models import KINDS

    used: set[str] = set()
    for name in os.listdir(directory):
        if name.endswith(".toml"):
            with open(os.path.join(directory, name), "rb") as handle:
                try:
                    used.update(tomllib.load(handle))
                except tomllib.TOMLDecodeError:
                    continue  # the loader says what is wrong with it, naming the file
    return used - set(KINDS)


def check_written(staging: str, out: str, origins: dict[str, tuple[str, str]]) -> None:
    """Raise DefinitionError if the loader refuses the files in staging: each problem named by
    the compose file and key it comes from, and the key it became (origins: "container.web" ->
    (file, "services.web"))."""
    import tempfile

    from orchestrator.core.loader import load

    with tempfile.TemporaryDirectory() as known:
        # what this version has no kind for yet (pods, builds: issue 12) is checked as far as it
        # can be: the rest, with a build's container running its tag and a pod's outside it
        checked = _known_only(staging, known) if unknown_kinds(staging) else staging
        try:
            load([checked])
        except DefinitionError as exc:
            problems = [_named(p, checked, out, origins) for p in exc.problems]
            raise DefinitionError(problems) from None


def _known_only(staging: str, into: str) -> str:
    import tomllib

    import tomlkit

    from orchestrator.core.models import KINDS

    for name in os.listdir(staging):
        if not name.endswith(".toml"):
            continue
        with open(os.path.join(staging, name), "rb") as handle:
            document = tomllib.load(handle)
        builds = document.get("build", {})
        for key, container in document.get("container", {}).items():
            container.pop("pod", None)
            if "build" in container:
                tag = builds.get(container.pop("build"), {}).get("tag")
                container["image"] = tag or f"localhost/{key}:latest"
        known: dict[str, Any] = {k: v for k, v in document.items() if k in KINDS}
        with open(os.path.join(into, name), "w", encoding="utf-8") as handle:
            handle.write(tomlkit.dumps(known))
    return into


def _named(
    problem: Problem, staging: str, out: str, origins: dict[str, tuple[str, str]]
) -> Problem:
    resource = ".".join(problem.path.split(".")[:2])
    file, key = origins.get(resource, ("", ""))
    written = problem.file.replace(staging, out)
    if not file:
        return Problem(written, problem.path, problem.message)
    rest = problem.path[len(resource) :]
    return Problem(
        file,
        key,
        f"becomes {resource}{rest} in {os.path.basename(written)}, which orchestrator refuses: "
        f"{problem.message}",
    )
