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
    assert "each name at most 255 bytes" in problem.message


def test_paths_at_the_limits_render(tmp_path: Path) -> None:
    longest = ("/" + "d" * 255) * 15 + "/" + "e" * (4095 - 15 * 256 - 1)
    assert len(longest) == 4095
    file = tmp_path / "web.toml"
    file.write_text(f'[container.web]\nimage = {IMAGE}\nvolumes = ["{longest}:/data"]\n')
    units = render(load([str(file)]))
    assert longest in units["web.service"]


ARG_MAX = 128 * 1024
LINE_MAX = 1024 * 1024


def _one(tmp_path: Path, body: str) -> Path:
    file = tmp_path / "web.toml"
    file.write_text(f"[container.web]\nimage = {IMAGE}\n{body}\n")
    return file


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ('environment = {{ BIG = "{x}" }}', "container.web.environment.BIG"),
        ('command = ["echo", "{x}"]', "container.web.command[1]"),
        ('labels = {{ big = "{x}" }}', "container.web.labels.big"),
        ('health.command = ["/bin/check", "{x}"]', "container.web.health.command[1]"),
        ('podman_args = ["--annotation=a={x}"]', "container.web.podman_args[0]"),
    ],
)
def test_an_argument_the_kernel_would_refuse_is_refused_with_its_key(
    tmp_path: Path, body: str, path: str
) -> None:
    [problem] = problems_of(_one(tmp_path, body.format(x="x" * ARG_MAX)))
    assert problem.path == path
    assert "131,072 bytes or more" in problem.message


def test_the_longest_argument_the_kernel_takes_is_accepted(tmp_path: Path) -> None:
    value = "x" * (ARG_MAX - 1 - len("--env=BIG="))
    units = render(load([str(_one(tmp_path, f'environment = {{ BIG = "{value}" }}'))]))
    assert value in units["web.service"]


def test_many_values_that_make_too_long_a_command_line_are_refused(tmp_path: Path) -> None:
    # percent signs are doubled in the unit: the line outgrows systemd's limit in a file that
    # stays under the loader's 1 MiB, with every argument under the kernel's 128 KiB
    env = ", ".join(f'V{i} = "{"%" * 60_000}"' for i in range(11))
    problems = problems_of(_one(tmp_path, f"environment = {{ {env} }}"))
    assert {p.path for p in problems} == {"container.web"}
    assert any("ExecStart= line would be" in p.message for p in problems)


def test_many_words_that_overflow_the_kernels_budget_for_arguments_are_refused(
    tmp_path: Path,
) -> None:
    """9,700 words of 100 bytes: a line systemd loads, but with a pointer each they take more
    than the half of execve's 2 MiB left to the arguments."""
    words = ", ".join([f'"{"w" * 100}"'] * 9_700)
    [problem] = problems_of(_one(tmp_path, f"command = [{words}]"))
    assert problem.path == "container.web"
    assert "podman command line would take" in problem.message


def test_a_unit_line_systemd_would_not_load_is_refused_with_its_key(tmp_path: Path) -> None:
    file = _one(tmp_path, f'description = "{"%" * (LINE_MAX // 2 + 8)}"')  # written doubled
    [problem] = problems_of(file)
    assert problem.path == "container.web.description"
    assert "1,048,576 bytes or more" in problem.message


def test_a_long_override_line_is_refused_with_its_key(tmp_path: Path) -> None:
    """A file holds at most 1 MiB, but a value can outgrow it (a fleet's variables): the check
    of the rendered lines refuses an override line systemd would not load."""
    from orchestrator.core import limits
    from orchestrator.core.loader import key_path
    from orchestrator.core.models import Container, Spec

    web = Container.model_validate(
        {"image": "docker.io/library/busybox:1.36",
         "unit": {"Service": {"Environment": "A=" + "d" * LINE_MAX}}},
        context={"base_dir": str(tmp_path)},
    )  # fmt: skip
    spec = Spec(containers={"web": web}, sources={("container", "web"): str(tmp_path / "w.toml")})
    [(kind, name, loc, message)] = list(limits.check(spec))
    assert (kind, name) == ("container", "web")
    assert key_path(loc) == "container.web.unit.Service.Environment", message


def test_an_argument_too_long_is_blamed_on_its_own_key_when_values_repeat(tmp_path: Path) -> None:
    value = "v" * ARG_MAX
    body = f'command = ["{value}"]\nenvironment = {{ LONG = "{value}" }}'
    problems = problems_of(_one(tmp_path, body))
    assert sorted(p.path for p in problems) == [
        "container.web.command[0]",
        "container.web.environment.LONG",
    ]


def test_an_absolute_bind_mount_source_is_normalised_as_systemd_wants_it(tmp_path: Path) -> None:
    """systemd ignores RequiresMountsFor=/srv/.. ("path is not normalized")."""
    body = 'mounts = ["type=bind,target=/data,source=/srv/app/../data/"]'
    units = render(load([str(_one(tmp_path, body))]))
    assert "source=/srv/data" in units["web.service"]
    assert "/srv/app/.." not in units["web.service"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ('[volume.data]\ndevice = "/dev/{x}"', "volume.data.device"),
        (
            '[volume.data]\ndevice = "tmpfs"\nmount_options = ["{x}"]',
            "volume.data.mount_options[0]",
        ),
        ('[volume.data]\nglobal_args = ["--log-level={x}"]', "volume.data.global_args[0]"),
        ('[network.data]\npodman_args = ["--opt=a={x}"]', "network.data.podman_args[0]"),
    ],
)
def test_a_volume_or_network_argument_the_kernel_would_refuse_is_refused_with_its_key(
    tmp_path: Path, body: str, path: str
) -> None:
    file = tmp_path / "data.toml"
    file.write_text(body.format(x="x" * ARG_MAX))
    [problem] = problems_of(file)
    assert problem.path == path
    assert "131,072 bytes or more" in problem.message
