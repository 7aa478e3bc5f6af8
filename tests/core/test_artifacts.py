"""Images, builds and Kubernetes YAML ([image.X], [build.X], [kube.X]): what validate refuses,
what render writes, and how containers use them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from orchestrator.core import compat
from orchestrator.core.loader import load
from orchestrator.core.models import Build, Image, Kube, Spec
from orchestrator.core.render import (
    BUILD_BY_CODE,
    BUILD_FLAGS,
    IMAGE_BY_CODE,
    IMAGE_FLAGS,
    KUBE_BY_CODE,
    KUBE_FLAGS,
    Flag,
    podman_kube_argv,
    render,
)
from orchestrator.errors import DefinitionError
from orchestrator.host.unitdir import carries_values
from tests.support.builds import pod_yaml, write_context


def write(tmp_path: Path, text: str) -> Path:
    write_context(tmp_path / "ctx", "hello\n")
    (tmp_path / "app.yaml").write_text(pod_yaml())
    (tmp_path / "defs.toml").write_text(text)
    return tmp_path / "defs.toml"


def loaded(tmp_path: Path, text: str) -> Spec:
    return load([str(write(tmp_path, text))])


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(DefinitionError) as caught:
        loaded(tmp_path, text)
    return "\n".join(f"{p.path}: {p.message}" for p in caught.value.problems)


@pytest.mark.parametrize(
    ("model", "rows", "by_code"),
    [
        (Image, IMAGE_FLAGS, IMAGE_BY_CODE),
        (Build, BUILD_FLAGS, BUILD_BY_CODE),
        (Kube, KUBE_FLAGS, KUBE_BY_CODE),
    ],
    ids=["image", "build", "kube"],
)
def test_every_key_of_the_new_kinds_is_rendered_by_a_row_or_by_code(
    model: type[BaseModel], rows: tuple[Flag, ...], by_code: frozenset[str]
) -> None:
    by_row = {row.field for row in rows}
    assert not by_row & by_code
    assert set(model.model_fields) == by_row | by_code


BUILD = '[build.web]\ncontext = "./ctx"\n'


def test_a_container_runs_the_tag_of_its_build_and_requires_the_build_unit(
    tmp_path: Path,
) -> None:
    units = render(loaded(tmp_path, BUILD + '[container.web]\nbuild = "web"\n'))
    web = units["web.service"]
    assert "Requires=web-build.service" in web and "After=web-build.service" in web
    assert " localhost/web:latest\n" in web and "ImageUnit=web-build.service" in web
    build = units["web-build.service"]
    assert f"--file={tmp_path}/ctx/Containerfile" in build
    assert build.count("ORCHESTRATOR_BUILD_INPUTS=sha256:") == 1
    assert "RemainAfterExit=yes" in build and "[Install]" not in build


def test_a_container_whose_image_is_a_builds_tag_requires_that_build(tmp_path: Path) -> None:
    text = BUILD + 'tag = "localhost/site:1"\n[container.a]\nimage = "localhost/site:1"\n'
    assert "Requires=web-build.service" in render(loaded(tmp_path, text))["a.service"]


def test_a_context_change_changes_the_build_unit_and_nothing_else(tmp_path: Path) -> None:
    text = BUILD + '[container.web]\nbuild = "web"\n'
    before = render(loaded(tmp_path, text))
    (tmp_path / "ctx" / "msg").write_text("changed\n")
    (tmp_path / "defs.toml").write_text(text)
    spec = load([str(tmp_path / "defs.toml")])
    after = render(spec)
    assert [u for u in before if before[u] != after[u]] == ["web-build.service"]


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (
            '[container.a]\nbuild = "web"\nimage = "localhost/x:1"\n' + BUILD,
            "container.a",
            "got image and build",
        ),
        ('[container.a]\nrestart = "no"\n', "container.a", "build (the name of a [build.NAME]"),
        (
            '[container.a]\nbuild = "wbe"\n' + BUILD,
            "container.a.build",
            'unknown build "wbe" (did you mean "web"?)',
        ),
        ('[container.a]\nbuild = "web"\npull = "always"\n' + BUILD, "container.a", "registry"),
        (
            '[container.a]\nbuild = "web"\nauto_update = "registry"\n' + BUILD,
            "container.a",
            "cannot update an image built here",
        ),
        ('[build.web]\ncontext = "./nowhere"\n', "build.web.context", "cannot read"),
        (
            '[build.web]\ncontext = "./ctx"\nfile = "/etc/Containerfile"\n',
            "build.web.file",
            "relative to the context",
        ),
        (
            '[build.web]\ncontext = "./ctx"\nnetwork = "lan"\n',
            "build.web.network",
            'unknown network "lan"',
        ),
        ('[build.Web_]\ncontext = "./ctx"\n', "build.Web_", 'give one with tag = "..."'),
        (
            '[build.web]\ncontext = "./ctx"\nsecrets = ["src=./x"]\n',
            "build.web.secrets[0]",
            "with an id",
        ),
        (
            '[image.a]\nimage = "localhost/x:1"\n[image.b]\nimage = "localhost/x:1"\n',
            "image.b.image",
            'image "a"',
        ),
        (
            '[image.a]\nimage = "localhost/web:latest"\n' + BUILD,
            "build.web",
            "makes localhost/web:latest too",
        ),
        ('[image.a]\nimage = "localhost/x:1"\ncreds = "-u"\n', "image.a.creds", "NAME[:SECRET]"),
        (
            '[image.a]\nimage = "localhost/x:1"\nretry_delay = "1500ms"\n',
            "image.a.retry_delay",
            "whole seconds",
        ),
        ('[kube.k]\nyaml = "./missing.yaml"\n', "kube.k.yaml", "no such file"),
        (
            '[kube.k]\nyaml = "./app.yaml"\nnetworks = ["lan"]\n',
            "kube.k.networks",
            'unknown network "lan"',
        ),
        (
            '[kube.k]\nyaml = "./app.yaml"\nexit_code_propagation = "some"\n',
            "kube.k.exit_code_propagation",
            '"all", "any" or "none"',
        ),
        (
            '[kube.web]\nyaml = "./app.yaml"\n[container.web]\nimage = "localhost/x:1"\n',
            "kube.web",
            "clashes with container",
        ),
        (
            '[kube.k]\nyaml = "./app.yaml"\nports = ["8080:80"]\n[container.c]\n'
            'image = "localhost/x:1"\nports = ["8080:80"]\n',
            "kube.k.ports[0]",
            'also published by container "c"',
        ),
        (
            '[kube.k]\nyaml = "./app.yaml"\nunit = { Install = { RequiredBy = "ssh.service" } }\n',
            "kube.k.unit.Install.RequiredBy",
            "does not own",
        ),
        ('[image.a]\nimage = "localhost/x:1"\nfrom = "x"\n', "image.a.from", 'unknown key "from"'),
    ],
)
def test_what_cannot_work_is_refused_naming_the_key(
    tmp_path: Path, text: str, where: str, words: str
) -> None:
    found = refused(tmp_path, text)
    assert any(line.startswith(f"{where}: ") and words in line for line in found.splitlines()), (
        found
    )


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        ("always", ["ExecStart=/usr/bin/podman image pull --arch=arm64"]),
        ("missing", ["image exists", '|| exec "$$@"']),
        ("newer", ['"$$@" ||', "image exists"]),
        ("never", ["image exists", "policy = never"]),
    ],
)
def test_an_image_unit_pulls_as_its_policy_says(
    tmp_path: Path, policy: str, words: list[str]
) -> None:
    text = f'[image.a]\nimage = "localhost/x:1"\narch = "arm64"\npolicy = "{policy}"\n'
    unit = render(loaded(tmp_path, text))["a-image.service"]
    assert all(word in unit for word in words), unit
    assert "Type=oneshot" in unit and "RemainAfterExit=yes" in unit


def test_the_kube_unit_is_quadlets(tmp_path: Path) -> None:
    text = """[kube.demo]
