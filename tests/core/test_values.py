"""Values systemd or podman would refuse or ignore are refused at validate, and nothing valid is.

The verdicts below were taken from the real tools (podman 4.3.1, systemd 252); the tests marked
`integration` ask them again.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from orchestrator.core import values

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
