"""`orchestrator pull` for real: a bare git repository on this machine as origin, sandboxes as
hosts. Each host runs its own merge; drift is corrected; a broken commit is rolled back and
reported while the last good state keeps running; an unsigned commit is refused, and so is a
force-pushed branch; a change on the canary branch reaches only the canary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF
from tests.support import ROOT
from tests.support.sandboxes import booted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
LOOP = "trap 'exit 0' TERM; while :; do sleep 1 & wait; done"
FLEET = """
[defaults]
port = 8291
[host.web-1]
groups = ["web"]
[host.web-2]
groups = ["web"]
vars = { port = 8292 }
"""
WEB = f"""
[container.web]
image = "{DEFAULT_REF}"
pull = "never"
stop_timeout = 1
command = ["httpd", "-f", "-p", "8080", "-h", "/etc"]
ports = ["127.0.0.1:${{port}}:8080"]
"""
WORKER = f"""
[container.worker]
image = "{DEFAULT_REF}"
pull = "never"
stop_timeout = 1
command = {json.dumps(["sh", "-c", LOOP])}
"""
BROKEN = f"""
[container.broken]
image = "{DEFAULT_REF}"
pull = "never"
restart = "no"
command = ["sh", "-c", "echo broken on purpose; exit 3"]
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "ops", "GIT_AUTHOR_EMAIL": "ops@example.com",
    "GIT_COMMITTER_NAME": "ops", "GIT_COMMITTER_EMAIL": "ops@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
}  # fmt: skip


def git(cwd: Path, *argv: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(["git", *argv], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Origin:
    """A working clone that commits and pushes to a bare repository the sandbox can read."""

    def __init__(self, root: Path) -> None:
        self.bare, self.work = root / "fleet.git", root / "fleet-work"
        git(root, "init", "--quiet", "--bare", str(self.bare))
        self.work.mkdir()
        git(self.work, "init", "--quiet", "-b", "main")

    def publish(self, files: dict[str, str | None], message: str, *sign: str) -> str:
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, *sign, "commit", "--quiet", "-m", message)
        git(self.work, "push", "--quiet", str(self.bare), "HEAD:refs/heads/main")
        return git(self.work, "rev-parse", "HEAD")


def pull(box: Sandbox, host: str, *extra: str) -> tuple[int, dict[str, object]]:
    repo = str(box.share / "fleet.git")
    argv = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator", "pull",
            "--repo", repo, "--host", host, "--timeout", "120", "--json", *extra]  # fmt: skip
    done = box.run(argv, check=False, timeout=300)
    assert done.stdout.startswith("{"), done.stdout + done.stderr
    status: dict[str, object] = json.loads(done.stdout)
    return done.returncode, status


def active(box: Sandbox, unit: str) -> str:
    return box.run(["systemctl", "is-active", unit], check=False).stdout.strip()


def fetch_page(port: int) -> int:
    return subprocess.run(["wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{port}/hostname"],
                          check=False, timeout=10).returncode  # fmt: skip


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with booted("pull") as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def origin(box: Sandbox) -> Origin:
    made = Origin(box.share)
    made.publish({"fleet.toml": FLEET, "groups/web/web.toml": WEB, "base/worker.toml": WORKER},
                 "first")  # fmt: skip
    return made


def test_a_host_pulls_and_runs_its_own_merge(box: Sandbox, origin: Origin) -> None:
    code, status = pull(box, "web-1")
    assert code == 0 and status["result"] == "ok", status
    assert active(box, "web.service") == "active" and active(box, "worker.service") == "active"
    unit = (box.root / "etc-systemd-system" / "web.service").read_text()
    assert "127.0.0.1:8291:8080" in unit
    history = box.run(["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator",
                       "history", "--json"]).stdout  # fmt: skip
    assert status["commit"][:12] in history  # type: ignore[index]


def test_a_hand_stopped_unit_comes_back_and_is_reported_as_drift(
    box: Sandbox, origin: Origin
) -> None:
    box.run(["systemctl", "stop", "worker.service"])
    code, status = pull(box, "web-1")
    assert code == 0 and status["drift"] == ["worker.service"], status
    assert active(box, "worker.service") == "active"


def test_a_broken_commit_is_rolled_back_and_reported(box: Sandbox, origin: Origin) -> None:
    good = origin.publish({"base/broken.toml": BROKEN}, "breaks")
    code, status = pull(box, "web-1")
    assert code == 1 and status["result"] == "failed", status
    assert status["commit"] == good
    assert active(box, "web.service") == "active" and active(box, "worker.service") == "active"
    assert active(box, "broken.service") in ("inactive", "failed", "unknown")
    status_file = json.loads((box.root / "var-lib-orchestrator" / "pull-status.json").read_text())
    assert status_file["result"] == "failed"
    origin.publish({"base/broken.toml": None}, "fixed")
    code, status = pull(box, "web-1")
    assert code == 0 and status["result"] == "ok", status


