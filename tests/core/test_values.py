"""Values systemd or podman would refuse or ignore are refused at validate, and nothing valid is.

The verdicts below were taken from the real tools (podman 4.3.1, systemd 252); the tests marked
`integration` ask them again.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.core import values
from tests.core.test_verify import verify

DIGEST256 = "sha256:" + "0123456789abcdef" * 4
VALID_IMAGES = [
    "nginx",
    "nginx:1.27",
    "docker.io/library/nginx:1.27",
    "docker.io/nginx",
    "localhost/busybox:test",
    "localhost:5000/a/b/c:v1",
    f"registry.example.com:5000/team/app@{DIGEST256}",
    f"registry.example.com/team/app:v1@{DIGEST256}",
    "app@sha384:" + "0123456789abcdef" * 6,
    "app@sha512:" + "0123456789abcdef" * 8,
    "Foo/bar",  # an upper-case first component is a registry host
    "a__b",
    "a--b",
    "a.b_c",
    "127.0.0.1:5000/x",
    "quay.io/podman/hello:latest",
    "gcr.io/distroless/static-debian12:nonroot",
    "ghcr.io/owner/repo/sub:tag_with.dots-and-dash",
    "x:TAG",
    "x:_tag",
    "a" * 255,
    "r.io/" + "a" * 250,
    "x:" + "t" * 128,
]
INVALID_IMAGES = [
    "-v/etc/x",
    "-v",
    "--privileged",
    "app@md5:0123456789abcdef0123456789abcdef",
    "app@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
    "app@sha256:0123",
    "foo/Bar",
    "UPPER",
    "a___b",
    "a..b",
    "a._b",
    "_a",
    "a_",
    "[::1]:5000/x",
    "x:.tag",
    "x:-tag",
    "x:",
    "x@",
    "/x",
    "x/",
    "x//y",
    "reg.io:/x",
    "reg.io:abc/x",
    "reg-.io/x",
    "-reg.io/x",
    "reg.io/-x",
    "a:b:c",
    "a" * 256,
    "x:" + "t" * 129,
    "",
    "nginx ",
]


@pytest.mark.parametrize("ref", VALID_IMAGES)
def test_valid_image_references_are_accepted(ref: str) -> None:
    assert values.image(ref) == ref


@pytest.mark.parametrize("ref", INVALID_IMAGES)
def test_invalid_image_references_are_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="expected an image"):
        values.image(ref)


@pytest.mark.integration
def test_podman_agrees_on_every_image_reference() -> None:
    """`podman image exists` exits 1 for a valid reference it lacks, 125 for an invalid one."""
    if not shutil.which("podman"):
        pytest.skip("podman is not installed")
    wrong = []
    for ref in [*VALID_IMAGES, *INVALID_IMAGES]:
        if not ref or ref != ref.strip():
            continue  # podman trims or refuses these before parsing
        result = subprocess.run(
            ["podman", "image", "exists", "--", ref], capture_output=True, check=False
        )
        if (result.returncode != 125) != (ref in VALID_IMAGES):
            wrong.append((ref, result.returncode))
    assert not wrong


# (directive, value, systemd 252 applies it): every value systemd ignores leaves the container
# unlimited, so validate must refuse exactly those.
LIMITS = [
    ("MemoryMax", "100%", True),
    ("MemoryMax", "99.99%", True),
    ("MemoryMax", "99.9%", True),
    ("MemoryMax", "0.01%", True),
    ("MemoryMax", "1", True),
    ("MemoryMax", "0.5K", True),
    ("MemoryMax", "0.001K", True),
    ("MemoryMax", "1.5G", True),
    ("MemoryMax", "15E", True),
    ("MemoryMax", "18446744073709551614", True),
    ("MemoryMax", "infinity", True),
    ("MemoryMax", "101%", False),
    ("MemoryMax", "99.999%", False),
    ("MemoryMax", "0%", False),
    ("MemoryMax", "0.001%", False),
    ("MemoryMax", "050%", False),  # in MISREAD
    ("MemoryMax", "08%", False),
    ("MemoryMax", "1.%", False),
    ("MemoryMax", ".5%", False),
    ("MemoryMax", "0.1", False),
    ("MemoryMax", "0.0001K", False),
    ("MemoryMax", "15.9E", False),
    ("MemoryMax", "16E", False),
    ("MemoryMax", "18446744073709551615", False),
    ("MemoryMax", "99999999999999999999E", False),
    ("MemoryMax", "1.99999999999999999999K", False),
    ("MemoryMax", "0x10", False),
    ("TasksMax", "100%", True),
    ("TasksMax", "0.01%", True),
    ("TasksMax", "0.1%", True),
    ("TasksMax", "18446744073709551614", True),
    ("TasksMax", "infinity", True),
    ("TasksMax", "101%", False),
    ("TasksMax", "0.001%", False),
    ("TasksMax", "050%", False),
    ("TasksMax", "0", False),
    ("TasksMax", "18446744073709551615", False),
    ("CPUQuota", "0.01%", True),
    ("CPUQuota", "100.55%", True),
    ("CPUQuota", "21474836%", True),
    ("CPUQuota", "21474836.47%", True),
    ("CPUQuota", "0.001%", False),
    ("CPUQuota", "0%", False),
    ("CPUQuota", "08%", False),
    ("CPUQuota", "100.555%", False),
    ("CPUQuota", "21474836.48%", False),
    ("CPUQuota", "21474837%", False),
    ("CPUQuota", "12345678901234567890%", False),
]
# Applied, but not as written: systemd reads the whole part in base 0, so this is octal 40%.
MISREAD = {"050%"}
_PARSERS = {"MemoryMax": values.size, "TasksMax": values.tasks_max, "CPUQuota": values.cpu_quota}


def _accepts(directive: str, text: str) -> bool:
    given: object = int(text) if text.isdigit() and directive != "CPUQuota" else text
    try:
        _PARSERS[directive](given)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(("directive", "text", "applied"), LIMITS)
def test_a_limit_is_accepted_exactly_when_systemd_applies_it(
    directive: str, text: str, applied: bool
) -> None:
    assert _accepts(directive, text) == applied


def test_systemd_applies_every_limit_we_accept_and_ignores_every_one_we_refuse(
    tmp_path: Path,
) -> None:
    lines = [f"{directive}={text}" for directive, text, _ in LIMITS]
    (tmp_path / "limits.service").write_text(
        "[Service]\nExecStart=/bin/true\n" + "".join(line + "\n" for line in lines)
    )
    result = verify(tmp_path)
    ignored = {int(n) - 3 for n in re.findall(r"limits\.service:(\d+): .*ignoring", result.stderr)}
    wrong = [
        lines[i]
        for i, (directive, text, _) in enumerate(LIMITS)
        if (i in ignored) == (_accepts(directive, text) or text in MISREAD)
    ]
    assert not wrong, result.stderr


# The container keys taken from Quadlet: what each parser makes of a value, or None if refused.
QUADLET_VALUES = [
    (values.signal, "SIGINT", "SIGINT"),
    (values.signal, "term", "SIGTERM"),
    (values.signal, 9, "9"),
    (values.signal, "RTMIN+3", "SIGRTMIN+3"),
    (values.signal, "SIGFOO", None),
    (values.signal, 65, None),
    (values.signal, True, None),
    (values.shm_size, "64m", "64m"),
    (values.shm_size, 1048576, "1048576"),
    (values.shm_size, "64MB", None),
    (values.shm_size, "0", None),
    (values.ulimit, 1024, "1024"),
    (values.ulimit, "1024:4096", "1024:4096"),
    (values.ulimit, "unlimited", "-1"),
    (values.ulimit, -1, "-1"),
    (values.ulimit, "4096:1024", None),
    (values.ulimit, -2, None),
    (values.ulimit, "lots", None),
    (values.ulimit_name, "RLIMIT_NOFILE", "nofile"),
    (values.ulimit_name, "files", None),
    (values.sysctl_name, "net.ipv4.ip_forward", "net.ipv4.ip_forward"),
    (values.sysctl_name, "forward", None),
    (values.dns_server, "none", "none"),
    (values.dns_server, "::1", "::1"),
    (values.dns_server, "resolver", None),
    (values.dns_search, ".", "."),
    (values.dns_search, "bad domain", None),
    (values.expose, 80, "80"),
    (values.expose, "53/udp", "53/udp"),
    (values.expose, "90-80", None),
    (values.expose, "80/http", None),
    (values.ip_of(4), "10.0.0.1", "10.0.0.1"),
    (values.ip_of(4), "fd00::1", None),
    (values.ip_of(6), "fd00::1", "fd00::1"),
    (values.mac_address, "92:d0:c6:0a:29:33", "92:d0:c6:0a:29:33"),
    (values.mac_address, "92-d0-c6-0a-29-33", None),
    (values.userns, "keep-id:uid=1000", "keep-id:uid=1000"),
    (values.userns, "ns:/proc/1/ns/user", "ns:/proc/1/ns/user"),
    (values.userns, "ns", None),
    (values.userns, "keepid", None),
    (values.id_map, "0:100000:65536", "0:100000:65536"),
    (values.id_map, "0:100000:0", None),
    (values.timezone, "America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    (values.timezone, "../etc/passwd", None),
    (values.global_arg, "--log-level=debug", "--log-level=debug"),
    (values.global_arg, "-q", None),
]


@pytest.mark.parametrize(("parse", "given", "made"), QUADLET_VALUES)
def test_quadlet_key_values_are_read_or_refused(parse: object, given: object, made: object) -> None:
    assert callable(parse)
    if made is None:
        with pytest.raises(ValueError, match="expected"):
            parse(given)
    else:
        assert parse(given) == made


def test_a_generic_mount_is_written_as_podman_reads_it() -> None:
    from orchestrator.core.models import mount_value

    table = {"type": "bind", "source": "./conf", "target": "/etc/app", "ro": True}
    assert mount_value(table, "/defs") == "type=bind,source=/defs/conf,target=/etc/app,ro=true"
    text = "type=tmpfs,destination=/cache,tmpfs-size=64m,notmpcopyup"
    assert mount_value(text, "/defs") == text
    for bad in ({"type": "nfs", "target": "/x"}, {"type": "tmpfs"}, "type=bind,source=/a,b,c"):
        with pytest.raises(ValueError, match="expected"):
            mount_value(bad, "/defs")
