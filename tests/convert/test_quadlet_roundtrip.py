"""export quadlet, then import quadlet, gives back the same definitions: every golden case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.convert.quadlet_in import read_quadlet, toml_files
from orchestrator.convert.quadlet_out import export
from orchestrator.core.loader import load
from orchestrator.core.models import Spec

GOLDEN = Path(__file__).resolve().parents[1] / "core" / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if (p / "input").is_dir())


def golden(case: Path) -> Spec:
    """The case's definitions, less the two words of the quoting case Quadlet cannot carry
    (test_export_refuses_words_quadlet_would_lose checks they are refused)."""
    spec = load([str(case / "input")])
    for name, c in spec.containers.items():
        if c.command and ("" in c.command or ";" in c.command):
            command = [w for w in c.command if w not in ("", ";")]
            spec.containers[name] = c.model_copy(update={"command": command})
    return spec


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def round_trip(spec: Spec, tmp: Path, mode: str = "system") -> Spec:
    quadlet = write(tmp / "quadlet", export(spec, mode))
    definitions = write(tmp / "toml", toml_files(read_quadlet([str(quadlet)])))
    return load([str(definitions)])


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_export_then_import_gives_the_same_definitions(case: Path, tmp_path: Path) -> None:
    mode_file = case / "mode"
    mode = mode_file.read_text().strip() if mode_file.exists() else "system"
    spec = golden(case)
    again = round_trip(spec, tmp_path, mode)
    for kind in ("containers", "volumes", "networks"):
        assert differences(getattr(again, kind), getattr(spec, kind)) == {}


def _spelled_once(data: dict[str, Any]) -> dict[str, Any]:
    """A volume's driver options given as `options` or as podman_args' --opt=KEY=VALUE are one
    podman flag, which a Quadlet file can only carry in PodmanArgs=: spelled as options."""
    if "options" not in data or "podman_args" not in data or "mount_options" not in data:
        return data
    options, args = dict(data["options"]), []
    for word in data["podman_args"]:
        key, sep, value = word.removeprefix("--opt=").partition("=")
        if word.startswith("--opt=") and sep:
            options[key] = value
        else:
            args.append(word)
    return {**data, "options": options, "podman_args": args}


def differences(got: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """name -> {key: (got, wanted)} for every key that differs; a missing resource as None."""
    found: dict[str, Any] = {}
    for name in sorted(set(got) | set(want)):
        if name not in got or name not in want:
            found[name] = None
            continue
        a, b = _spelled_once(got[name].model_dump()), _spelled_once(want[name].model_dump())
        keys = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
        if keys:
            found[name] = keys
    return found


def test_the_round_trip_sees_a_lost_key(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('[container.a]\nimage = "busybox"\ninit = true\n')
    spec = load([str(tmp_path / "a.toml")])
    files = export(spec)
    files["a.container"] = files["a.container"].replace("RunInit=true\n", "")
    quadlet = write(tmp_path / "quadlet", files)
    definitions = write(tmp_path / "toml", toml_files(read_quadlet([str(quadlet)])))
    assert load([str(definitions)]).containers != spec.containers


SECRETS = "--tmpfs=/run/secrets:"


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_the_unit_quadlet_generates_from_an_export_runs_our_podman_arguments(
    case: Path, tmp_path: Path
) -> None:
    from collections import Counter

    from orchestrator.core.render import podman_run_argv
    from tests.convert.test_quadlet_import import _execstart, normalised, quadlet_units
    from tests.test_quadlet_conformance import _quadlet

    quadlet = _quadlet()
    spec = golden(case)
    exported = write(tmp_path / "quadlet", export(spec))
    units = quadlet_units(quadlet, exported)
    for name, container in spec.containers.items():
        # the tmpfs on /run/secrets works around podman 4.3 (render's _secrets_directory), which
        # has no Quadlet to export to
        argv = [
            str(w)
            for w in podman_run_argv(name, container)
            if not w.startswith(SECRETS) and w != "$ORCHESTRATOR_DEVICES"
        ]
        ours = normalised(argv)
        theirs = normalised(_execstart(units[f"{name}.service"]))
        # optional devices ("-/dev/x") reach podman through $ORCHESTRATOR_DEVICES at each start
        # here, and only if present in Quadlet's: neither is in the compared command line
        for device in container.devices:
            if device.startswith("-"):
                theirs[0].pop(("--device", device[1:]), None)
        assert (ours[0] - theirs[0], theirs[0] - ours[0]) == (Counter(), Counter()), name
        assert ours[1:] == theirs[1:], name


def test_pods_images_builds_and_kube_import_into_the_agreed_shapes() -> None:
    corpus = Path(__file__).resolve().parents[1] / "quadlet_import" / "kinds"
    tables = {(c.kind, c.name): c.table for c in read_quadlet([str(corpus)])}
    assert tables[("container", "front")]["build"] == "app"
    assert tables[("container", "front")]["pod"] == "app"
    assert tables[("container", "sidecar")]["image"] == "docker.io/library/redis:7"
    assert tables[("pod", "app")]["ports"] == ["8080:80"]
    assert tables[("pod", "app")]["networks"] == ["front-net"]
    assert tables[("pod", "app")]["podman_args"] == ["--infra-name=app-infra"]
    assert tables[("pod", "app")]["global_args"] == ["--log-level=info"]
    assert tables[("image", "cache")]["image"] == "docker.io/library/redis:7"
    assert tables[("image", "cache")]["retry_delay"] == "10s"
    assert "--force-rm=true" in tables[("build", "app")]["podman_args"]
    assert tables[("build", "app")]["context"] == str(corpus)
    assert tables[("build", "app")]["tag"] == "localhost/front:latest"
    assert tables[("kube", "play")]["yaml"] == str(corpus / "play.yaml")
    assert tables[("kube", "play")]["enabled"] is True


@pytest.mark.parametrize("word", ["", ";"])
def test_export_refuses_words_quadlet_would_lose(tmp_path: Path, word: str) -> None:
    from orchestrator.errors import DefinitionError

    (tmp_path / "a.toml").write_text(
        f'[container.a]\nimage = "busybox"\ncommand = ["echo", "{word}", "b"]\n'
    )
    with pytest.raises(DefinitionError) as caught:
        export(load([str(tmp_path / "a.toml")]))
    assert caught.value.problems[0].path == "container.a.command"


CORPUS_CASES = [
    p
    for p in sorted((Path(__file__).resolve().parents[1] / "quadlet_import").iterdir())
    if p.is_dir()
]


@pytest.mark.parametrize("case", CORPUS_CASES, ids=[p.name for p in CORPUS_CASES])
def test_imported_corpus_exported_and_imported_again_is_unchanged(
    case: Path, tmp_path: Path
) -> None:
    first = write(tmp_path / "first", toml_files(read_quadlet([str(case)])))
    spec = load([str(first)])
    again = round_trip(spec, tmp_path)
    for kind in ("containers", "volumes", "networks"):
        assert differences(getattr(again, kind), getattr(spec, kind)) == {}


def test_an_image_volume_is_exported_naming_the_image_or_build_file_it_comes_after() -> None:
    files = export(load([str(GOLDEN / "artifacts" / "input")]))
    assert "\nImage=cache.image\n" in files["cache-data.volume"]
    assert "\nImage=plain.build\n" in files["plain-data.volume"]
