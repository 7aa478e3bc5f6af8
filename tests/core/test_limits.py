"""limits.most_bytes: the bound that lets validate skip rendering a resource to check its sizes
must never be below what render writes. Checked on every golden case (every kind and most keys)
and on definitions built to make render write the most per character or per value."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from orchestrator.core import limits, render
from orchestrator.core.loader import load
from orchestrator.core.models import KINDS, Spec

GOLDEN = Path(__file__).parent / "golden"
IMAGE = "docker.io/library/nginx:1.27"


def _sizes(spec: Spec, kind: str, name: str, resource: Any) -> list[int]:
    """The longest line and argument, and the whole podman command line, as limits counts them."""
    argv = limits._argv(name, resource, spec)
    # as limits.check renders it: user mode on cgroup v1, the longest podman command line
    text = render.render_one(kind, name, spec, "user", True)
    longest_line = max(len(line.encode()) for line in text.split("\n"))
    longest_arg = max(len(arg.encode()) for arg in argv)
    total = sum(len(arg.encode()) + 1 + limits.POINTER for arg in argv)
    return [longest_line, longest_arg, total]


def _check_bounds(spec: Spec) -> int:
    checked = 0
    for kind in KINDS:
        for name, resource in getattr(spec, kind + "s").items():
            extra = [name, spec.sources[(kind, name)]]
            if kind == "build":
                extra.append(spec.inputs[name].file)
            bound = limits.most_bytes(resource, extra)
            if bound is None:  # a backslash, say: rendered to be checked
                continue
            sizes = _sizes(spec, kind, name, resource)
            assert max(sizes) <= bound, (kind, name, sizes, bound)
            checked += 1
    return checked


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_the_bound_holds_for_every_golden_case(case: str) -> None:
    _check_bounds(load([str(GOLDEN / case / "input")]))


# Values that make render write the most: doubled % and $, quotes, 4-byte characters, many
# short items (a flag each), keys as long as their values, global options written on every line
WORST = ["%" * 40, "$" * 40, '"' * 40, "\U0001f600" * 20, "'\"%$ é", "x"]
MANY = [f"v{i}" for i in range(300)]


def _worst_container(tmp_path: Path) -> str:
    env = ", ".join(f'"V{i}" = {_toml(v)}' for i, v in enumerate(WORST + MANY))
    key = "k" * 30
    labels = ", ".join(f'"l{i}.{key}" = {_toml(v)}' for i, v in enumerate(WORST + MANY))
    hosts = ", ".join(f'h{i} = "10.0.0.{i}"' for i in range(50))
    long_path = "/srv/" + "p" * 200
    (tmp_path / "data").mkdir()
    return f"""
[container.worst]
image = "{IMAGE}"
command = {_toml_list(WORST + MANY)}
environment = {{ {env} }}
labels = {{ {labels} }}
volumes = ["./data:/data:ro", "{long_path}:/p"]
description = {_toml("%$" * 50)}
global_args = {_toml_list(["--log-level=" + "%" * 20] * 30)}
podman_args = {_toml_list(WORST)}
ulimits = {{ nofile = "1024:2048" }}
sysctls = {{ "net.ipv4.ip_forward" = "1" }}
add_hosts = {{ {hosts} }}
health = {{ command = {_toml_list(WORST)}, interval = "30s", retries = 3 }}
reload_command = {_toml_list(WORST)}
unit = {{ Service = {{ Environment = {_toml_list(["A=" + "%" * 30] * 20)} }} }}
"""


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(_toml(item) for item in items) + "]"


def test_the_bound_holds_for_values_that_render_writes_largest(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "artifacts" / "input", tmp_path / "artifacts")
    (tmp_path / "worst.toml").write_text(_worst_container(tmp_path), encoding="utf-8")
    assert _check_bounds(load([str(tmp_path)])) >= 2


@pytest.mark.parametrize("value", ["back\\slash", "bell\x07", "\ufdd0"])
def test_a_string_quoting_could_refuse_is_left_to_rendering(value: str) -> None:
    from orchestrator.core.models import Container

    web = Container.model_validate({"image": IMAGE, "command": ["echo", value]})
    assert limits.most_bytes(web, ["web", "/d/web.toml"]) is None
    assert limits.most_bytes(web.model_copy(update={"command": ["echo"]}), ["web"]) is not None
