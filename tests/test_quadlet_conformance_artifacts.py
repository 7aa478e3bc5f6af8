"""The podman arguments rendered for [image.X], [build.X] and [kube.X] mean what Quadlet 5.4's
generator makes of the equivalent .image, .build and .kube files.

As in test_quadlet_conformance.py: both command lines are read into (flag, value) pairs and
compared as multisets, with the global options and the arguments after the flags. Skipped when
../shared/tools/fetch-quadlet cannot provide the generator.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from orchestrator.core.loader import load
from orchestrator.core.render import (
    BUILD_FLAGS,
    IMAGE_FLAGS,
    KUBE_FLAGS,
    podman_build_argv,
    podman_kube_argv,
    podman_pull_argv,
    render,
)
from tests.test_quadlet_conformance import IMAGE, _quadlet

# the flags that take no value in the lines either side writes
SWITCHES = {"--all-tags", "--tls-verify", "--replace"}
ALIASES = {"-v": "--volume"}
# (the command's words after podman's global options, the Quadlet unit made of a file)
COMMANDS = {
    "image": (["image", "pull"], "{name}-image.service"),
    "build": (["build"], "{name}-build.service"),
    "kube": (["kube", "play"], "{name}.service"),
}


@pytest.fixture(scope="module")
def quadlet() -> str:
    return _quadlet()


def pairs(
    argv: list[str], verb: list[str]
) -> tuple[Counter[tuple[str, str]], list[str], list[str]]:
    """The global options, the command's flags as (flag, value), and what follows them."""
    start = next(i for i in range(len(argv)) if argv[i : i + len(verb)] == verb)
    flags: Counter[tuple[str, str]] = Counter()
    i = start + len(verb)
    while i < len(argv) and argv[i].startswith("-"):
        flag, sep, value = argv[i].partition("=")
        flag = ALIASES.get(flag, flag)
        if not sep and flag not in SWITCHES:
            i += 1
            value = argv[i]
        flags[(flag, value)] += 1
        i += 1
    return flags, argv[1:start], argv[i:]