yaml = "./app.yaml"
networks = ["lan"]
userns = "auto"
log_driver = "journald"
auto_update = "local"
exit_code_propagation = "any"
set_working_directory = "yaml"
global_args = ["--log-level=info"]
[network.lan]
"""
    spec = loaded(tmp_path, text)
    unit = render(spec, "user")["demo.service"]
    yaml = f"{tmp_path}/app.yaml"
    assert podman_kube_argv(spec.kubes["demo"]) == [
        "/usr/bin/podman", "--log-level=info", "kube", "play", "--replace",
        "--service-container=true", "--service-exit-code-propagation=any",
        "--log-driver=journald", "--userns=auto", "--network=lan",
        "--annotation=io.containers.autoupdate=local", yaml,
    ]  # fmt: skip
    assert f"ExecStopPost=/usr/bin/podman --log-level=info kube down {yaml}\n" in unit
    assert f"WorkingDirectory={tmp_path}\n" in unit
    assert "Type=notify" in unit and "NotifyAccess=all" in unit
    assert "Requires=lan-network.service" in unit and "WantedBy=default.target" in unit


def test_a_kube_not_enabled_has_no_install_section(tmp_path: Path) -> None:
    unit = render(loaded(tmp_path, '[kube.k]\nyaml = "./app.yaml"\nenabled = false\n'))
    assert "[Install]" not in unit["k.service"]


@pytest.mark.parametrize(
    ("text", "key", "since"),
    [
        ('[image.a]\nimage = "localhost/x:1"\nretry = 3\n', "image.a.retry", "5.0"),
        ('[kube.k]\nyaml = "./app.yaml"\nports = ["8080:80"]\n', "kube.k.ports", "4.4"),
        (
            '[kube.k]\nyaml = "./app.yaml"\nexit_code_propagation = "all"\n',
            "kube.k.exit_code_propagation",
            "4.6",
        ),
    ],
)
def test_keys_newer_than_podman_4_3_are_refused_on_it(
    tmp_path: Path, text: str, key: str, since: str
) -> None:
    spec = loaded(tmp_path, text)
    with pytest.raises(DefinitionError) as caught:
        compat.check(spec, (4, 3))
    assert [p.path for p in caught.value.problems] == [key]
    assert f"needs podman {since} or later" in caught.value.problems[0].message
    compat.check(spec, (5, 4))


@pytest.mark.parametrize(
    ("text", "unit", "private"),
    [
        ('[image.a]\nimage = "localhost/x:1"\ncreds = "me:pw"\n', "a-image.service", True),
        ('[image.a]\nimage = "localhost/x:1"\n', "a-image.service", False),
        ('[build.web]\ncontext = "./ctx"\nargs = { TOKEN = "x" }\n', "web-build.service", True),
        (BUILD, "web-build.service", False),
    ],
)
def test_units_with_credentials_or_build_arguments_are_private(
    tmp_path: Path, text: str, unit: str, private: bool
) -> None:
    assert carries_values(render(loaded(tmp_path, text))[unit]) is private
