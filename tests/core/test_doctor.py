"""doctor's decisions, from made-up facts: each check says ok, warn or fail as it should."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.core import doctor
from orchestrator.core.doctor import Check, DefinitionFacts, HostFacts
from orchestrator.core.loader import load

HEALTHY = HostFacts(
    mode="system",
    pid1="systemd",
    systemd_version=252,
    podman_version=(4, 9),
    oci_runtime="crun",
    runtime_version="1.14",
    cgroups="v2",
    catatonit="/usr/libexec/podman/catatonit",
    subuid=True,
    subgid=True,
    linger=True,
    runtime_dir=True,
    tun=True,
    network_online=("systemd-networkd-wait-online.service",),
    short_name_mode="enforcing",
    search_registries=("docker.io",),
    journal_dir=True,
)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_healthy_host_passes_every_check_in_both_modes() -> None:
    for mode in ("system", "user"):
        checks = doctor.host_checks(replace(HEALTHY, mode=mode))
        assert [c.status for c in checks] == ["ok"] * len(checks), checks
        assert not doctor.failed(checks)


@pytest.mark.parametrize(
    ("change", "name", "status", "fix"),
    [
        ({"manager_error": "no bus", "pid1": "bash"}, "systemd", "fail", "PID 1 is systemd"),
        ({"podman_version": None}, "podman", "fail", "apt-get install podman"),
        ({"podman_version": (4, 2)}, "podman", "fail", "4.3 or newer"),
        ({"catatonit": None}, "init", "warn", "catatonit"),
        ({"network_online": ()}, "network-online", "warn", "wait-online"),
        ({"search_registries": ()}, "short-names", "warn", "unqualified-search-registries"),
        ({"search_registries": ("a.io", "b.io")}, "short-names", "warn", "permissive"),
        ({"journal_dir": False}, "journal", "warn", "/var/log/journal"),
        ({"journal_storage": "volatile"}, "journal", "warn", "/var/log/journal"),
        ({"cgroups": "hybrid"}, "cgroups", "warn", "unified_cgroup_hierarchy"),
        ({"oci_runtime": "runc", "runtime_version": "0.1.1"}, "cgroups", "fail", "crun"),
    ],
)
def test_what_is_missing_on_a_system_host_is_named_with_its_fix(
    change: dict[str, object], name: str, status: str, fix: str
) -> None:
    check = by_name(doctor.host_checks(replace(HEALTHY, **change)))[name]  # type: ignore[arg-type]
    assert (check.status, fix in check.fix) == (status, True), check
    assert doctor.failed([check]) == (status == "fail")


@pytest.mark.parametrize(
    ("change", "name", "status"),
    [
        ({"subuid": False}, "subids", "fail"),
        ({"subgid": False}, "subids", "fail"),
        ({"linger": False}, "linger", "warn"),
        ({"tun": False}, "tun", "fail"),
        ({"cgroups": "v1"}, "cgroups", "warn"),
        ({"manager_error": "no bus", "runtime_dir": False}, "systemd", "fail"),
    ],
)
def test_user_mode_needs_subids_lingering_and_tun(
    change: dict[str, object], name: str, status: str
) -> None:
    user = replace(HEALTHY, mode="user", user="tester", uid=1500, **change)  # type: ignore[arg-type]
    check = by_name(doctor.host_checks(user))[name]
    assert check.status == status
    assert "tester" in check.fix or check.name in ("tun", "cgroups")


def test_network_online_matters_only_to_system_units() -> None:
    user = doctor.host_checks(replace(HEALTHY, mode="user", network_online=()))
    assert "network-online" not in by_name(user)
    assert "subids" not in by_name(doctor.host_checks(HEALTHY))


DEFINITIONS = """\
[container.web]
image = "docker.io/library/nginx:1.27"
ports = ["127.0.0.1:8080:80", "9000-9001:9000-9001/udp"]
volumes = ["/srv/www:/usr/share/nginx/html:ro"]
secrets = ["token"]
init = true

[container.job]
image = "localhost/job:1"
pull = "never"
env_files = ["/etc/job.env"]
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    (tmp_path / "defs.toml").write_text(DEFINITIONS)
    return tmp_path