def context(tmp: Path) -> Path:
    (tmp / "ctx").mkdir(exist_ok=True)
    (tmp / "ctx" / "Containerfile").write_text("FROM localhost/busybox:test\n")
    (tmp / "app.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n")
    (tmp / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")
    return tmp


def ours(tmp: Path, kind: str, body: str) -> list[str]:
    (tmp / "defs.toml").write_text(f"[{kind}.app]\n{body}\n")
    spec = load([str(tmp / "defs.toml")])
    if kind == "image":
        return podman_pull_argv(spec.images["app"])
    if kind == "build":
        return podman_build_argv("app", spec.builds["app"], spec.inputs["app"])
    return podman_kube_argv(spec.kubes["app"])


def theirs(quadlet: str, tmp: Path, kind: str, body: str) -> list[str]:
    units = tmp / "quadlet"
    units.mkdir()
    (units / f"app.{kind}").write_text(f"[{kind.capitalize()}]\n{body}\n")
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(units)}
    done = subprocess.run(
        [quadlet, "-dryrun"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    unit = COMMANDS[kind][1].format(name="app")
    text = done.stdout.split(f"---{unit}---", 1)[1]
    line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


# (id, kind, definition keys, Quadlet lines); {tmp} is the case's directory
CASES = [
    (
        "image",
        "image",
        """image = "docker.io/library/nginx:1.27"
arch = "arm64"
os = "linux"
variant = "v8"
all_tags = true
auth_file = "/etc/containers/auth.json"
cert_dir = "/etc/containers/certs.d"
creds = "deploy:secret"
decryption_key = "/etc/keys/image.pem"
tls_verify = false
global_args = ["--log-level=debug"]
podman_args = ["--quiet"]""",
        """Image=docker.io/library/nginx:1.27
Arch=arm64
OS=linux
Variant=v8
AllTags=true
AuthFile=/etc/containers/auth.json
CertDir=/etc/containers/certs.d
Creds=deploy:secret
DecryptionKey=/etc/keys/image.pem
TLSVerify=false
GlobalArgs=--log-level=debug
PodmanArgs=--quiet""",
    ),
    (
        "image-tls-verify",
        "image",
        'image = "docker.io/library/nginx:1.27"\ntls_verify = true',
        "Image=docker.io/library/nginx:1.27\nTLSVerify=true",
    ),
    (
        "build",
        "build",
        """context = "./ctx"
tag = "localhost/app:1"
target = "final"
pull = "never"
labels = { "org.example.team" = "web" }
annotations = { "org.example.note" = "x" }
secrets = ["id=token,src=/etc/token"]
network = "host"
volumes = ["/srv:/srv:ro"]
global_args = ["--log-level=debug"]
podman_args = ["--quiet"]""",
        """ImageTag=localhost/app:1
File={tmp}/ctx/Containerfile
SetWorkingDirectory={tmp}/ctx
Target=final
Pull=never
Label=org.example.team=web
Annotation=org.example.note=x
Secret=id=token,src=/etc/token
Network=host
Volume=/srv:/srv:ro
GlobalArgs=--log-level=debug
PodmanArgs=--quiet""",
    ),
    (
        "kube",
        "kube",
        """yaml = "./app.yaml"
config_maps = ["./cm.yaml"]
networks = ["host"]
ports = ["8080:80"]
userns = "auto"
exit_code_propagation = "any"
auto_update = "registry"
log_driver = "journald"
log_options = { tag = "app", max-size = "10m" }
global_args = ["--log-level=debug"]
podman_args = ["--quiet"]""",
        """Yaml={tmp}/app.yaml
ConfigMap={tmp}/cm.yaml
Network=host
PublishPort=8080:80
UserNS=auto
ExitCodePropagation=any
AutoUpdate=registry
LogDriver=journald
LogOpt=tag=app
LogOpt=max-size=10m
GlobalArgs=--log-level=debug
PodmanArgs=--quiet""",
    ),
]


@pytest.mark.parametrize(("kind", "definition", "quadlet_file"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_our_arguments_mean_what_quadlet_generates_for_images_builds_and_kubes(
    quadlet: str, tmp_path: Path, kind: str, definition: str, quadlet_file: str
) -> None:
    tmp = context(tmp_path)
    verb = COMMANDS[kind][0]
    mine = pairs([str(w) for w in ours(tmp, kind, definition)], verb)
    other = pairs(theirs(quadlet, tmp, kind, quadlet_file.format(tmp=tmp)), verb)
    if kind == "build":  # the Containerfile is always named here; Quadlet names it as given
        assert (("--file", f"{tmp}/ctx/Containerfile")) in mine[0]
    assert mine == other


def test_the_comparison_sees_a_difference(quadlet: str, tmp_path: Path) -> None:
    tmp = context(tmp_path)
    mine = pairs(ours(tmp, "image", 'image = "localhost/a:1"\narch = "arm64"'), ["image", "pull"])
    other = pairs(theirs(quadlet, tmp, "image", "Image=localhost/a:1\nArch=amd64"),
                  ["image", "pull"])  # fmt: skip
    assert mine != other


# Keys beyond Quadlet 5.4 (build args and ignore files came later; pull retries in 5.5)
BEYOND_QUADLET = {"args", "ignore_file", "retry", "retry_delay"}


def test_every_flag_row_of_the_new_kinds_has_a_case() -> None:
    import tomllib

    covered: dict[str, set[str]] = {"image": set(), "build": set(), "kube": set()}
    for _, kind, definition, _ in CASES:
        covered[kind] |= set(tomllib.loads(definition))
    for kind, rows in (("image", IMAGE_FLAGS), ("build", BUILD_FLAGS), ("kube", KUBE_FLAGS)):
        missing = {row.field for row in rows} - covered[kind] - BEYOND_QUADLET
        assert not missing, f"{kind} keys with no conformance case: {sorted(missing)}"


def _order(text: str) -> tuple[set[str], set[str]]:
    """A unit's Requires= and After= units, but the network target (Quadlet orders every volume
    after it; ours need no network to create a volume)."""
    lines = [line.partition("=") for line in text.splitlines()]
    requires = {u for key, _, value in lines if key == "Requires" for u in value.split()}
    after = {u for key, _, value in lines if key == "After" for u in value.split()}
    return requires, after - {"network-online.target"}


def test_an_image_volume_comes_after_the_unit_that_pulls_or_builds_its_image_as_in_quadlet(
    quadlet: str, tmp_path: Path
) -> None:
    tmp = context(tmp_path)
    (tmp / "defs.toml").write_text(
        f'[image.base]\nimage = "{IMAGE}"\n\n'
        '[build.mine]\ncontext = "./ctx"\ntag = "localhost/mine:1"\n\n'
        f'[volume.pulled]\nimage = "{IMAGE}"\n\n'
        '[volume.built]\nimage = "localhost/mine:1"\n'
    )
    mine = render(load([str(tmp / "defs.toml")]))
    units = tmp / "quadlet"
    units.mkdir()
    (units / "base.image").write_text(f"[Image]\nImage={IMAGE}\n")
    (units / "mine.build").write_text(
        f"[Build]\nImageTag=localhost/mine:1\nSetWorkingDirectory={tmp}/ctx\n"
    )
    (units / "pulled.volume").write_text("[Volume]\nDriver=image\nImage=base.image\n")
    (units / "built.volume").write_text("[Volume]\nDriver=image\nImage=mine.build\n")
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(units)}
    done = subprocess.run(
        [quadlet, "-dryrun"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    for volume, needed in (("pulled", "base-image"), ("built", "mine-build")):
        unit = f"{volume}-volume.service"
        other = done.stdout.split(f"---{unit}---", 1)[1].split("\n---", 1)[0]
        assert _order(mine[unit]) == _order(other) == ({f"{needed}.service"},) * 2, unit
