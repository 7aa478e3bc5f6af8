"""`orchestrator import compose` as a user runs it: what it writes, what it prints, what it
refuses (exit 1, file and YAML key path, nothing written), and hostile YAML (never a traceback)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Result, run_inline


def compose(tmp_path: Path, text: str, *args: str, name: str = "compose.yaml") -> Result:
    (tmp_path / name).write_text(text)
    return run_inline(
        "import", "compose", str(tmp_path / name), "--out", str(tmp_path / "out"), *args
    )


def refused(result: Result, tmp_path: Path) -> str:
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".import-")]
    return result.stderr


TWO = """\
services:
  web:
    image: nginx:1.27
    ports: ["8080:80"]
    depends_on:
      db: {condition: service_healthy}
  db:
    image: postgres:16
    healthcheck: {test: ["CMD", "pg_isready"], interval: 5s}
    volumes: [data:/var/lib/postgresql/data]
    secrets: [pw]
volumes:
  data:
secrets:
  pw: {file: ./pw.txt}
"""


def test_a_project_is_written_one_file_per_service_and_validates(tmp_path: Path) -> None:
    result = compose(tmp_path, TWO)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["db.toml", "volumes-networks.toml", "web.toml"]
    assert f"podman secret create pw {tmp_path}/pw.txt" in result.stdout
    assert run_inline("validate", str(out)).returncode == 0
    assert 'depends_on = {db = "healthy"}' in (out / "web.toml").read_text()


def test_json_output_lists_the_files_and_what_to_run(tmp_path: Path) -> None:
    result = compose(tmp_path, TWO, "--json")
    payload = json.loads(result.stdout)
    assert payload["ok"] and payload["todo"] == [f"podman secret create pw {tmp_path}/pw.txt"]


def test_project_prefixes_the_names_and_keeps_the_service_name_as_an_alias(tmp_path: Path) -> None:
    result = compose(tmp_path, TWO, "--project", "shop")
    assert result.returncode == 0, result.stderr
    web = (tmp_path / "out" / "web.toml").read_text()
    assert "[container.shop-web]" in web and '"web"' in web
    assert 'depends_on = {shop-db = "healthy"}' in web
    assert "shop_data" in (tmp_path / "out" / "db.toml").read_text()


def test_an_out_directory_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.toml").write_text("")
    result = compose(tmp_path, TWO)
    assert result.returncode == 1 and "not an empty directory" in result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["mine.toml"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "services:\n  web:\n    image: x\n    deploy: {replicas: 3}\n",
            "services.web.deploy.replicas",
        ),
        ("services:\n  web:\n    build: {context: ., ssh: [default]}\n", "services.web.build.ssh"),
        ("services:\n  web:\n    image: x\n    colour: blue\n", "services.web.colour"),
        ("services:\n  web:\n    image: x\n    volumes: [nope:/data]\n", "services.web.volumes[0]"),
        ("services:\n  web:\n    image: x\n    networks: [nope]\n", "services.web.networks.nope"),
        ("services:\n  web:\n    image: x\n    depends_on: [db]\n", "services.web.depends_on.db"),
        ("services:\n  web:\n    command: x\n", "services.web"),
        ("services:\n  web:\n    image: ${TAG:?give a TAG}\n", "services.web.image"),
        ("services:\n  web:\n    image: ${TAG\n", "services.web.image"),
        ("services:\n  web:\n    image: x\n    restart: sometimes\n", "services.web.restart"),
        (
            "services:\n  web:\n    image: x\n    post_start: [{command: x}]\n",
            "services.web.post_start",
        ),
        ("services:\n  web:\n    image: x\n    ports: ['eighty:80']\n", "services.web"),
        ("services:\n  web:\n    extends: web\n", "services.web.extends"),
        (
            "services:\n  web:\n    image: x\n    networks:\n      a: {ipv4_address: 10.0.0.2}\n"
            "      b: {}\nnetworks: {a: {}, b: {}}\n",
            "services.web.networks",
        ),
        ("services: [web]\n", "services"),
        ("volumes: {}\n", "services"),
        ("services:\n  web: {image: x}\nsecrets: {s: {}}\nfrobnicate: 1\n", "frobnicate"),
    ],
)
def test_what_has_no_meaning_here_is_refused_naming_the_file_and_yaml_key(
    tmp_path: Path, text: str, where: str
) -> None:
    stderr = refused(compose(tmp_path, text), tmp_path)
    assert f"compose.yaml: {where}" in stderr, stderr


HOSTILE = {
    "alias bomb": "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
    + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
        for p, c in zip("abcdef", "bcdefg", strict=True)
    )
    + "services: {web: {image: x, command: *g}}\n",
    "recursive alias": "services: &s {web: {image: x, labels: *s}}\n",
    "not a mapping": "- just\n- a list\n",
    "a scalar": "hello\n",
    "deep nesting": "services: " + "[" * 10000 + "]" * 10000 + "\n",
    "deep mappings": "x-a: " + "{a: " * 200 + "1" + "}" * 200 + "\nservices: {web: {image: x}}\n",
    "duplicate keys": "services:\n  web: {image: x}\n  web: {image: y}\n",
    "python tag": "services: !!python/object/apply:os.system ['true']\n",
    "unknown tag": "services: {web: {image: !vault x}}\n",
    "syntax error": "services:\n  web: {image: x\n",
    "tabs": "services:\n\tweb: {}\n",
    "binary": "\x00\x01\x02services",
    "empty": "",
    "only comments": "# nothing\n",
    "huge": "x-pad: '" + "a" * (5 * 2**20) + "'\nservices: {web: {image: x}}\n",
    "key that is a list": "services:\n  ? [a, b]\n  : {image: x}\n",
    "service is a string": "services:\n  web: nginx\n",
    "control characters": 'services:\n  web: {image: x, environment: {A: "\\e[31m"}}\n',
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_yaml_is_refused_with_a_message_never_a_traceback(
    tmp_path: Path, case: str
) -> None:
    result = compose(tmp_path, HOSTILE[case])
    if result.returncode == 0:  # control characters in a value: orchestrator's own checks
        return
    stderr = refused(result, tmp_path)
    assert "compose.yaml" in stderr
    assert "\x1b" not in stderr


def test_invalid_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_bytes(b"services:\n  web: {image: \xff\xfe}\n")
    result = run_inline(
        "import", "compose", str(tmp_path / "compose.yaml"), "--out", str(tmp_path / "out")
    )
    assert "cannot read it" in refused(result, tmp_path)


def test_a_missing_variable_is_a_warning_and_a_blank_as_in_docker_compose(tmp_path: Path) -> None:
    result = compose(
        tmp_path, "services:\n  web:\n    image: x\n    environment: {A: '${NOPE_X}'}\n"
    )
    assert result.returncode == 0
    assert "the variable NOPE_X is not set" in result.stderr
    assert 'A = ""' in (tmp_path / "out" / "web.toml").read_text()


def test_the_process_environment_wins_over_dot_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=from-env-file\nOTHER=kept\n")
    text = "services:\n  web:\n    image: 'x:${TAG}'\n    environment: {O: $OTHER}\n"
    (tmp_path / "compose.yaml").write_text(text)
    result = run_inline(
        "import",
        "compose",
        str(tmp_path / "compose.yaml"),
        "--out",
        str(tmp_path / "out"),
        TAG="from-process",
    )
    web = (tmp_path / "out" / "web.toml").read_text()
    assert result.returncode == 0 and "x:from-process" in web and 'O = "kept"' in web


def test_env_file_replaces_dot_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=dot\n")
    (tmp_path / "prod.env").write_text("TAG=prod\n")
    result = compose(
        tmp_path,
        "services:\n  web: {image: 'x:${TAG}'}\n",
        "--env-file",
        str(tmp_path / "prod.env"),
    )
    assert result.returncode == 0 and "x:prod" in (tmp_path / "out" / "web.toml").read_text()


def test_a_profile_brings_its_services_in(tmp_path: Path) -> None:
    text = "services:\n  web: {image: x}\n  tool: {image: y, profiles: [ops]}\n"
    assert not (compose(tmp_path, text).returncode or (tmp_path / "out" / "tool.toml").exists())
    (tmp_path / "again").mkdir()
    result = compose(tmp_path / "again", text, "--profile", "ops")
    assert result.returncode == 0 and (tmp_path / "again" / "out" / "tool.toml").exists()


def test_a_dependency_left_out_by_its_profile_is_refused(tmp_path: Path) -> None:
    text = "services:\n  web: {image: x, depends_on: [tool]}\n  tool: {image: y, profiles: [ops]}\n"
    assert "--profile ops" in refused(compose(tmp_path, text), tmp_path)


def test_override_files_merge_in_order(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(
        "services:\n  web:\n    ports: ['9090:90']\n    environment: [B=2]\n    command: [b]\n"
    )
    text = (
        "services:\n  web:\n    image: x\n    ports: ['8080:80']\n"
        "    environment: {A: 1}\n    command: [a, a]\n"
    )
    (tmp_path / "a.yaml").write_text(text)
    result = run_inline(
        "import",
        "compose",
        str(tmp_path / "a.yaml"),
        str(tmp_path / "b.yaml"),
        "--out",
        str(tmp_path / "out"),
    )
    web = (tmp_path / "out" / "web.toml").read_text()
    assert result.returncode == 0
    assert 'ports = ["8080:80", "9090:90"]' in web and 'command = ["b"]' in web
    assert 'A = "1"' in web and 'B = "2"' in web


def test_yaml_1_2_reads_ports_and_yes_as_strings(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    ports: [80:80]\n    environment: {A: yes, B: on}\n"
    result = compose(tmp_path, text)
    web = (tmp_path / "out" / "web.toml").read_text()
    assert result.returncode == 0 and '"80:80"' in web and 'A = "yes"' in web and 'B = "on"' in web


def test_without_a_file_the_compose_file_here_and_its_override_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.commands.import_ import _default_files

    monkeypatch.chdir(tmp_path)
    (tmp_path / "docker-compose.yml").write_text("")
    (tmp_path / "docker-compose.override.yml").write_text("")
    assert _default_files() == ["docker-compose.yml", "docker-compose.override.yml"]


def test_a_service_named_like_a_unit_of_the_host_is_refused_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.host import unitdir

    def shadowed(names: list[str], *_: object, **__: object) -> dict[str, str]:
        return {
            n: "would shadow /lib/systemd/system/db.service" for n in names if n == "db.service"
        }

    monkeypatch.setattr(unitdir, "shadowed", shadowed)
    stderr = refused(compose(tmp_path, TWO), tmp_path)
    assert "compose.yaml: services.db: its unit db.service belongs to the system" in stderr
    assert "--project NAME" in stderr
    assert compose(tmp_path, TWO, "--project", "shop").returncode == 0


def test_what_this_hosts_podman_cannot_run_is_written_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.host import facts

    monkeypatch.setattr(facts, "podman_version", lambda: (4, 3))
    text = "services:\n  es:\n    image: x\n    ulimits: {memlock: -1, nproc: 4096}\n"
    result = compose(tmp_path, text)
    assert result.returncode == 0
    assert "warning: services.es.ulimits.memlock: an unlimited (-1) ulimit needs podman 4.8" in (
        result.stderr
    )


def test_a_project_with_builds_is_checked_as_far_as_this_version_can(tmp_path: Path) -> None:
    text = "services:\n  web:\n    build: .\n    ports: ['eighty:80']\n"
    assert "container.web.ports[0]" in refused(compose(tmp_path, text), tmp_path)


@pytest.mark.parametrize("key", ["extends: {file: ./fifo, service: x}", "label_file: ./fifo"])
def test_a_fifo_named_by_the_compose_file_is_refused_not_waited_for(
    tmp_path: Path, key: str
) -> None:
    import os

    os.mkfifo(tmp_path / "fifo")
    text = f"services:\n  web:\n    image: x\n    {key}\n"
    assert "not a regular file" in refused(compose(tmp_path, text), tmp_path)


def test_a_fifo_as_the_env_file_is_refused_not_waited_for(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "fifo")
    result = compose(
        tmp_path, "services:\n  web: {image: x}\n", "--env-file", str(tmp_path / "fifo")
    )
    assert "not a regular file" in refused(result, tmp_path)


@pytest.mark.parametrize("name", ["../../escape", "a/b", ".."])
def test_a_name_that_would_leave_the_output_directory_is_refused(tmp_path: Path, name: str) -> None:
    text = f"services:\n  '{name}': {{image: x}}\nconfigs:\n  '{name}': {{content: x}}\n"
    stderr = refused(compose(tmp_path, text), tmp_path)
    assert f"services.{name}" in stderr and f"configs.{name}" in stderr
    assert not list(tmp_path.parent.glob("escape*"))


def test_interpolated_booleans_and_numbers_are_read_as_compose_reads_them(tmp_path: Path) -> None:
    text = (
        "services:\n  web:\n    image: x\n    privileged: ${PRIV:-false}\n    init: 'yes'\n"
        "    platform: ${PLATFORM:-}\n    healthcheck: {test: 'true', retries: '${R:-4}', "
        "disable: '${OFF:-false}'}\n"
    )
    result = compose(tmp_path, text)
    web = (tmp_path / "out" / "web.toml").read_text()
    assert result.returncode == 0, result.stderr
    assert "privileged" not in web and "init = true" in web and "retries = 4" in web
    assert "--platform" not in web and "--no-healthcheck" not in web


def test_services_that_build_one_image_share_one_build(tmp_path: Path) -> None:
    text = (
        "x-app: &app\n  build: {context: ., args: [A=1]}\n  image: localhost/app:dev\n"
        "services:\n  web: {<<: *app, command: web}\n  worker: {<<: *app, command: work}\n"
    )
    (tmp_path / "Containerfile").write_text("FROM scratch\n")
    result = compose(tmp_path, text)
    assert result.returncode == 0, result.stderr
    assert "[build.web]" in (tmp_path / "out" / "web.toml").read_text()
    worker = (tmp_path / "out" / "worker.toml").read_text()
    assert "[build." not in worker and 'build = "web"' in worker


SERVICE = "services:\n  web:\n    image: docker.io/library/nginx:1.27\n"


class Hung(BaseException):  # not an OSError, which the code under test may catch
    pass


def _within(seconds: int, call: Callable[[], Result]) -> Result:
    """call(), failing the test instead of hanging it (a FIFO blocks an open for ever)."""

    def ring(signum: int, frame: object) -> None:
        raise Hung(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        return call()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    ("compose_text", "fifo", "args"),
    [
        (None, "compose.yaml", []),
        ("include: [i.yaml]\n" + SERVICE, "i.yaml", []),
        ("services:\n  a: {extends: {file: o.yaml, service: b}}\n", "o.yaml", []),
        (SERVICE, "e.env", ["--env-file", "{dir}/e.env"]),
    ],
    ids=["compose file", "included file", "extended file", "env file"],
)
def test_a_fifo_in_place_of_a_file_is_refused_without_blocking(
    tmp_path: Path, compose_text: str | None, fifo: str, args: list[str]
) -> None:
    os.mkfifo(tmp_path / fifo)
    if compose_text is not None:
        (tmp_path / "compose.yaml").write_text(compose_text)
    extra = [a.replace("{dir}", str(tmp_path)) for a in args]
    result = _within(
        10,
        lambda: run_inline(
            "import",
            "compose",
            str(tmp_path / "compose.yaml"),
            *extra,
            "--out",
            str(tmp_path / "out"),
        ),
    )
    assert "not a regular file" in refused(result, tmp_path)


def test_interpolation_nested_thousands_deep_is_refused_not_a_crash(tmp_path: Path) -> None:
    deep = "${A:-" * 5000 + "x" + "}" * 5000
    result = compose(tmp_path, SERVICE + f"    environment: {{X: '{deep}'}}\n")
    assert "nested deeper than" in refused(result, tmp_path)


def test_variables_that_expand_without_bound_are_refused(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=" + "x" * 500_000 + "\n")
    result = compose(tmp_path, SERVICE + "    labels: {x: '" + "${A}" * 100 + "'}\n")
    assert "expand to more than" in refused(result, tmp_path)


def test_a_chain_of_growing_variables_in_the_env_file_is_refused_quickly(tmp_path: Path) -> None:
    # each line one longer than the last: 50,000 lines made 1.25 G characters, for minutes
    lines = "".join(f"A{i}=${{A{i - 1}}}x\n" for i in range(1, 50_000))
    (tmp_path / ".env").write_text("A0=x\n" + lines)
    result = _within(30, lambda: compose(tmp_path, SERVICE))
    assert "expand to more than" in refused(result, tmp_path)


def test_a_command_string_of_megabytes_is_refused_quickly(tmp_path: Path) -> None:
    # shlex takes quadratic time over one long word: 3 MiB did not finish
    result = _within(20, lambda: compose(tmp_path, SERVICE + f"    command: '{'a' * 3 * 2**20}'\n"))
    assert "podman's whole command line" in refused(result, tmp_path)


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "w" * 400, '"w\\e]0;x\\aeb"', ".hidden"])
def test_a_service_name_that_is_no_file_name_writes_nothing_anywhere(
    tmp_path: Path, name: str
) -> None:
    # "../../escaped" was written two directories above --out, and the import said "ok"
    project = tmp_path / "a" / "b"
    project.mkdir(parents=True)
    text = f"services:\n  {name}:\n    image: docker.io/library/nginx:1.27\n"
    result = compose(project, text)
    assert "error: " in refused(result, project)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "compose.yaml"]


def test_an_out_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "target")
    (tmp_path / "compose.yaml").write_text(SERVICE)
    result = run_inline(
        "import", "compose", str(tmp_path / "compose.yaml"), "--out", str(tmp_path / "out")
    )
    assert result.returncode == 1, result.stderr
    assert "symbolic link" in result.stderr
    assert not list((tmp_path / "target").iterdir())
