"""The fleet repository model: layers merged per resource, variables, host matching, and errors
that name the host, the layer's file and the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrator.core.fleet import Fleet, load_host, merge, parse_key_path, read_fleet
from orchestrator.core.render import render
from orchestrator.errors import DefinitionError
from tests.support import ROOT

EXAMPLE = ROOT / "examples" / "fleet"
GOLDEN = ROOT / "tests" / "core" / "fleet_golden"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def problems(root: Path, host: str) -> list[str]:
    fleet = read_fleet(str(root))
    with pytest.raises(DefinitionError) as caught:
        load_host(fleet, fleet.host(host))
    return [str(p) for p in caught.value.problems]


FLEET = """
[defaults]
port = 8080
name = "plain"
[group.web]
vars = { name = "web" }
[group.eu]
vars = { name = "eu" }
[host.a]
groups = ["web", "eu"]
[host.b]
groups = ["eu", "web"]
vars = { port = 9090 }
"""

BASE = """
[container.app]
image = "docker.io/library/busybox:1.36"
command = ["sh", "-c", "echo ${name} $${HOME}"]
ports = ["${port}:80"]
environment = { A = "1", B = "2" }
labels = { tier = "base" }
"""


@pytest.mark.parametrize("host", ["web-1", "web-2", "db-1"])
def test_each_host_of_the_example_renders_exactly_its_golden_units(host: str) -> None:
    fleet = read_fleet(str(EXAMPLE))
    _, spec = load_host(fleet, fleet.host(host))
    units = render(spec, "system")
    units = {name: text.replace(str(EXAMPLE), "@REPO@") for name, text in units.items()}
    expected_dir = GOLDEN / host
    expected = {p.name: p.read_text() for p in expected_dir.iterdir()}
    assert sorted(units) == sorted(expected)
    for name, text in units.items():
        assert text == expected[name], f"{host}/{name} differs from its golden file"


def test_tables_merge_key_by_key_and_arrays_are_replaced(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "base/app.toml": BASE,
        "groups/web/app.toml": '[container.app]\nenvironment = { B = "web" }\nports = ["1:1"]\n',
    })  # fmt: skip
    fleet = read_fleet(str(root))
    merged = merge(fleet, fleet.host("a"))
    app = merged.tables[("container", "app")]
    assert app["environment"] == {"A": "1", "B": "web"}
    assert app["ports"] == ["1:1"]
    assert app["labels"] == {"tier": "base"}


def test_variables_come_from_the_host_then_its_later_group_then_defaults(tmp_path: Path) -> None:
    root = write(tmp_path, {"fleet.toml": FLEET, "base/app.toml": BASE})
    fleet = read_fleet(str(root))
    a = merge(fleet, fleet.host("a")).tables[("container", "app")]
    b = merge(fleet, fleet.host("b")).tables[("container", "app")]
    assert a["command"][-1] == "echo eu ${HOME}"  # eu is a's later group; $${ stays literal
    assert a["ports"] == ["8080:80"]
    assert b["command"][-1] == "echo web ${HOME}"
    assert b["ports"] == ["9090:80"]


def test_remove_in_a_later_layer_drops_the_resource(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "base/app.toml": BASE,
        "hosts/b/drop.toml": "[container.app]\nremove = true\n",
    })  # fmt: skip
    fleet = read_fleet(str(root))
    assert ("container", "app") in merge(fleet, fleet.host("a")).tables
    assert merge(fleet, fleet.host("b")).tables == {}


def test_a_later_layer_can_declare_a_resource_no_earlier_layer_has(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "hosts/a/extra.toml": '[volume.cache]\n',
    })  # fmt: skip
    fleet = read_fleet(str(root))
    _, spec = load_host(fleet, fleet.host("a"))
    assert list(spec.volumes) == ["cache"]
    _, other = load_host(fleet, fleet.host("b"))
    assert list(other.volumes) == []


def test_an_unknown_variable_names_the_host_the_layer_file_and_the_key(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "base/app.toml": BASE,
        "groups/eu/app.toml": '[container.app.environment]\nB = "${nope}"\n',
    })  # fmt: skip
    found = problems(root, "a")
    assert len(found) == 1
    assert "groups/eu/app.toml: container.app.environment.B: unknown variable ${nope}" in found[0]
    assert "host a" in found[0]


def test_an_invalid_value_is_blamed_on_the_layer_that_set_it(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "base/app.toml": BASE,
        "hosts/b/app.toml": '[container.app]\nports = ["80:eighty"]\n',
    })  # fmt: skip
    found = problems(root, "b")
    assert len(found) == 1 and found[0].startswith(str(root / "hosts/b/app.toml"))
    assert "container.app.ports[0]" in found[0] and "(host b)" in found[0]


def test_a_variable_that_makes_a_value_invalid_is_an_error_of_the_host(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET.replace("port = 9090", 'port = "ninety"'),
        "base/app.toml": BASE,
    })  # fmt: skip
    read_fleet(str(root))
    found = problems(root, "b")
    assert "base/app.toml: container.app.ports[0]" in found[0] and "(host b)" in found[0]


def test_removing_what_no_earlier_layer_declares_is_an_error(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "hosts/a/drop.toml": "[container.typo]\nremove = true\n",
    })  # fmt: skip
    found = problems(root, "a")
    assert "hosts/a/drop.toml: container.typo.remove: no earlier layer declares it" in found[0]


def test_the_same_resource_twice_in_one_layer_is_an_error(tmp_path: Path) -> None:
    root = write(tmp_path, {"fleet.toml": FLEET, "base/a.toml": BASE, "base/b.toml": BASE})
    found = problems(root, "a")
    assert any("declared twice in one layer" in p for p in found)


def test_an_unknown_group_or_a_misspelt_key_in_fleet_toml_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"fleet.toml": '[host.a]\ngroups = ["wbe"]\n'})
    with pytest.raises(DefinitionError) as caught:
        read_fleet(str(tmp_path))
    assert "host.a.groups[0]" in str(caught.value.problems[0])
    write(tmp_path, {"fleet.toml": '[host.a]\ngroup = ["web"]\n'})
    with pytest.raises(DefinitionError) as caught:
        read_fleet(str(tmp_path))
    assert 'unknown key "group"' in str(caught.value.problems[0])


def test_a_host_is_matched_by_machine_id_before_its_name() -> None:
    from orchestrator.core.fleet import Host

    one = Host("web-1", (), {}, machine_id="a" * 32)
    two = Host("web-2", (), {})
    fleet = Fleet("/repo", {"web-1": one, "web-2": two})
    assert fleet.match("anything", "a" * 32) is one
    assert fleet.match("web-2.example.com", None) is two
    assert fleet.match("web-1", "b" * 32) is None  # the name belongs to another machine
    assert fleet.match("db-9", None) is None


def test_key_paths_are_read_back_as_they_are_printed() -> None:
    assert parse_key_path("container.web.ports[1]") == ("container", "web", "ports", 1)
    assert parse_key_path('container.web.environment."A B"') == (
        "container", "web", "environment", "A B",
    )  # fmt: skip


def test_a_problem_of_a_merged_value_names_its_host_once(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "base/app.toml": BASE,
        "hosts/b/app.toml": '[container.app]\nports = ["80:eighty"]\n',
    })  # fmt: skip
    assert problems(root, "b")[0].count("(host b)") == 1


def test_a_variable_in_a_key_is_refused_not_left_in_literally(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "base/app.toml": BASE,
        "groups/eu/labels.toml": '[container.app.labels]\n"${name}" = "x"\n',
    })  # fmt: skip
    found = problems(root, "a")
    assert len(found) == 1
    assert 'groups/eu/labels.toml: container.app.labels."${name}": variables are replaced in ' \
        "values only" in found[0]  # fmt: skip


def test_a_dollar_brace_without_its_closing_brace_is_refused(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "base/app.toml": BASE,
        "hosts/a/cmd.toml": '[container.app]\ncommand = ["sh", "-c", "echo ${name"]\n',
    })  # fmt: skip
    found = problems(root, "a")
    assert len(found) == 1
    assert "hosts/a/cmd.toml: container.app.command[2]: `${name` has no closing" in found[0]


def test_an_escaped_dollar_brace_stays_literal_even_without_its_closing_brace(
    tmp_path: Path,
) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "base/app.toml": BASE,
        "hosts/a/cmd.toml": '[container.app]\ncommand = ["sh", "-c", "a=$${x:-1} $${y"]\n',
    })  # fmt: skip
    fleet = read_fleet(str(root))
    merged = merge(fleet, fleet.host("a"))
    assert merged.tables[("container", "app")]["command"][2] == "a=${x:-1} ${y"


def test_a_resource_removed_then_declared_again_starts_afresh_and_explains_so(
    tmp_path: Path,
) -> None:
    root = write(tmp_path, {
        "fleet.toml": FLEET,
        "base/app.toml": BASE,
        "groups/web/drop.toml": "[container.app]\nremove = true\n",
        "hosts/a/app.toml": '[container.app]\nimage = "docker.io/library/busybox:1.37"\n',
    })  # fmt: skip
    fleet = read_fleet(str(root))
    merged = merge(fleet, fleet.host("a"))
    assert merged.tables[("container", "app")] == {"image": "docker.io/library/busybox:1.37"}
    assert merged.origin(("container", "app", "image")) == str(root / "hosts/a/app.toml")
    steps = [(Path(f).parent.name, k[2:]) for k, v in merged.history.items() for f, _ in v]
    assert steps == [("web", ("remove",)), ("a", ("image",))]


@pytest.mark.parametrize("ring", ["can ary", "-x", "a..b", "x.lock", 'we"ird', "stable/"])
def test_a_ring_that_is_no_branch_name_is_refused_in_fleet_toml(tmp_path: Path, ring: str) -> None:
    write(tmp_path, {"fleet.toml": f"[host.a]\nring = '{ring}'\n"})  # a TOML literal string
    with pytest.raises(DefinitionError) as caught:
        read_fleet(str(tmp_path))
    assert "host.a.ring: expected a git branch name" in str(caught.value.problems[0])


def test_rings_that_are_branch_names_are_accepted(tmp_path: Path) -> None:
    write(tmp_path, {"fleet.toml": '[host.a]\nring = "release/2026-11"\n'})
    assert read_fleet(str(tmp_path)).hosts["a"].ring == "release/2026-11"
