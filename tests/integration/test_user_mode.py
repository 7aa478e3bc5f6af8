"""User mode: `orchestrator apply --user` as an ordinary user, with rootless podman under that
user's own systemd manager (lingering), in a sandbox whose test user exists only inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF
from tests.support.polling import until
from tests.support.sandboxes import booted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox needs root"),
]
ROOT = Path(__file__).resolve().parents[2]
USER, UID = "tester", 1500
RUNTIME = f"/run/user/{UID}"
SOURCE = "/run/orchestrator-source"  # the repository, bound where the user can read it
SYSTEM_PYTHON = "/usr/bin/python3"
LOOP = "trap 'exit 0' TERM; while :; do sleep 1 & wait; done"
DEFINITION = f"""\
[container.hello]
image = "{DEFAULT_REF}"
command = ["httpd", "-f", "-p", "8080", "-h", "/etc"]
ports = ["127.0.0.1:18189:8080"]
stop_timeout = 1

[container.ticker]
image = "{DEFAULT_REF}"
command = ["sh", "-c", "{LOOP}"]
depends_on = ["hello"]
stop_timeout = 1
"""


def site_packages() -> str:
    """The venv's packages, for the system's python (the venv's own interpreter may live where
    the user cannot read, e.g. under /root)."""
    version = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if version != mine:
        pytest.skip(f"{SYSTEM_PYTHON} is {version or 'missing'}, the venv is {mine}")
    return f"{SOURCE}/.venv/lib/python{mine}/site-packages"


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    packages = site_packages()
    home: list[Path] = []
    with booted("user", lambda box: home.append(box.add_user(USER, UID))) as sandbox:
        sandbox.run(["sh", "-c", f'mkdir -p {SOURCE} && mount --bind "$0" {SOURCE}', str(ROOT)])
        sandbox.run(["loginctl", "enable-linger", USER])
        wait_for_user_manager(sandbox)
        archive = sandbox.share / "image.tar"
        sandbox.run(["podman", "save", "--quiet", "-o", str(archive), DEFAULT_REF])
        archive.chmod(0o644)
        sandbox.share.chmod(0o755)
        sandbox.home = home[0]  # type: ignore[attr-defined]
        sandbox.packages = packages  # type: ignore[attr-defined]
        as_user(sandbox, "podman", "load", "--quiet", "-i", str(archive))
        archive.unlink()
        yield sandbox


def wait_for_user_manager(box: Sandbox) -> None:
    until(
        lambda: box.run(["test", "-S", f"{RUNTIME}/systemd/private"], check=False).returncode == 0,
        30,
        "the user's systemd manager starts",
        every=0.1,
        seen=lambda: user_manager_status(box),
    )


def user_manager_status(box: Sandbox) -> str:
    status = ["systemctl", "status", f"user@{UID}.service", "--no-pager"]
    return box.run(status, check=False).stdout


def as_user(box: Sandbox, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """argv as the test user, in its home, with the environment a login would give it."""
    home = box.home  # type: ignore[attr-defined]
    env = [
        f"HOME={home}", f"USER={USER}", f"LOGNAME={USER}", "PATH=/usr/local/bin:/usr/bin:/bin",
        f"XDG_RUNTIME_DIR={RUNTIME}", f"DBUS_SESSION_BUS_ADDRESS=unix:path={RUNTIME}/bus",
        "SYSTEMD_PAGER=", f"PYTHONPATH={SOURCE}:{box.packages}",  # type: ignore[attr-defined]
    ]  # fmt: skip
    command = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--init-groups", "--reset-env", "--",
               "env", "-i", *env, "sh", "-c", 'cd "$HOME" && exec "$@"', "sh", *argv]  # fmt: skip
    result = box.run(command, check=False, timeout=300)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def orchestrator(box: Sandbox, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return as_user(box, SYSTEM_PYTHON, "-m", "orchestrator", *args, check=check)


def declare(box: Sandbox, text: str | None) -> Path:
    directory = box.share / "user-defs"
    directory.mkdir(exist_ok=True)
    directory.chmod(0o755)
    definition = directory / "app.toml"
    if text is None:
        definition.unlink(missing_ok=True)
    else:
        definition.write_text(text)
        definition.chmod(0o644)
    return directory


def user_units(box: Sandbox) -> Path:
    return box.home / ".config" / "systemd" / "user"  # type: ignore[attr-defined,no-any-return]


def test_apply_user_runs_rootless_containers_under_the_users_manager(box: Sandbox) -> None:
    result = orchestrator(box, "apply", "--user", str(declare(box, DEFINITION)))
    assert "everything runs as declared" in result.stdout, result.stdout
    assert (user_units(box) / "hello.service").is_file()
    assert (user_units(box) / "default.target.wants" / "hello.service").is_symlink()
    active = as_user(box, "systemctl", "--user", "is-active", "hello.service", "ticker.service")
    assert active.stdout.split() == ["active", "active"]
    # rootless: the container's processes belong to the user's subordinate ids, not to root
    pid = as_user(box, "podman", "inspect", "--format", "{{.State.Pid}}", "hello").stdout.strip()
    owner = box.run(["stat", "-c", "%u", f"/proc/{pid}"]).stdout.strip()
    assert owner == str(UID), f"container PID 1 runs as uid {owner}"
    assert box.run(["podman", "container", "exists", "hello"], check=False).returncode == 1
    with urllib.request.urlopen("http://127.0.0.1:18189/hostname", timeout=10) as response:
        assert response.read().strip()


def test_user_mode_no_op_status_and_history(box: Sandbox) -> None:
    again = orchestrator(box, "apply", "--user", str(declare(box, DEFINITION)), "--json")
    report = json.loads(again.stdout)
    assert report["plan"]["actions"] == [], report["plan"]
    assert report["ok"] and report["wrote"] == [] and report["reloaded"] is False
    status = json.loads(orchestrator(box, "status", "--user", "--json").stdout)
    assert {s["name"]: s["ok"] for s in status["services"]} == {"hello": True, "ticker": True}
    history = json.loads(orchestrator(box, "history", "--user", "--json").stdout)["generations"]
    assert len(history) == 1 and history[0]["result"] == "ok"
    state = box.home / ".local" / "state" / "orchestrator" / "generations" / "1"  # type: ignore[attr-defined]
    assert (state / "units" / "hello.service").is_file()
    for path in [state.parent.parent, *state.parent.parent.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is open to others"


def test_lingering_brings_the_users_containers_back_after_a_reboot(box: Sandbox) -> None:
    box.reboot(timeout=180)  # booted = every boot job done, container starts among them
    box.run(["sh", "-c", f'mkdir -p {SOURCE} && mount --bind "$0" {SOURCE}', str(ROOT)])
    wait_for_user_manager(box)

    def states() -> list[str]:
        return as_user(box, "systemctl", "--user", "is-active", "hello.service",
                       "ticker.service", check=False).stdout.split()  # fmt: skip

    until(
        lambda: states() == ["active", "active"],
        60,
        "hello and ticker are back after the reboot",
        every=0.2,
        seen=states,
    )


def test_apply_user_removes_what_is_no_longer_declared(box: Sandbox) -> None:
    result = orchestrator(box, "apply", "--user", "--allow-empty", str(declare(box, None)))
    assert "everything runs as declared" in result.stdout, result.stdout
    assert not (user_units(box) / "hello.service").exists()
    exists = as_user(box, "podman", "container", "exists", "hello", check=False)
    assert exists.returncode == 1


POD = f"""\
[pod.shop]
ports = ["127.0.0.1:18190:8080"]

