"""Every rendered example and golden case passes the real `systemd-analyze verify`.

verify checks the unit syntax, every directive's value and that the ExecStart binaries exist
(hence podman must be installed: scripts/setup installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.core.loader import load
from orchestrator.core.render import render

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "core" / "golden"
SETS = sorted(
    [
        p
        for p in (ROOT / "examples").iterdir()
        # a fleet repository, and files in other formats (examples/quadlet), are not definitions
        if p.is_dir() and not (p / "fleet.toml").exists() and any(p.rglob("*.toml"))
    ]
    + [
        p / "input"
        for p in (ROOT / "tests" / "core" / "golden").iterdir()
        if (p / "input").is_dir()
    ]
)


def verify(unit_dir: Path, user: bool = False) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: run scripts/setup"
    assert Path("/usr/bin/podman").exists(), "podman is missing: run scripts/setup"
    runtime = unit_dir / "runtime"
    runtime.mkdir(exist_ok=True)
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:", "XDG_RUNTIME_DIR": str(runtime)}
    units = sorted(str(p) for p in unit_dir.glob("*.service"))
    command = [analyze, *(["--user"] if user else []), "verify", "--man=no"]
    command += ["--recursive-errors=no", *units]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


UNIT_NAME = re.compile(r"[\w@.\\:-]+\.(?:service|socket|target|mount|path|timer|slice)\b")


def _batches(rendered: dict[Path, dict[str, str]]) -> list[list[Path]]:
    """The sets grouped so that no two in a group define or mention the same unit: a name one
    set needs and lacks can then never be supplied by another set of its group."""
    defined = {name for units in rendered.values() for name in units}
    groups: list[tuple[list[Path], set[str]]] = []
    for definitions, units in rendered.items():
        names = (set(units) | set(UNIT_NAME.findall("\n".join(units.values())))) & defined
        group = next((g for g in groups if not g[1] & names), None)
        if group is None:
            groups.append(([definitions], names))
        else:
            group[0].append(definitions)
            group[1].update(names)
    return [sets for sets, _ in groups]


@pytest.fixture(scope="module")
def complaints(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[Path, bool], list[str]]:
    """What verify says about each set's units in each mode. A verify process costs far more to
    start than to check a set, so the sets are verified together, a few batches per mode, and
    each line is charged to the set whose unit it names (to every set of its batch if none)."""
    found: dict[tuple[Path, bool], list[str]] = {}
    for user in (False, True):
        rendered = {d: render(load([str(d)]), "user" if user else "system") for d in SETS}
        for sets in _batches(rendered):
            directory = tmp_path_factory.mktemp("verify")
            owner = {name: d for d in sets for name in rendered[d]}
            for name, text in ((n, t) for d in sets for n, t in rendered[d].items()):
                (directory / name).write_text(text)
            result = verify(directory, user)
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            if result.returncode != 0 and not lines:
                lines = [f"systemd-analyze exited {result.returncode}"]
            found.update(((d, user), []) for d in sets)
            for line in lines:
                named = {owner[n] for n in UNIT_NAME.findall(line) if n in owner}
                for d in named or sets:
                    found[(d, user)].append(line)
    return found


@pytest.mark.parametrize("user", [False, True], ids=["system", "user"])
@pytest.mark.parametrize("definitions", SETS, ids=lambda p: str(p.relative_to(ROOT)))
def test_rendered_units_pass_verify(
    definitions: Path, user: bool, complaints: dict[tuple[Path, bool], list[str]]
) -> None:
    assert complaints[(definitions, user)] == []


FLEETS = sorted(p for p in (ROOT / "examples").iterdir() if (p / "fleet.toml").exists())


@pytest.mark.parametrize("repo", FLEETS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_host_of_a_fleet_renders_units_that_pass_verify(repo: Path, tmp_path: Path) -> None:
    from orchestrator.core.fleet import load_host, read_fleet

    fleet = read_fleet(str(repo))
    for host in fleet.hosts.values():
        out = tmp_path / host.name
        out.mkdir()
        for name, text in render(load_host(fleet, host)[1], "system").items():
            (out / name).write_text(text)
        result = verify(out)
        assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check above must be able to fail: a bad value and a missing binary are reported."""
    units = render(load([str(ROOT / "examples" / "hello")]))
    for name, text in units.items():
        text = text.replace("KillMode=mixed", "KillMode=sometimes")
        (tmp_path / name).write_text(text.replace("/usr/bin/podman run", "/usr/bin/no-such run"))
    result = verify(tmp_path)
    assert result.returncode != 0
    assert "KillMode" in result.stderr or "sometimes" in result.stderr
    assert "no-such" in result.stderr


