"""Rules of the model that shape what podman is given."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from orchestrator.core.models import Container, Volume
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


def _volume(options: dict[str, str], driver: str | None = None) -> Volume:
    return Volume.model_validate({"options": options, "driver": driver})


@pytest.mark.parametrize(
    "o", ["size=64m", "mode=1777,SIZE=1m", "inodes=100", "size=1m,nr_inodes=9"]
)
def test_a_size_limit_on_a_tmpfs_volume_is_refused_with_the_reason(o: str) -> None:
    with pytest.raises(ValidationError, match="XFS project quota"):
        _volume({"type": "tmpfs", "device": "tmpfs", "o": o})


@pytest.mark.parametrize("o", ["size", "INODES", "uid", "gid=", "uid=www-data", "size=1m,noquota"])
def test_what_podman_cannot_parse_in_o_is_refused(o: str) -> None:
    with pytest.raises(ValidationError, match=r"expected|noquota"):
        _volume({"o": o})


@pytest.mark.parametrize(
    ("options", "driver"),
    [
        (
            {"type": "tmpfs", "device": "tmpfs", "o": "mode=1777,nr_inodes=100,uid=1000,gid=-1"},
            None,
        ),
        ({"o": "size=10g"}, None),  # a project quota, where the host has one
        ({"o": "noquota"}, "local"),
        ({"type": "tmpfs", "o": "size"}, "some-plugin"),  # a plugin reads its own options
        ({"type": "tmpfs", "O": "size=1m"}, None),  # not podman's "o": passed on as it is
    ],
)
def test_volume_options_podman_can_use_are_accepted(
    options: dict[str, str], driver: str | None
) -> None:
    assert _volume(options, driver).options == options