def test_an_unsigned_commit_is_refused_and_a_signed_one_applied(
    box: Sandbox, origin: Origin, tmp_path: Path
) -> None:
    key = box.share / "signing-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    signers = box.share / "allowed-signers"
    signers.write_text(f"ops@example.com {key.with_suffix('.pub').read_text()}")
    origin.publish({"base/extra.toml": WORKER.replace("worker", "extra")}, "unsigned")
    code, status = pull(box, "web-1", "--allowed-signers", str(signers))
    assert code == 1 and status["result"] == "refused", status
    assert active(box, "extra.service") != "active"
    sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "-c", "commit.gpgsign=true"]
    origin.publish({"base/extra.toml": WORKER.replace("worker", "extra2")}, "signed", *sign)
    code, status = pull(box, "web-1", "--allowed-signers", str(signers))
    assert code == 0 and status["result"] == "ok", status
    assert active(box, "extra2.service") == "active"


def test_a_force_pushed_branch_is_refused_and_changes_nothing(box: Sandbox, origin: Origin) -> None:
    kept = origin.publish({"base/kept.toml": WORKER.replace("worker", "kept")}, "kept")
    code, status = pull(box, "web-1")
    assert code == 0 and active(box, "kept.service") == "active", status
    git(origin.work, "reset", "--quiet", "--hard", "HEAD~1")
    git(origin.work, "commit", "--quiet", "--allow-empty", "-m", "history rewritten")
    git(origin.work, "push", "--quiet", "--force", str(origin.bare), "HEAD:refs/heads/main")
    code, status = pull(box, "web-1")
    assert code == 1 and status["result"] == "refused", status
    assert "not a fast-forward" in str(status["message"])
    assert active(box, "kept.service") == "active"
    git(origin.work, "reset", "--quiet", "--hard", kept)  # put main back for the tests after
    git(origin.work, "push", "--quiet", "--force", str(origin.bare), "HEAD:refs/heads/main")


def test_a_change_on_the_canary_branch_reaches_only_the_canary(
    box: Sandbox, origin: Origin
) -> None:
    ringed = FLEET.replace("vars = { port = 8292 }", 'vars = { port = 8292 }\nring = "canary"')
    origin.publish({"fleet.toml": ringed}, "web-2 is the canary")
    canary = WORKER.replace("worker", "canary")
    origin.publish({"base/canary.toml": canary}, "try on the canary first")
    git(origin.work, "push", "--quiet", "--force", str(origin.bare), "HEAD:refs/heads/canary")
    git(origin.work, "reset", "--quiet", "--hard", "HEAD~1")
    git(origin.work, "push", "--quiet", "--force", str(origin.bare), "HEAD:refs/heads/main")
    code, status = pull(box, "web-1")
    assert code == 0 and status["branch"] == "main", status
    assert active(box, "canary.service") != "active"
    with booted("pull3") as other:
        git(other.share, "clone", "--quiet", "--bare", str(origin.bare), "fleet.git")
        code, status = pull(other, "web-2")
        assert code == 0 and status["branch"] == "canary", status
        assert active(other, "canary.service") == "active"


def test_another_host_runs_its_own_port(origin: Origin) -> None:
    with booted("pull2") as other:
        git(other.share, "clone", "--quiet", "--bare", str(origin.bare), "fleet.git")
        code, status = pull(other, "web-2")
        assert code == 0 and status["host"] == "web-2", status
        unit = (other.root / "etc-systemd-system" / "web.service").read_text()
        assert "127.0.0.1:8292:8080" in unit


def test_install_units_in_pull_mode_runs_pulls_from_a_timer(box: Sandbox, origin: Origin) -> None:
    orchestrator = ["env", f"PYTHONPATH={ROOT}", sys.executable, "-m", "orchestrator"]
    repo = str(box.share / "fleet.git")
    argv = [*orchestrator, "install-units", "--mode", "pull", "--repo", repo, "--host", "web-1",
            "--interval", "1h", "--splay", "1s", "--no-start"]  # fmt: skip
    done = box.run(argv, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    enabled = box.run(["systemctl", "is-enabled", "orchestrator-pull.timer"], check=False)
    assert enabled.stdout.strip() == "enabled"
    box.run(["systemctl", "stop", "worker.service"])
    started = box.run(["systemctl", "start", "orchestrator-pull.service"], check=False, timeout=300)
    assert started.returncode == 0, box.run(["journalctl", "-u", "orchestrator-pull.service",
                                              "--no-pager"], check=False).stdout  # fmt: skip
    status = json.loads((box.root / "var-lib-orchestrator" / "pull-status.json").read_text())
    assert status["result"] == "ok" and status["drift"] == ["worker.service"], status
    assert active(box, "worker.service") == "active"
    removed = box.run([*orchestrator, "uninstall-units"], check=False)
    assert "removed 5 unit file(s)" in removed.stdout, removed.stdout + removed.stderr