def all_there() -> DefinitionFacts:
    return DefinitionFacts(
        images={"docker.io/library/nginx:1.27": True, "localhost/job:1": True},
        secrets={"token": True},
        paths={"/srv/www": True, "/etc/job.env": True},
    )


def test_definitions_whose_needs_are_met_pass(spec_dir: Path) -> None:
    checks = doctor.definition_checks(load([str(spec_dir)]), HEALTHY, all_there())
    assert all(c.status == "ok" for c in checks), checks
    assert {
        "image localhost/job:1",
        "secret token",
        "path /srv/www",
        "path /etc/job.env",
        "ports",
        "podman features",
    } <= set(by_name(checks))


@pytest.mark.parametrize(
    ("facts", "name", "fix"),
    [
        (
            DefinitionFacts(images={"localhost/job:1": False}),
            "image localhost/job:1",
            "podman pull localhost/job:1",
        ),
        (DefinitionFacts(secrets={"token": False}), "secret token", "podman secret create token"),
        (DefinitionFacts(paths={"/srv/www": False}), "path /srv/www", "create /srv/www"),
        (DefinitionFacts(paths={"/etc/job.env": False}), "path /etc/job.env", "create"),
        (
            DefinitionFacts(busy_ports={"127.0.0.1:8080/tcp": "something else listens there"}),
            "port 127.0.0.1:8080/tcp",
            "publish another port",
        ),
        (
            DefinitionFacts(busy_ports={"0.0.0.0:9001/udp": "something else listens there"}),
            "port 0.0.0.0:9001/udp",
            "stop what holds it",
        ),
    ],
)
def test_what_the_definitions_need_and_the_host_lacks_fails(
    spec_dir: Path, facts: DefinitionFacts, name: str, fix: str
) -> None:
    merged = replace(
        all_there(),
        **{k: {**getattr(all_there(), k), **v} for k, v in vars(facts).items() if v},
    )
    checks = by_name(doctor.definition_checks(load([str(spec_dir)]), HEALTHY, merged))
    assert checks[name].status == "fail", checks[name]
    assert fix in checks[name].fix


def test_a_port_held_by_the_container_itself_is_no_conflict(spec_dir: Path) -> None:
    busy = replace(
        all_there(), busy_ports={"127.0.0.1:8080/tcp": "in use"}, running=frozenset({"web"})
    )
    checks = by_name(doctor.definition_checks(load([str(spec_dir)]), HEALTHY, busy))
    assert checks["ports"].status == "ok"


def test_a_missing_image_is_pulled_by_apply_unless_it_cannot_be(spec_dir: Path) -> None:
    spec = load([str(spec_dir)])
    missing = replace(all_there(), images={})
    checks = by_name(doctor.definition_checks(spec, HEALTHY, missing))
    assert checks["image docker.io/library/nginx:1.27"].status == "ok"
    assert "apply pulls" in checks["image docker.io/library/nginx:1.27"].detail
    assert checks["image localhost/job:1"].status == "fail"  # pull = "never"
    unpullable = replace(missing, unpullable={"docker.io/library/nginx:1.27": "no registry"})
    checks = by_name(doctor.definition_checks(spec, HEALTHY, unpullable))
    assert checks["image docker.io/library/nginx:1.27"].status == "fail"


def test_init_without_catatonit_and_keys_an_old_podman_lacks_fail(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(DEFINITIONS + "security_label_nested = true\n")
    spec = load([str(tmp_path)])
    old = replace(HEALTHY, catatonit=None, podman_version=(4, 3))
    checks = by_name(doctor.definition_checks(spec, old, all_there()))
    assert checks["container.web.init"].status == "fail"
    assert checks["container.job.security_label_nested"].status == "fail"
    assert "podman features" not in checks


def test_published_ports_expand_ranges_and_default_the_address() -> None:
    assert doctor.published(["80:80", "[::1]:53:53/udp", "127.0.0.1:7-8:7-8"]) == [
        "0.0.0.0:80/tcp",
        "::1:53/udp",
        "127.0.0.1:7/tcp",
        "127.0.0.1:8/tcp",
    ]
