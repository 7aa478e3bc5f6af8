"""Unit overrides systemd would ignore are refused by validate, render and plan, naming the key;
those it takes pass (the real `systemd-analyze verify` decides)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_inline

HEAD = '[container.web]\nimage = "docker.io/library/nginx:1.27"\n'


@pytest.mark.parametrize("command", ["validate", "render", "plan"])
@pytest.mark.parametrize("user", [False, True], ids=["system", "user"])
def test_an_override_systemd_would_ignore_is_refused_with_its_key(
    command: str, user: bool, tmp_path: Path
) -> None:
    definitions = tmp_path / "web.toml"
    definitions.write_text(
        HEAD + '[container.web.unit.Service]\nnice = 5\nNice = 5\nLimitNOFILE = "lots"\n'
        '[container.web.unit.Unit]\nDocumentation = "not a url"\n'
    )
    extra = {"render": ["--out", str(tmp_path / "out")], "plan": ["--unit-dir", str(tmp_path)]}
    flags = ["--user"] if user else []

    result = run_inline(command, *flags, str(definitions), *extra.get(command, []))

    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {definitions}: container.web.unit.Unit.Documentation: systemd would not take "
        "this setting as written: Invalid URL, ignoring: not",
        f"error: {definitions}: container.web.unit.Unit.Documentation: systemd would not take "
        "this setting as written: Invalid URL, ignoring: a",
        f"error: {definitions}: container.web.unit.Unit.Documentation: systemd would not take "
        "this setting as written: Invalid URL, ignoring: url",
        f"error: {definitions}: container.web.unit.Service.nice: systemd would not take this "
        "setting as written: Unknown key 'nice' in section [Service], ignoring.",
        f"error: {definitions}: container.web.unit.Service.LimitNOFILE: systemd would not take "
        "this setting as written: Failed to parse resource value, ignoring: lots",
    ]
    assert not (tmp_path / "out").exists()


KINDS = {
    "pod": "",
    "image": 'image = "docker.io/library/nginx:1.27"\n',
    "build": 'context = "ctx"\n',
    "kube": 'yaml = "k.yaml"\n',
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_override_systemd_would_ignore_is_refused_in_every_kind_with_a_unit_table(
    kind: str, tmp_path: Path
) -> None:
    # only containers' overrides were checked: a pod's Documentation = 1 was ignored by systemd
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Containerfile").write_text("FROM docker.io/library/nginx:1.27\n")
    (tmp_path / "k.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    definitions = tmp_path / "defs.toml"
    definitions.write_text(
        f"[{kind}.x]\n{KINDS[kind]}[{kind}.x.unit.Service]\nnice = 5\n"
        f'[{kind}.x.unit.Unit]\nDocumentation = "1"\n'
    )

    result = run_inline("validate", str(definitions))

    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {definitions}: {kind}.x.unit.Unit.Documentation: systemd would not take "
        "this setting as written: Invalid URL, ignoring: 1",
        f"error: {definitions}: {kind}.x.unit.Service.nice: systemd would not take this "
        "setting as written: Unknown key 'nice' in section [Service], ignoring.",
    ]


def test_overrides_systemd_takes_pass(tmp_path: Path) -> None:
    definitions = tmp_path / "web.toml"
    definitions.write_text(
        HEAD + '[container.web.unit.Service]\nNice = 5\nEnvironment = ["A=1", "B=%n"]\n'
        '[container.web.unit.Unit]\nDocumentation = "https://example.com/"\nX-Mine = "x"\n'
        '[container.web.unit.X-Notes]\nanything = "goes"\n'
    )

    result = run_inline("validate", str(definitions))

    assert result.returncode == 0, result.stderr


def test_an_override_line_is_told_from_a_line_of_ours_of_the_same_name() -> None:
    from orchestrator.host.overrides import _override_at

    text = "[Service]\nRestart=on-failure\nNice=5\nRestart=always\n\n[Install]\nWantedBy=x\n"
    overrides = {"Service": {"Restart": ["always"], "Nice": ["5"]}}

    assert _override_at(text, 2, overrides) is None  # ours
    assert _override_at(text, 3, overrides) == ("Service", "Nice")
    assert _override_at(text, 4, overrides) == ("Service", "Restart")
    assert _override_at(text, 7, overrides) is None
    assert _override_at(text, 99, overrides) is None


def test_a_complaint_without_a_line_is_placed_by_the_value_it_quotes(tmp_path: Path) -> None:
    definitions = tmp_path / "web.toml"
    definitions.write_text(
        HEAD + '[container.web.unit.Service]\nExecReload = "abc"\nUser = "%n"\n'
        'ExecCondition = "/bin/true"\n'
    )

    result = run_inline("validate", str(definitions))

    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, result.stderr
    assert errors[0].startswith(f"error: {definitions}: container.web.unit.Service.User: ")
    assert "Accepting user/group name 'web.service'" in errors[0]
    assert errors[1].startswith(f"error: {definitions}: container.web.unit.Service.ExecReload: ")
    assert "Command abc is not executable" in errors[1]


def test_a_complaint_systemd_cut_short_is_placed_by_the_start_of_the_value(tmp_path: Path) -> None:
    definitions = tmp_path / "web.toml"
    definitions.write_text(HEAD + f'[container.web.unit.Service]\nUser = "{"x" * 70_000}"\n')

    result = run_inline("validate", str(definitions))

    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {definitions}: container.web.unit.Service.User: ")


@pytest.mark.parametrize(
    ("table", "unit"),
    [
        ('[image.proxy]\nimage = "docker.io/library/nginx:1.27"\n', "image.proxy"),
        ('[kube.demo]\nyaml = "./web.toml"\n', "kube.demo"),
    ],
)
def test_an_override_of_an_image_or_kube_systemd_would_ignore_is_refused(
    table: str, unit: str, tmp_path: Path
) -> None:
    definitions = tmp_path / "web.toml"
    definitions.write_text(table + "[" + unit + ".unit.Service]\nnice = 5\n")

    result = run_inline("validate", str(definitions))

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{unit}.unit.Service.nice: systemd would not take this setting" in result.stderr


def test_every_kind_is_rendered_for_the_override_check() -> None:
    from orchestrator.core.models import KINDS
    from orchestrator.core.render import RENDER_ONE_KINDS

    assert set(RENDER_ONE_KINDS) == set(KINDS), "a kind whose overrides nothing checks"
