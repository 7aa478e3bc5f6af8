"""Strings a unit file cannot carry are refused at validate, with the file and the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.core.loader import load
from orchestrator.core.render import render
from orchestrator.errors import DefinitionError, Problem

NONCHARACTERS = ["\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0003ffff", "\U0010ffff"]
IMAGE = '"docker.io/library/nginx:1.27"'


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        load([str(path)])
    return caught.value.problems


def toml(text: str) -> str:
    """A TOML basic string holding text as it is (json escapes what TOML would refuse raw)."""
    return json.dumps(text, ensure_ascii=False)


@pytest.mark.parametrize("ch", NONCHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize(
    ("body", "path"),
    [
        ("environment = {{ A = {v} }}", "container.web.environment.A"),
        ("description = {v}", "container.web.description"),
        ('command = ["run", {v}]', "container.web.command[1]"),
        ('labels = {{ {v} = "x" }}', "container.web.labels"),
        ("unit.Service.Environment = {v}", "container.web.unit.Service.Environment"),
        ('health.command = ["/bin/check", {v}]', "container.web.health.command[1]"),
    ],
)
def test_a_noncharacter_anywhere_is_refused_with_its_key(
    tmp_path: Path, ch: str, body: str, path: str
) -> None:
    file = tmp_path / "web.toml"
    value = toml(f"a{ch}b")
    file.write_text(f"[container.web]\nimage = {IMAGE}\n" + body.format(v=value) + "\n")
    problems = problems_of(file)
    assert [p.path for p in problems if p.path.startswith(path)], problems
    assert all("noncharacter" in p.message for p in problems)


def test_a_noncharacter_in_a_file_name_is_refused_with_the_file(tmp_path: Path) -> None:
    file = tmp_path / "web\ufffe.toml"
    file.write_text(f"[container.web]\nimage = {IMAGE}\n")
    [problem] = problems_of(tmp_path)
    assert problem.file.endswith("web\ufffe.toml")
    assert "noncharacter U+FFFE" in problem.message


def test_a_newline_in_a_directory_name_is_refused_for_the_file_and_each_path_made_from_it(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "team\na"
    directory.mkdir()
    file = directory / "web.toml"
    file.write_text(
        f'[container.web]\nimage = {IMAGE}\nvolumes = ["./data:/data"]\nenv_files = ["e.env"]\n'
    )
    problems = problems_of(tmp_path)
    assert {p.path for p in problems} == {
        "",
        "container.web.volumes[0].source",
        "container.web.env_files",
    }
    assert all(p.file.endswith("web.toml") and "U+000A" in p.message for p in problems)


def test_a_path_linux_could_not_hold_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "web.toml"
    name = "n" * 256
    file.write_text(f'[container.web]\nimage = {IMAGE}\nvolumes = ["/srv/{name}:/data"]\n')
    [problem] = problems_of(file)
    assert problem.path == "container.web.volumes[0].source"
    assert "names have at most 255 bytes" in problem.message


def test_paths_at_the_limits_render(tmp_path: Path) -> None:
    longest = ("/" + "d" * 255) * 15 + "/" + "e" * (4095 - 15 * 256 - 1)
    assert len(longest) == 4095
    file = tmp_path / "web.toml"
    file.write_text(f'[container.web]\nimage = {IMAGE}\nvolumes = ["{longest}:/data"]\n')
    units = render(load([str(file)]))
    assert longest in units["web.service"]
