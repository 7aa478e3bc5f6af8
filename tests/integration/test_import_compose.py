"""An imported compose project really started: two services on the offline test image, one
waiting for the other to be healthy, a named volume and a network alias, imported with
`orchestrator import compose` and applied inside a sandbox systemd. (podman-compose is not
used as a reference: it needs a registry or docker-compose's own conventions this test avoids,
and the translation's reference is the golden corpus in tests/compose.)"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF
from tests.support.cli import run_inline
from tests.support.sandboxes import booted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
ROOT = Path(__file__).resolve().parents[2]

COMPOSE = f"""\
name: demo
services:
  store:
    image: {DEFAULT_REF}
    entrypoint: /bin/busybox
    command: ["sh", "-c", "echo stored > /data/page && exec httpd -f -p 8080 -h /data"]
    volumes:
      - pages:/data
    networks:
      back:
        aliases: [files.internal]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/page"]
      interval: 1s
      retries: 30
    stop_grace_period: 1s
    restart: unless-stopped
  reader:
    image: {DEFAULT_REF}
    entrypoint: /bin/busybox
    command: >-
      sh -c "wget -q -O /tmp/page http://files.internal:8080/page
      && trap 'exit 0' TERM && while :; do sleep 1 & wait; done"
    networks: [back]
    depends_on:
      store:
        condition: service_healthy
    stop_grace_period: 1s
    restart: on-failure
volumes:
  pages:
networks:
  back:
"""


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with booted("compose") as sandbox:
        yield sandbox


def orchestrator(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator", *args]
    return box.run(argv, check=False, timeout=300)


def test_an_imported_compose_project_starts_in_order_with_its_volume_and_alias(
    box: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    out = box.share / "compose-defs"
    imported = run_inline("import", "compose", str(tmp_path / "compose.yaml"), "--out", str(out))
    assert imported.returncode == 0, imported.stderr
    result = orchestrator(box, "apply", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "everything runs as declared" in result.stdout
    # the reader started only once the store was healthy, and reached it by its alias
    page = box.run(["podman", "exec", "reader", "cat", "/tmp/page"]).stdout
    assert page.strip() == "stored"
    assert box.run(["podman", "volume", "exists", "demo_pages"], check=False).returncode == 0
    health = box.run(["podman", "inspect", "--format", "{{.State.Health.Status}}", "store"])
    assert health.stdout.strip() == "healthy"
    order = box.run(["systemctl", "show", "-p", "After", "reader.service"]).stdout
    assert "store.service" in order and "demo_back-network.service" in order
