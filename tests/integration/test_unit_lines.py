"""Every line we write, read back from a real systemd: what it holds after loading our units
(Description=, RequiresMountsFor=, unit overrides) is what the definitions say, for long values
with every quoting hazard."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.core.loader import load
from orchestrator.core.render import render
from orchestrator.sandbox.machine import Sandbox
from tests.support.definitions import toml_document
from tests.support.sandboxes import booted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
HAZARDS = " %n %% $HOME ${X} $$ \"dq\" 'sq' \\ ; # = é ü \u00a0 \u202e 😀 \U0010fffd "
TEXTS = [HAZARDS, (HAZARDS * 400)[:20_000] + "x", "plain", "100%", "a\\b", "\\ lead"]


@pytest.fixture(scope="module")
def box(host_before: dict[str, object]) -> Iterator[Sandbox]:
    with booted("lines") as sandbox:
        yield sandbox


def _property(box: Sandbox, unit: str, interface: str, name: str) -> object:
    path = "/org/freedesktop/systemd1/unit/" + "".join(
        c if c.isalnum() else f"_{ord(c):02x}" for c in unit
    )
    out = box.run(
        ["busctl", "--json=short", "get-property", "org.freedesktop.systemd1", path,
         f"org.freedesktop.systemd1.{interface}", name]
    ).stdout  # fmt: skip
    return json.loads(out)["data"]


def test_systemd_holds_exactly_the_values_of_every_line_we_write(
    box: Sandbox, tmp_path: Path
) -> None:
    """cN: our Description= and RequiresMountsFor=; oN: a unit override, written as given."""
    tables, mounts = {}, {}
    for index, text in enumerate(TEXTS):
        mounts[index] = "/srv/" + text.replace("/", "").replace(":", "")[:60].strip() + str(index)
        tables[f"c{index}"] = {
            "image": "localhost/busybox:test",
            "description": text,
            "volumes": [f"{mounts[index]}:/data"],
        }
        tables[f"o{index}"] = {
            "image": "localhost/busybox:test",
            "unit": {"Unit": {"Description": text.replace("%", "%%")}},
        }
    (tmp_path / "lines.toml").write_text(toml_document({"container": tables}), encoding="utf-8")
    for name, unit in render(load([str(tmp_path)])).items():
        (box.root / "etc-systemd-system" / name).write_text(unit, encoding="utf-8")
    box.run(["systemctl", "daemon-reload"])
    for index, text in enumerate(TEXTS):
        ours, override = f"c{index}.service", f"o{index}.service"
        assert _property(box, ours, "Unit", "LoadState") == "loaded"
        assert _property(box, ours, "Unit", "Description") == text.strip()
        assert mounts[index] in _property(box, ours, "Unit", "RequiresMountsFor")  # type: ignore[operator]
        assert _property(box, override, "Unit", "Description") == text.strip()