[container.front]
image = "{DEFAULT_REF}"
pod = "shop"
command = ["httpd", "-f", "-p", "8080", "-h", "/etc"]
stop_timeout = 1

[container.back]
image = "{DEFAULT_REF}"
pod = "shop"
command = ["sh", "-c", "{LOOP}"]
stop_timeout = 1
"""


def test_a_rootless_pod_runs_its_members_and_stops_them_with_it(box: Sandbox) -> None:
    result = orchestrator(box, "apply", "--user", str(declare(box, POD)))
    assert "everything runs as declared" in result.stdout, result.stdout
    units = ("shop-pod.service", "front.service", "back.service")
    active = as_user(box, "systemctl", "--user", "is-active", *units, check=False)
    assert active.stdout.split() == ["active"] * 3, result.stdout
    fetch = as_user(box, "podman", "exec", "back", "wget", "-qO-", "http://localhost:8080/hostname")
    assert fetch.stdout.strip() == "shop"  # the pod's UTS namespace: its name as host name
    with urllib.request.urlopen("http://127.0.0.1:18190/hostname", timeout=10) as response:
        assert response.read().strip() == b"shop"
    as_user(box, "systemctl", "--user", "stop", "shop-pod.service")
    after = as_user(box, "systemctl", "--user", "is-active", *units[1:], check=False)
    assert set(after.stdout.split()) <= {"inactive", "failed"}, after.stdout
    result = orchestrator(box, "apply", "--user", "--allow-empty", str(declare(box, None)))
    assert "everything runs as declared" in result.stdout, result.stdout


def test_the_users_own_watcher_applies_edits(box: Sandbox) -> None:
    """install-units --user: orchestrator-watch.service under the user's manager."""
    with_v = DEFINITION.replace('depends_on = ["hello"]', 'environment = { V = "1" }')
    directory = declare(box, with_v)
    out = orchestrator(box, "install-units", "--user", "--definitions", str(directory)).stdout
    assert "orchestrator-watch.service enabled and started" in out, out
    active = as_user(box, "systemctl", "--user", "is-active", "orchestrator-watch.service")
    assert active.stdout.strip() == "active"

    def version() -> str:
        result = as_user(box, "podman", "exec", "ticker", "sh", "-c", "echo $V", check=False)
        return result.stdout.strip()

    until(lambda: version() == "1", 60, "ticker runs with V=1", every=0.2, seen=version)
    ticker = user_units(box) / "ticker.service"
    assert ticker.stat().st_mode & 0o777 == 0o600, "its environment is the user's alone"
    declare(box, with_v.replace('V = "1"', 'V = "2"'))
    until(
        lambda: version() == "2", 60, "the watcher applies the edit (V=2)", every=0.2, seen=version
    )
    out = orchestrator(box, "uninstall-units", "--user").stdout
    assert "removed 5 unit file(s)" in out
    assert as_user(box, "podman", "container", "exists", "ticker", check=False).returncode == 0


def test_doctor_user_sees_the_manager_and_fails_without_subordinate_gids(box: Sandbox) -> None:
    def checks() -> tuple[int, dict[str, dict[str, str]]]:
        result = orchestrator(box, "doctor", "--user", "--json", check=False)
        return result.returncode, {c["name"]: c for c in json.loads(result.stdout)["checks"]}

    code, found = checks()
    assert [found[n]["status"] for n in ("systemd", "subids", "linger", "tun")] == ["ok"] * 4, found
    saved = box.run(["cat", "/etc/subgid"]).stdout  # the sandbox's private copy (add_user)
    box.run(
        ["sh", "-c", f"grep -v '^{USER}:' /etc/subgid > /tmp/subgid; cat /tmp/subgid > /etc/subgid"]
    )
    try:
        code, found = checks()
        assert code == 1 and found["subids"]["status"] == "fail"
        assert f"--add-subgids 100000-165535 {USER}" in found["subids"]["fix"]
    finally:
        box.run(["sh", "-c", 'printf %s "$0" > /etc/subgid', saved])
