"""Rendering rules that the golden cases do not pin down one by one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import BaseModel

from orchestrator.core.models import Container, Health, Network, Pod, Volume
from orchestrator.core.render import (
    FIND_DEVICES,
    HEALTH_FLAGS,
    NETWORK_FLAGS,
    ONESHOT_BY_CODE,
    POD_FLAGS,
    POD_RENDERED_BY_CODE,
    RENDERED_BY_CODE,
    RUN_FLAGS,
    SERVICE_DIRECTIVES,
    VOLUME_FLAGS,
    Directive,
    Each,
    Flag,
    Pairs,
    Switch,
    SwitchOff,
    podman_run_argv,
    row_key,
)

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


def container(**keys: object) -> Container:
    return Container.model_validate({"image": "localhost/busybox:test", **keys})


CONTAINER_ROWS = [
    row for row in (*RUN_FLAGS, *SERVICE_DIRECTIVES) if isinstance(row, Flag | Directive)
]
TABLES = [
    ("container", Container, CONTAINER_ROWS),
    ("health", Health, list(HEALTH_FLAGS)),
    ("volume", Volume, [row for row in VOLUME_FLAGS if isinstance(row, Flag)]),
    ("network", Network, [row for row in NETWORK_FLAGS if isinstance(row, Flag)]),
    ("pod", Pod, list(POD_FLAGS)),
]


@pytest.mark.parametrize(("kind", "model", "rows"), TABLES, ids=[t[0] for t in TABLES])
def test_every_table_row_names_a_field_of_its_model(
    kind: str, model: type[BaseModel], rows: list[Flag | Directive]
) -> None:
    unknown = [row.field for row in rows if row.field not in model.model_fields]
    assert not unknown, f"{kind} rows name fields the model does not have: {unknown}"


def test_every_container_key_is_rendered_by_a_row_or_named_as_rendered_by_code() -> None:
    by_row = {row.field for row in CONTAINER_ROWS}
    fields = set(Container.model_fields)
    assert not RENDERED_BY_CODE - fields, "RENDERED_BY_CODE names keys the model does not have"
    assert not RENDERED_BY_CODE & by_row, "a key with a row is not also listed as rendered by code"
    missing = fields - by_row - RENDERED_BY_CODE
    assert not missing, f"container keys nothing renders: {sorted(missing)}"


# the keys of volumes and networks that a function of their table renders, not a Flag row
VOLUME_BY_FUNCTION = {"driver", "device", "type", "mount_options", "uid", "gid", "copy_up",
                      "image", "options"}  # fmt: skip
# (and delete_on_stop, the network unit's ExecStopPost=)
NETWORK_BY_FUNCTION = {"subnet", "gateway", "ip_range", "subnets", "delete_on_stop"}


@pytest.mark.parametrize(
    ("model", "by_code", "rows"),
    [
        (Health, set(), HEALTH_FLAGS),
        (Volume, ONESHOT_BY_CODE | VOLUME_BY_FUNCTION, VOLUME_FLAGS),
        (Network, ONESHOT_BY_CODE | NETWORK_BY_FUNCTION, NETWORK_FLAGS),
        (Pod, POD_RENDERED_BY_CODE, POD_FLAGS),
    ],
    ids=["health", "volume", "network", "pod"],
)
def test_every_health_volume_and_network_key_is_rendered(
    model: type[BaseModel], by_code: set[str], rows: tuple[object, ...]
) -> None:
    flags = {row.field for row in rows if isinstance(row, Flag)}
    assert set(model.model_fields) == flags | by_code
    assert not flags & by_code, "a key with a row is not also listed as rendered by code"


def test_a_definition_with_only_an_image_writes_no_flag_from_any_row() -> None:
    assert [arg for step in RUN_FLAGS for arg in step(container())] == []


@pytest.mark.parametrize(
    ("row", "model", "wanted"),
    [
        # 0 is a value, not an absence
        (Flag("stop_timeout", "--t"), container(stop_timeout=0), ["--t=0"]),
        (Directive("restart_sec", "RestartSec"), container(restart_sec=0), [("RestartSec", "0")]),
        (Directive("restart_sec", "RestartSec"), container(), []),
        # the default spelled out writes nothing
        (Flag("on_failure", "--f", unless="none"), Health(command="true"), []),
        (
            Flag("on_failure", "--f", unless="none"),
            Health(command="true", on_failure="kill"),
            ["--f=kill"],
        ),
        # a driver given as "" has always meant the default driver
        (Flag("driver", "--driver"), Volume(driver=""), []),
        (Flag("driver", "--driver"), Volume(driver="local"), ["--driver=local"]),
        (Switch("internal", "--internal"), Network(), []),
        (Switch("internal", "--internal"), Network(internal=True), ["--internal"]),
        (SwitchOff("dns", "--disable-dns"), Network(), []),
        (SwitchOff("dns", "--disable-dns"), Network(dns=False), ["--disable-dns"]),
        (Pairs("options", "--opt"), Volume(), []),
        (
            Pairs("options", "--opt"),
            Volume(options={"o": "size=1m", "a": "1"}),
            ["--opt=o=size=1m", "--opt=a=1"],
        ),
        (Each("networks", "--network"), container(), []),
        (
            Each("networks", "--network", str.upper),
            container(networks=["a", "b"]),
            ["--network=A", "--network=B"],
        ),
    ],
)
def test_a_row_writes_its_flag_for_each_value_and_nothing_when_the_key_is_absent(
    row: Flag | Directive, model: BaseModel, wanted: list[object]
) -> None:
    assert list(row(model)) == wanted


def test_a_pod_unit_does_not_change_when_a_member_is_added_so_its_siblings_keep_running(
    tmp_path: Path,
) -> None:
    from orchestrator.core.loader import load
    from orchestrator.core.render import render

    pod = '[pod.shop]\nports = ["8080:80"]\n'
    member = '[container.{0}]\nimage = "localhost/busybox:test"\npod = "shop"\n'
    (tmp_path / "a.toml").write_text(pod + member.format("web"))
    one = render(load([str(tmp_path)]))
    (tmp_path / "b.toml").write_text(member.format("worker"))
    two = render(load([str(tmp_path)]))
    assert one["shop-pod.service"] == two["shop-pod.service"]
    assert "WantedBy=multi-user.target shop-pod.service" in two["worker.service"]


def test_the_optional_devices_step_writes_the_flags_of_the_devices_present(tmp_path: Path) -> None:
    present = tmp_path / "present"
    present.touch()
    env = tmp_path / "devices.env"
    given = [f"{present}:/dev/x:rw", str(tmp_path / "absent"), str(present)]
    subprocess.run(["/bin/sh", "-c", FIND_DEVICES, str(env), *given], check=True)
    name, _, value = env.read_text().strip().partition("=")
    assert name == "ORCHESTRATOR_DEVICES"
    assert value.split() == [f"--device={present}:/dev/x:rw", f"--device={present}"]


def test_a_rootfs_takes_the_image_s_place_after_podman_s_rootfs_switch() -> None:
    rooted = Container.model_validate({"rootfs": "/srv/root:O", "command": ["/bin/sh"]})
    assert podman_run_argv("app", rooted)[-3:] == ["--rootfs", "/srv/root:O", "/bin/sh"]


def test_a_member_joins_its_pod_by_the_pod_id_file_the_pod_unit_writes() -> None:
    member = container(pod="shop")
    assert "--pod-id-file=%t/shop-pod.service.pod-id" in podman_run_argv("app", member)


def test_read_only_tmpfs_false_without_read_only_is_written_as_quadlet_writes_it() -> None:
    argv = podman_run_argv("app", container(read_only_tmpfs=False))
    assert "--read-only-tmpfs=false" in argv and "--read-only" not in argv


def test_a_network_deleted_on_stop_is_removed_with_the_unit_s_global_options() -> None:
    from orchestrator.core.render import render_network

    text = render_network(
        "lan", Network(delete_on_stop=True, global_args=["--log-level=info"]), "/d/a.toml"
    )
    assert "ExecStopPost=/usr/bin/podman --log-level=info network rm lan\n" in text
    assert "ExecStopPost" not in render_network("lan", Network(), "/d/a.toml")


def test_a_run_flag_row_writes_nothing_for_a_key_left_at_its_default() -> None:
    """podman_run_argv runs the rows of the keys a definition gives only: that holds while each
    row writes nothing when its key is at its default, whatever the other keys say."""
    from pathlib import Path

    from orchestrator.core.loader import load

    plain = Container.model_validate({"image": "docker.io/library/nginx:1.27"})
    golden = Path(__file__).parent / "golden"
    containers = [plain]
    for case in ("full", "security-logging", "process-network", "reload-notify", "storage"):
        containers += load([str(golden / case / "input")]).containers.values()
    for row in RUN_FLAGS:
        key = row_key(row)
        default = Container.model_fields[key].get_default(call_default_factory=True)
        for c in containers:
            assert not list(row(c.model_copy(update={key: default}))), (key, c)
