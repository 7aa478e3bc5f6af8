"""Loading good definitions: values are normalised, paths resolved, files merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.core import values
from orchestrator.core.loader import key_path, load
from orchestrator.errors import DefinitionError, Problem


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("10s", 10_000),
        ("1min 30s", 90_000),
        ("1min30s", 90_000),
        ("500ms", 500),
        (5, 5_000),
        ("1h", 3_600_000),
        ("1.5s", 1_500),
        ("2 minutes", 120_000),
        ("0", 0),
        ("90", 90_000),
    ],
)
def test_durations(text: object, ms: int) -> None:
    assert values.duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "abc", "10x", "s", True, -1, 1.5, "10s junk", "0.0001s"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="expected"):
        values.duration_ms(text)


def test_format_duration() -> None:
    assert [values.format_duration(ms) for ms in (0, 1500, 60_000)] == ["0s", "1500ms", "60s"]


@pytest.mark.parametrize(
    "port",
    ["80:80", "8080:80/udp", "127.0.0.1:8080:80", "[::1]:8080:80/tcp", "8000-8001:9000-9001"],
)
def test_good_ports(port: str) -> None:
    assert values.port(port) == port


def test_published_ports_expand_ranges() -> None:
    assert values.published("127.0.0.1:8000-8001:80-81/udp") == [
        ("127.0.0.1", "udp", 8000),
        ("127.0.0.1", "udp", 8001),
    ]


@pytest.mark.parametrize(
    ("given", "size"),
    [(1024, "1024"), ("512M", "512M"), ("1.5G", "1.5G"), ("50%", "50%"), ("infinity", "infinity")],
)
def test_sizes(given: object, size: str) -> None:
    assert values.size(given) == size


def test_image_qualification() -> None:
    assert values.is_fully_qualified("docker.io/library/nginx:1")
    assert values.is_fully_qualified("localhost/busybox:test")
    assert values.is_fully_qualified("registry:5000/app")
    assert not values.is_fully_qualified("nginx:1")
    assert not values.is_fully_qualified("library/nginx")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_an_empty_directory_is_an_empty_state(tmp_path: Path) -> None:
    spec = load([str(tmp_path)])
    assert len(spec) == 0 and spec.files == ()


def test_directories_are_read_recursively_sorted_and_merged(tmp_path: Path) -> None:
    write(tmp_path / "b.toml", '[container.b]\nimage = "localhost/b:1"\n')
    write(tmp_path / "sub" / "a.toml", '[container.a]\nimage = "localhost/a:1"\n[volume.v]\n')
    write(tmp_path / ".hidden" / "x.toml", '[container.x]\nimage = "localhost/x:1"\n')
    write(tmp_path / "notes.txt", "not a definition")
    spec = load([str(tmp_path)])
    assert [Path(f).name for f in spec.files] == ["b.toml", "a.toml"]
    assert sorted(spec.containers) == ["a", "b"] and list(spec.volumes) == ["v"]
    assert spec.sources[("container", "a")] == str(tmp_path / "sub" / "a.toml")


def test_relative_paths_resolve_against_the_definition_file(tmp_path: Path) -> None:
    write(
        tmp_path / "svc" / "s.toml",
        '[container.s]\nimage = "localhost/s:1"\nvolumes = ["./data:/data", "../shared:/sh:ro"]\n'
        'env_files = ["s.env"]\n',
    )
    container = load([str(tmp_path)]).containers["s"]
    assert [m.source for m in container.volumes] == [
        str(tmp_path / "svc" / "data"),
        str(tmp_path / "shared"),
    ]
    assert container.env_files == [str(tmp_path / "svc" / "s.env")]


def test_shorthands_are_normalised(tmp_path: Path) -> None:
    write(
        tmp_path / "a.toml",
        '[container.db]\nimage = "localhost/db:1"\nhealth = { command = "true" }\n'
        '[container.a]\nimage = "localhost/a:1"\ncommand = "run --flag \'two words\'"\n'
        'depends_on = ["db"]\ncap_add = ["net_admin"]\nsecrets = ["token"]\n'
        "environment = { N = 1, B = true, F = 1.5 }\n",
    )
    a = load([str(tmp_path)]).containers["a"]
    assert a.command == ["run", "--flag", "two words"]
    assert a.depends_on == {"db": "started"}
    assert a.cap_add == ["CAP_NET_ADMIN"]
    assert a.secrets[0].podman_value() == "token"
    assert a.environment == {"N": "1", "B": "true", "F": "1.5"}


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    write(
        tmp_path / "a.toml", '[container.a]\nimage = "localhost/a:1"\nports = ["x"]\nrestart = 1\n'
    )
    write(tmp_path / "b.toml", "[container.b\n")
    with pytest.raises(DefinitionError) as caught:
        load([str(tmp_path)])
    text = "\n".join(caught.value.lines())
    assert "a.toml: container.a.ports[0]: expected" in text
    assert "a.toml: container.a.restart: expected" in text
    assert "b.toml:1:" in text and "TOML syntax error" in text
    assert "3 errors; nothing was changed." in text


def test_key_paths_read_like_toml() -> None:
    assert key_path(("container", "web", "ports", 1)) == "container.web.ports[1]"
    assert key_path(("container", "web", "environment", "A B", "[key]")) == (
        'container.web.environment."A B"'
    )
    assert str(Problem("f.toml", "a.b", "bad", line=3, column=7)) == "f.toml:3:7: a.b: bad"


def test_key_hints_come_from_the_table_the_key_is_in(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", '[container.a]\nimage = "localhost/a:1"\ndrivr = "x"\nimgae = "y"\n')
    with pytest.raises(DefinitionError) as caught:
        load([str(tmp_path)])
    text = "\n".join(caught.value.lines())
    assert 'unknown key "imgae" (did you mean "image"?)' in text
    assert 'mean "driver"' not in text  # a volume and network key, not a container one


@pytest.mark.parametrize("ms", [1001, 1003, 1005, 2999])
def test_durations_are_exact(ms: int) -> None:
    assert values.duration_ms(f"{ms / 1000:.3f}s") == ms


def test_hidden_files_such_as_editor_lock_files_are_not_definitions(tmp_path: Path) -> None:
    write(tmp_path / "web.toml", '[container.web]\nimage = "docker.io/library/nginx:1.27"\n')
    (tmp_path / ".#web.toml").symlink_to("root@host.1234:1700000000")  # what Emacs leaves
    write(tmp_path / ".web.toml.swp.toml", "not toml at all [")
    spec = load([str(tmp_path)])
    assert list(spec.containers) == ["web"]


def test_errors_name_absolute_paths_when_run_from_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = write(tmp_path / "web.toml", '[container.web]\nimage = "x:1"\nports = ["eighty:80"]\n')
    monkeypatch.chdir("/")
    with pytest.raises(DefinitionError) as caught:
        load([str(bad)])
    assert caught.value.problems[0].file == str(bad)


def test_a_definitions_directory_podman_cannot_take_is_refused_by_name(tmp_path: Path) -> None:
    """Relative paths resolve against the file's directory; a colon there would break --volume
    and a comma --env-file, so validate says so instead of podman at start."""
    directory = tmp_path / "deploy:2024,a"
    directory.mkdir()
    write(directory / "web.toml", '[container.web]\nimage = "x:1"\nvolumes = ["./site:/srv"]\n'
          'env_files = ["web.env"]\n')  # fmt: skip
    with pytest.raises(DefinitionError) as caught:
        load([str(directory)])
    messages = " ".join(str(p) for p in caught.value.problems)
    assert "splits --volume at colons" in messages and "splits --env-file at commas" in messages


@pytest.mark.parametrize(
    "data",
    [
        {"container": 5},
        {"zzz": 1, "container": {"a": 5}, "volume": [], "kube": {"k": {"yaml": 1}}},
        {"network": {"n": {"x": 1}}, "bogus": {}, "container": {"a": {"image": 1, "ports": [1]}}},
        {"pod": {"p": {"ports": ["x"]}}, "image": {"i": {}}, "build": {"b": "x"}},
    ],
)
def test_resources_validated_one_at_a_time_fail_as_one_document_would(
    tmp_path: Path, data: dict[str, object]
) -> None:
    from pydantic import ValidationError

    from orchestrator.core.loader import describe, validate_document
    from orchestrator.core.models import Document

    problems: list[Problem] = []
    assert validate_document(data, str(tmp_path / "f.toml"), "f.toml", problems) is None
    with pytest.raises(ValidationError) as raised:
        Document.model_validate(data, context={"base_dir": str(tmp_path)})
    whole = [Problem("f.toml", key_path(e["loc"]), describe(e)) for e in raised.value.errors()]
    assert problems == whole


def test_a_run_builds_the_models_of_the_kinds_it_reads_only(tmp_path: Path) -> None:
    """Building a model's validator is most of the start-up: a run of containers alone does not
    pay for volumes, networks, pods, images, builds and kubes."""
    import subprocess
    import sys

    (tmp_path / "web.toml").write_text('[container.web]\nimage = "docker.io/library/nginx:1"\n')
    script = (
        "import sys\nfrom orchestrator.core import loader, models\n"
        "loader.load([sys.argv[1]])\n"
        "print(sorted(k for k, m in models.MODELS.items() if m.__pydantic_complete__))"
    )
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert out.strip() == "['container']"
