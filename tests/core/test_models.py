"""Rules of the model that shape what podman is given."""

from __future__ import annotations

import json

import pytest

from orchestrator.core.models import Container
from orchestrator.core.render import podman_run_argv


def _entrypoint_flag(entrypoint: object) -> str:
    container = Container.model_validate({"image": "localhost/app:1", "entrypoint": entrypoint})
    [flag] = [a for a in podman_run_argv("app", container) if a.startswith("--entrypoint=")]
    return flag.removeprefix("--entrypoint=")


@pytest.mark.parametrize(
    ("entrypoint", "words"),
    [
        ("/bin/sh -c 'echo hi'", ["/bin/sh", "-c", "echo hi"]),
        ("tini  --", ["tini", "--"]),
        ('"/opt/my app/run"', ["/opt/my app/run"]),
        ("[]", ["[]"]),  # not podman's JSON: the program named "[]"
    ],
)
def test_a_string_entrypoint_is_split_into_words_like_command(
    entrypoint: str, words: list[str]
) -> None:
    assert json.loads(_entrypoint_flag(entrypoint)) == words
    command = Container.model_validate({"image": "localhost/app:1", "command": entrypoint})
    assert command.command == words


def test_a_single_word_entrypoint_is_passed_as_it_always_was() -> None:
    assert _entrypoint_flag("/usr/bin/tini") == "/usr/bin/tini"


def test_an_array_entrypoint_is_passed_word_for_word() -> None:
    assert json.loads(_entrypoint_flag(["/bin/sh", "-c", "echo 'hi there'"])) == [
        "/bin/sh",
        "-c",
        "echo 'hi there'",
    ]
