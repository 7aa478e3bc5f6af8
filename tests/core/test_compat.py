"""Podman versions: a key or value newer than the podman is refused with the version it needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.core import compat
from orchestrator.core.loader import load
from orchestrator.core.models import Spec
from orchestrator.errors import DefinitionError
from tests.support.cli import run_inline


def spec_of(tmp_path: Path, body: str) -> Spec:
    (tmp_path / "a.toml").write_text(f'[container.a]\nimage = "localhost/a:1"\n{body}\n')
    return load([str(tmp_path)])


NEWER = [
    ('health = { command = "true", startup_command = "true" }', "health.startup_command", "4.4"),
    ("security_label_nested = true", "security_label_nested", "4.5"),
    ('notify = "healthy"\nhealth = { command = "true" }', "notify", "4.7"),
    ('containers_conf_module = ["/etc/x.conf"]', "containers_conf_module", "4.7"),
    ('mounts = ["type=glob,source=/srv/*.conf,target=/etc/app"]', "mounts[0]", "4.7"),
    ('mounts = [{ type = "ramfs", target = "/scratch" }]', "mounts[0]", "4.7"),
    ("ulimits = { nofile = -1 }", "ulimits.nofile", "4.8"),
    ('health = { command = "true", log_count = 10 }', "health.log_count", "5.3"),
    ('ulimits = { memlock = "unlimited" }', "ulimits.memlock", "4.8"),
]


@pytest.mark.parametrize(("body", "key", "since"), NEWER, ids=[n[1] for n in NEWER])
def test_a_key_newer_than_the_podman_is_refused_naming_the_key_and_version(
    tmp_path: Path, body: str, key: str, since: str
) -> None:
    spec = spec_of(tmp_path, body)
    older = compat.parse_version(since)
    assert older is not None
    with pytest.raises(DefinitionError) as caught:
        compat.check(spec, (older[0], older[1] - 1))
    text = "\n".join(caught.value.lines())
    assert f"a.toml: container.a.{key}: " in text
    assert f"needs podman {since} or later" in text
    compat.check(spec, older)  # and allowed from that version on


def test_keys_podman_4_3_has_are_never_refused(tmp_path: Path) -> None:
    root = Path(__file__).parent / "golden"
    for case in ("process-network", "security-logging", "full"):
        compat.check(load([str(root / case / "input")]), compat.OLDEST)


@pytest.mark.parametrize(
    ("text", "version"),
    [("4.3", (4, 3)), ("4.3.1", (4, 3)), ("5.4.2-dev", (5, 4)), ("v5.0", (5, 0)), ("x", None)],
)
def test_versions_are_read_as_major_and_minor(text: str, version: tuple[int, int] | None) -> None:
    assert compat.parse_version(text) == version


def test_validate_checks_against_the_version_given() -> None:
    case = "tests/core/golden/reload-notify/input"
    refused = run_inline("validate", "--podman-version", "4.3", case)
    accepted = run_inline("validate", "--podman-version", "5.4", case)
    assert refused.returncode == 1
    assert "container.api.health.startup_command" in refused.stderr
    assert "needs podman 4.4 or later; this is podman 4.3" in refused.stderr
    assert accepted.returncode == 0, accepted.stderr


def test_render_checks_against_the_version_given(tmp_path: Path) -> None:
    case = "tests/core/golden/reload-notify/input"
    refused = run_inline("render", "--podman-version", "4.3", case, "--out", str(tmp_path / "o"))
    assert refused.returncode == 1
    assert not (tmp_path / "o").exists()
    accepted = run_inline("render", "--podman-version", "5.3", case, "--out", str(tmp_path / "o"))
    assert accepted.returncode == 0, accepted.stderr


def test_plan_checks_against_the_installed_podman(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.host import facts

    monkeypatch.setattr(facts, "podman_version", lambda: (4, 6))
    case = "tests/core/golden/reload-notify/input"
    result = run_inline("plan", case, "--unit-dir", str(tmp_path))
    assert result.returncode == 1
    assert "container.api.health.log_destination" in result.stderr
    assert "needs podman 5.3 or later; this is podman 4.6" in result.stderr
    assert "startup_command" not in result.stderr  # 4.4 is older than the podman


def test_the_installed_version_is_asked_once_and_4_3_when_podman_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from orchestrator.host import facts, runner

    calls: list[list[str]] = []

    def failing(argv: list[str], **_: object) -> object:
        calls.append(argv)
        raise runner.CommandError(argv, 127, "podman: command not found")

    monkeypatch.setattr(runner, "run", failing)
    facts.podman_version.cache_clear()
    try:
        assert facts.podman_version() == (4, 3)
        assert facts.podman_version() == (4, 3)
    finally:
        facts.podman_version.cache_clear()
    assert len(calls) == 1


ONESHOT_NEWER = [
    ("network", 'dns_servers = ["10.0.0.53"]', "dns_servers", "4.4"),
    ("network", 'containers_conf_module = ["/etc/x.conf"]', "containers_conf_module", "4.7"),
    ("volume", 'containers_conf_module = ["/etc/x.conf"]', "containers_conf_module", "4.7"),
]


@pytest.mark.parametrize(
    ("kind", "body", "key", "since"), ONESHOT_NEWER, ids=[f"{n[0]}.{n[2]}" for n in ONESHOT_NEWER]
)
def test_a_volume_or_network_key_newer_than_the_podman_is_refused_naming_it(
    tmp_path: Path, kind: str, body: str, key: str, since: str
) -> None:
    (tmp_path / "a.toml").write_text(f"[{kind}.a]\n{body}\n")
    spec = load([str(tmp_path)])
    older = compat.parse_version(since)
    assert older is not None
    with pytest.raises(DefinitionError) as caught:
        compat.check(spec, (older[0], older[1] - 1))
    text = "\n".join(caught.value.lines())
    assert f"a.toml: {kind}.a.{key}: " in text and f"needs podman {since} or later" in text
    compat.check(spec, older)


def test_volume_and_network_keys_podman_4_3_has_are_never_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        '[volume.a]\ndevice = "tmpfs"\ntype = "tmpfs"\nmount_options = ["mode=1777"]\nuid = 1\n'
        'copy = false\nglobal_args = ["--log-level=info"]\npodman_args = ["--label=x=1"]\n'
        '[volume.b]\nimage = "localhost/busybox:test"\n'
        '[network.a]\nsubnets = [{ subnet = "10.89.1.0/24", gateway = "10.89.1.1" }, "fd00::/64"]\n'
        'ipam_driver = "host-local"\nipv6 = true\ninternal = true\ndns = false\n'
    )
    compat.check(load([str(tmp_path)]), compat.OLDEST)
