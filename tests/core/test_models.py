"""Rules of the model that shape what podman is given."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import ValidationError

from orchestrator.core.models import Container, Network, Volume
from orchestrator.core.render import podman_run_argv


def _entrypoint_flag(entrypoint: object) -> str:
    container = Container.model_validate({"image": "localhost/app:1", "entrypoint": entrypoint})
    [flag] = [a for a in podman_run_argv("app", container) if a.startswith("--entrypoint=")]
    return flag.removeprefix("--entrypoint=")


@pytest.mark.parametrize(
    ("entrypoint", "words"),
    [
        ("/bin/sh -c 'echo hi'", ["/bin/sh", "-c", "echo hi"]),
        ("tini  --", ["tini", "--"]),
        ('"/opt/my app/run"', ["/opt/my app/run"]),
        ("[]", ["[]"]),  # not podman's JSON: the program named "[]"
    ],
)
def test_a_string_entrypoint_is_split_into_words_like_command(
    entrypoint: str, words: list[str]
) -> None:
    assert json.loads(_entrypoint_flag(entrypoint)) == words
    command = Container.model_validate({"image": "localhost/app:1", "command": entrypoint})
    assert command.command == words


def test_a_single_word_entrypoint_is_passed_as_it_always_was() -> None:
    assert _entrypoint_flag("/usr/bin/tini") == "/usr/bin/tini"


def test_an_array_entrypoint_is_passed_word_for_word() -> None:
    assert json.loads(_entrypoint_flag(["/bin/sh", "-c", "echo 'hi there'"])) == [
        "/bin/sh",
        "-c",
        "echo 'hi there'",
    ]


def _volume(options: dict[str, str], driver: str | None = None) -> Volume:
    return Volume.model_validate({"options": options, "driver": driver})


@pytest.mark.parametrize(
    "o", ["size=64m", "mode=1777,SIZE=1m", "inodes=100", "size=1m,nr_inodes=9"]
)
def test_a_size_limit_on_a_tmpfs_volume_is_refused_with_the_reason(o: str) -> None:
    with pytest.raises(ValidationError, match="XFS project quota"):
        _volume({"type": "tmpfs", "device": "tmpfs", "o": o})


@pytest.mark.parametrize("o", ["size", "INODES", "uid", "gid=", "uid=www-data", "size=1m,noquota"])
def test_what_podman_cannot_parse_in_o_is_refused(o: str) -> None:
    with pytest.raises(ValidationError, match=r"expected|noquota"):
        _volume({"o": o})


@pytest.mark.parametrize(
    ("options", "driver"),
    [
        (
            {"type": "tmpfs", "device": "tmpfs", "o": "mode=1777,nr_inodes=100,uid=1000,gid=-1"},
            None,
        ),
        ({"o": "size=10g"}, None),  # a project quota, where the host has one
        ({"o": "noquota"}, "local"),
        ({"type": "tmpfs", "o": "size"}, "some-plugin"),  # a plugin reads its own options
        ({"type": "tmpfs", "O": "size=1m"}, None),  # not podman's "o": passed on as it is
    ],
)
def test_volume_options_podman_can_use_are_accepted(
    options: dict[str, str], driver: str | None
) -> None:
    assert _volume(options, driver).options == options


def _volume_opts(**keys: object) -> list[str]:
    return Volume.model_validate(keys).driver_options()


@pytest.mark.parametrize(
    ("keys", "wanted"),
    [
        ({}, []),
        ({"uid": 0}, ["o=uid=0"]),  # 0 is an owner, not an absence
        ({"gid": 100, "uid": 1}, ["o=uid=1,gid=100"]),
        ({"copy": False}, ["nocopy"]),
        ({"copy": True}, ["copy"]),
        (
            {"device": "tmpfs", "type": "tmpfs", "mount_options": "mode=1777,,nodev", "uid": 1},
            ["device=tmpfs", "type=tmpfs", "o=uid=1,mode=1777,nodev"],
        ),
        ({"image": "localhost/busybox:test"}, ["image=localhost/busybox:test"]),
        ({"uid": 1, "options": {"size": "1m"}}, ["o=uid=1", "size=1m"]),
    ],
)
def test_a_volumes_keys_become_driver_options_in_quadlets_order(
    keys: dict[str, object], wanted: list[str]
) -> None:
    assert _volume_opts(**keys) == wanted


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"type": "ext4"}, "type needs device"),
        ({"mount_options": ["noatime"]}, '"noatime" needs device'),
        ({"mount_options": ["nodev"], "options": {"type": "tmpfs"}}, '"nodev" needs device'),
        ({"mount_options": ["a,b"]}, 'expected mount options like "noatime"'),
        ({"device": "tmpfs", "options": {"device": "tmpfs"}}, "keep only device"),
        ({"uid": 1, "options": {"o": "gid=1"}}, "keep only uid"),
        ({"copy": True, "options": {"nocopy": "true"}}, "keep only copy"),
        ({"uid": 1, "mount_options": ["UID=2"]}, "uid is given twice"),
        ({"uid": 4294967295}, "less than or equal"),
        ({"driver": "image"}, 'driver = "image" needs the image'),
        ({"driver": "local", "image": "localhost/a:1"}, 'image needs driver = "image"'),
        ({"image": "localhost/a:1", "copy": False}, "an image volume takes no copy"),
        ({"device": "tmpfs", "type": "tmpfs", "mount_options": ["size=1m"]}, "tmpfs volume"),
    ],
)
def test_a_volume_podman_would_fail_on_is_refused_with_the_reason(
    keys: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Volume.model_validate(keys)


@pytest.mark.parametrize("driver", ["", "local", None])
def test_an_empty_driver_is_the_local_one_for_every_rule(driver: str | None) -> None:
    with pytest.raises(ValidationError, match="type needs device"):
        Volume.model_validate({"driver": driver, "type": "ext4"})
    assert _volume_opts(driver=driver, uid=1) == ["o=uid=1"]


def test_an_image_volume_may_spell_the_default_driver_as_empty() -> None:
    volume = Volume.model_validate({"driver": "", "image": "localhost/a:1"})
    assert volume.driver_options() == ["image=localhost/a:1"]


def test_options_a_plugin_driver_reads_are_its_own() -> None:
    volume = Volume.model_validate({"driver": "nfs-plugin", "mount_options": ["vers=4"]})
    assert volume.driver_options() == ["o=vers=4"]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"subnet": "10.1.0.0/24", "subnets": ["10.2.0.0/24"]}, "cannot both be set"),
        (
            {"subnets": ["10.1.0.0/24", {"subnet": "10.2.0.0/24", "ip_range": "10.2.0.0/25"}]},
            "subnets[1] has a ip_range but subnets[0] before it has none",
        ),
        ({"subnets": [{"subnet": "10.1.0.0/24", "gateway": "10.2.0.1"}]}, "is not in subnet"),
        ({"subnets": [5]}, "expected a subnet in CIDR form or a table"),
        ({"ipam_driver": "dhcp", "subnets": ["10.1.0.0/24"]}, 'ipam_driver = "dhcp"'),
        ({"dns": False, "dns_servers": ["10.0.0.53"]}, "remove dns = false"),
    ],
)
def test_a_network_podman_would_fail_on_or_misread_is_refused(
    keys: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Network.model_validate(keys)


def test_subnets_with_a_gateway_before_those_without_are_in_podmans_order() -> None:
    network = Network.model_validate(
        {"subnets": [{"subnet": "10.1.0.0/24", "gateway": "10.1.0.9"}, "10.2.0.0/24"]}
    )
    assert [s.gateway for s in network.all_subnets()] == ["10.1.0.9", None]