@pytest.mark.parametrize("user", [False, True], ids=["system", "user"])
def test_orchestrators_own_units_pass_verify(user: bool, tmp_path: Path) -> None:
    from orchestrator.host.selfunits import NAMES, rendered

    definitions = tmp_path / "definitions with a space %"
    definitions.mkdir()
    units = rendered(str(definitions), user)
    assert sorted(units) == sorted(NAMES)
    for name, text in units.items():
        assert not re.search("@[A-Z]+@", text), f"{name}: a field was left unfilled"
        (tmp_path / name).write_text(text)
    result = verify(tmp_path, user)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
    path_unit = units["orchestrator-apply.path"]
    assert f"PathChanged={definitions}".replace("%", "%%") in path_unit


# Every character class a unit file can carry (no controls, no noncharacters), as a value.
EXOTIC = " %n %% $HOME ${X} $$ \"dq\" 'sq' \\ ; # = é ü \u00a0 \u202e 😀 \U0010fffd "


@pytest.mark.parametrize("user", [False, True], ids=["system", "user"])
def test_every_line_we_write_carries_long_and_exotic_values_that_systemd_loads(
    user: bool, tmp_path: Path
) -> None:
    """Description=, RequiresMountsFor=, the Source of the mark and the header, unit overrides,
    every podman argument: long values with every quoting hazard, and systemd loads them all."""
    from tests.support.definitions import toml_string, verify_units

    definitions = tmp_path / ("defs" + EXOTIC.replace("/", "") + "d" * 100)
    definitions.mkdir()
    # long, yet the whole file stays under the loader's 1 MiB and each argument under 128 KiB
    long_text = (EXOTIC * 4000)[:60_000]
    name = "b" + EXOTIC * 2  # under the 255 bytes of a file name
    bind = "/srv/" + "/".join([name] * 12)
    container = {
        "image": "docker.io/library/nginx:1.27",
        "description": long_text.strip() + "x",
        "command": ["/bin/echo", long_text, EXOTIC, ""],
        "environment": {"LONG": long_text, "ODD": EXOTIC},
        "labels": {"org.x/y": long_text},
        "volumes": [f"{bind}:/data:ro", "./rel" + EXOTIC.replace("/", "").replace(":", "") + ":/r"],
        "env_files": ["env" + EXOTIC.replace(",", "")],
        "health": {"command": ["/bin/check", EXOTIC, long_text[:50_000]]},
        "podman_args": ["--annotation=a=" + EXOTIC],
    }
    lines = ["[container.web]"] + [f"{k} = {_toml(v)}" for k, v in container.items()]
    lines += [
        "[container.web.unit.Unit]",
        f"Description = {toml_string('override ' + EXOTIC.replace('%', '%%') * 1000)}",
        "[container.web.unit.Service]",
        f"Environment = {toml_string('X=' + 'v%%' * 20_000)}",
        "[container.web.unit.X-Mine]",
        f"Note = {toml_string(EXOTIC.replace('%', '%%') * 5000)}",
        "[volume.data]",
        f"description = {toml_string(long_text.strip() + 'x')}",
        f"labels = {{ a = {toml_string(long_text)} }}",
        "[network.net]",
        f"description = {toml_string(EXOTIC * 10 + 'x')}",
        f"options = {{ mtu = {toml_string(EXOTIC)} }}",
    ]
    (definitions / "all.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    units = render(load([str(definitions)]), "user" if user else "system")
    assert "RequiresMountsFor=" in units["web.service"] and "Source=" in units["web.service"]
    assert not verify_units(units, tmp_path / "units", user)


def _toml(value: object) -> str:
    from tests.support.definitions import toml_value

    return toml_value(value)
