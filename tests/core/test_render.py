"""Rendering rules that the golden cases do not pin down one by one."""

from __future__ import annotations

import pytest

from orchestrator.core.models import Container
from orchestrator.core.render import podman_run_argv

SECRETS_TMPFS = "--tmpfs=/run/secrets:rw,nosuid,nodev,noexec,mode=0755"


@pytest.mark.parametrize(
    ("extra", "wanted"),
    [
        ({"read_only": True, "secrets": ["tls"]}, True),
        ({"read_only": True, "secrets": [{"name": "tls", "target": "cert.pem"}]}, True),
        ({"read_only": True, "secrets": [{"name": "tls", "target": "/etc/cert.pem"}]}, False),
        ({"read_only": True, "secrets": [{"name": "pw", "type": "env", "target": "PW"}]}, False),
        ({"read_only": False, "secrets": ["tls"]}, False),
        ({"read_only": True, "secrets": ["tls"], "tmpfs": ["/run/secrets:size=1m"]}, False),
    ],
)
def test_a_read_only_root_gets_a_place_for_mounted_secrets(
    extra: dict[str, object], wanted: bool
) -> None:
    container = Container.model_validate({"image": "localhost/busybox:test", **extra})
    argv = podman_run_argv("app", container)
    assert (SECRETS_TMPFS in argv) is wanted
    if wanted:
        assert argv.index(SECRETS_TMPFS) < argv.index("localhost/busybox:test")


@pytest.mark.parametrize(
    ("mode", "cgroups_v1", "flag"),
    [
        ("system", False, "--cgroups=split"),
        ("system", True, "--cgroups=split"),
        ("user", False, "--cgroups=split"),
        ("user", True, "--cgroups=no-conmon"),  # rootless podman cannot split on cgroup v1
    ],
)
def test_where_conmon_goes_depends_on_mode_and_cgroup_layout(
    mode: str, cgroups_v1: bool, flag: str
) -> None:
    container = Container.model_validate({"image": "localhost/busybox:test"})
    argv = podman_run_argv("app", container, mode, cgroups_v1)  # type: ignore[arg-type]
    assert flag in argv and len([a for a in argv if str(a).startswith("--cgroups")]) == 1
