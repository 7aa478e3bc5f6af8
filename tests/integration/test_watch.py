"""Keeping a host converged: `orchestrator watch` as orchestrator-watch.service, the path unit,
and boot without orchestrator, in a real sandbox with real watchfiles, podman and systemd."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.error
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
LOOP = "trap 'exit 0' TERM; while :; do sleep 1 & wait; done"
PORT = 8194


def echo(version: str) -> str:
    """A web server that answers /v with its VERSION."""
    command = f"mkdir -p /tmp/w && echo $VERSION > /tmp/w/v && exec httpd -f -p {PORT} -h /tmp/w"
    return (
        f'[container.echo]\nimage = "{DEFAULT_REF}"\n'
        f"command = {json.dumps(['sh', '-c', command])}\n"
        f'ports = ["127.0.0.1:{PORT}:{PORT}"]\nenvironment = {{ VERSION = "{version}" }}\n'
        "stop_timeout = 1\n"
    )


def looper(name: str, **extra: str) -> str:
    lines = [f"[container.{name}]", f'image = "{DEFAULT_REF}"', "stop_timeout = 1",
             f"command = {json.dumps(['sh', '-c', LOOP])}"]  # fmt: skip
    return "\n".join(lines + [f"{k} = {v}" for k, v in extra.items()]) + "\n"


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with booted("watch") as sandbox:
        yield sandbox


def defs(box: Sandbox) -> Path:
    return box.share / "defs"


def orchestrator(box: Sandbox, *args: str) -> str:
    result = box.run([sys.executable, "-m", "orchestrator", *args], check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def journal(box: Sandbox, unit: str) -> list[str]:
    out = box.run(["journalctl", "-u", unit, "-o", "cat", "--no-pager"]).stdout
    return out.splitlines()


def applies(box: Sandbox) -> list[str]:
    return [
        line for line in journal(box, "orchestrator-watch.service") if line.startswith("apply #")
    ]


def show(box: Sandbox, unit: str) -> dict[str, str]:
    props = ["ActiveState", "SubState", "Result", "MainPID", "InvocationID", "UnitFileState"]
    out = box.run(["systemctl", "show", *[f"-p{p}" for p in props], unit]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def answer() -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/v", timeout=2) as response:
            return str(response.read().decode().strip())
    except (urllib.error.URLError, OSError):
        return ""


def write(box: Sandbox, name: str, text: str) -> None:
    """As an editor saves: a new file renamed over the old one."""
    temp = defs(box) / f".{name}.swp"
    temp.write_text(text)
    os.replace(temp, defs(box) / name)


def test_install_units_starts_the_watcher_which_applies(box: Sandbox) -> None:
    defs(box).mkdir(parents=True)
    write(box, "echo.toml", echo("1"))
    write(box, "db.toml", looper("db"))
    out = orchestrator(box, "install-units", "--definitions", str(defs(box)))
    assert "orchestrator-watch.service enabled and started" in out
    state = show(box, "orchestrator-watch.service")
    assert (state["ActiveState"], state["UnitFileState"]) == ("active", "enabled")
    until(lambda: bool(applies(box)), 60, "the first apply is logged")  # ready = watching
    assert applies(box)[0].startswith("apply #1 (start): ok")
    until(lambda: answer() == "1", 60, "echo answers 1")


def test_an_edit_is_live_within_seconds(box: Sandbox) -> None:
    db = show(box, "db.service")
    write(box, "echo.toml", echo("2"))
    seconds = until(lambda: answer() == "2", 60, "the edited container answers 2")
    print(f"save -> new container answering: {seconds:.2f} s")
    assert show(box, "db.service")["InvocationID"] == db["InvocationID"], "db was not touched"


def test_a_burst_of_edits_is_one_apply(box: Sandbox) -> None:
    until(lambda: len(applies(box)) >= 2, 60, "the previous apply is logged")
    before = len(applies(box))
    started = time.monotonic()
    for i in range(6):
        write(box, f"burst{i}.toml", looper(f"burst{i}"))
    took = time.monotonic() - started
    until(
        lambda: all(show(box, f"burst{i}.service")["ActiveState"] == "active" for i in range(6)),
        60,
        "the burst is applied",
    )
    until(lambda: len(applies(box)) > before, 60, "its apply is logged")
    time.sleep(3)  # a second apply, had the burst been split, would be logged by now (settle 1.5 s)
    new = applies(box)[before:]
    if took < 0.05:  # saved well within the 100 ms of quiet that ends a group
        assert len(new) == 1, new
        assert "burst0.service" in new[0] and "burst5.service" in new[0]
    else:  # this test process was stalled between saves: only the result can be asserted
        assert 1 <= len(new) <= 6, new


def test_an_invalid_edit_is_reported_and_the_old_container_keeps_serving(box: Sandbox) -> None:
    before = len(applies(box))
    echo_before = show(box, "echo.service")
    write(box, "echo.toml", echo("3").replace('ports = ["', 'ports = ["eighty:'))
    until(lambda: len(applies(box)) > before, 60, "the invalid edit is reported")
    line = applies(box)[before]
    assert "definitions invalid, nothing changed" in line
    assert "echo.toml" in line and "container.echo.ports[0]" in line
    until(lambda: answer() == "2", 10, "the old container still answers")
    assert show(box, "echo.service")["InvocationID"] == echo_before["InvocationID"]
    assert show(box, "orchestrator-watch.service")["ActiveState"] == "active"
    write(box, "echo.toml", echo("2"))  # fixed again: one more apply, which changes nothing
    until(lambda: len(applies(box)) > before + 1, 60, "the fix is applied")


def test_definitions_that_declare_nothing_are_refused_as_by_apply(box: Sandbox) -> None:
    """Every definition moved aside at once (hidden names do not count): a mistake, most likely,
    so nothing is removed; the files back, one more apply that changes nothing."""
    before, echo_before = len(applies(box)), show(box, "echo.service")
    names = sorted(p.name for p in defs(box).glob("*.toml"))
    for name in names:
        os.replace(defs(box) / name, defs(box) / f".{name}")
    until(lambda: len(applies(box)) > before, 60, "the empty state is reported")
    assert "declare nothing" in applies(box)[before] and "--allow-empty" in applies(box)[before]
    assert show(box, "echo.service")["InvocationID"] == echo_before["InvocationID"]
    for name in names:
        os.replace(defs(box) / f".{name}", defs(box) / name)
    until(lambda: len(applies(box)) > before + 1, 60, "the files back are applied")
    assert "ok: no changes" in applies(box)[before + 1], applies(box)[before:]


def test_a_deleted_definition_removes_its_container(box: Sandbox) -> None:
    for i in range(6):
        (defs(box) / f"burst{i}.toml").unlink()
    until(lambda: show(box, "burst0.service")["ActiveState"] == "inactive", 60, "burst0 is gone")
    until(
        lambda: all(
            not (box.root / "etc-systemd-system" / f"burst{i}.service").exists() for i in range(6)
        ),
        60,
        "the unit files are removed",
    )
    exists = box.run(["podman", "container", "exists", "burst0"], check=False)
    assert exists.returncode == 1


def test_a_replaced_definitions_directory_is_watched_again(box: Sandbox) -> None:
    """A deploy that swaps in a new copy of the whole directory: the old watch is dead.

    The next edit is saved while the swap's own apply still waits for the restarted container to
    settle, so before any watch of the new directory exists: it must not be lost either."""
    echo_before = show(box, "echo.service")["InvocationID"]
    new, old = defs(box).with_name("defs.new"), defs(box).with_name("defs.old")
    shutil.copytree(defs(box), new)
    (new / "echo.toml").write_text(echo("5"))
    defs(box).rename(old)
    new.rename(defs(box))
    shutil.rmtree(old)
    until(
        lambda: (lambda s: s["InvocationID"] != echo_before and s["ActiveState"] == "active")(
            show(box, "echo.service")
        ),
        60,
        "the swap's apply restarts echo",
    )
    write(box, "echo.toml", echo("2"))  # within apply's settle time (1.5 s)
    until(lambda: answer() == "2", 60, "the edit saved during that apply is applied too")

    def replaced() -> int:  # the last apply of the swap, or -1
        found = [i for i, line in enumerate(applies(box)) if "directory was replaced" in line]
        return found[-1] if found else -1

    until(lambda: -1 < replaced() < len(applies(box)) - 1, 60, "both applies are logged")
    lines, at = applies(box), replaced()
    assert "restart echo.service" in lines[at], "\n".join(lines)
    assert "restart echo.service" in lines[at + 1], "\n".join(lines)


def test_sigterm_stops_the_watcher_cleanly_and_leaves_containers_alone(box: Sandbox) -> None:
    echo_before = show(box, "echo.service")
    box.run(["systemctl", "stop", "orchestrator-watch.service"])
    state = show(box, "orchestrator-watch.service")
    assert (state["ActiveState"], state["Result"]) == ("inactive", "success"), state
    until(
        lambda: "stopped" in journal(box, "orchestrator-watch.service"),
        10,
        "the watcher logs that it stopped",
    )
    assert show(box, "echo.service")["InvocationID"] == echo_before["InvocationID"]


def test_the_path_unit_applies_on_a_change_with_nothing_resident(box: Sandbox) -> None:
    out = orchestrator(box, "install-units", "--mode", "path", "--definitions", str(defs(box)))
    assert "orchestrator-apply.path enabled and started" in out
    assert show(box, "orchestrator-watch.service")["UnitFileState"] == "disabled"
    assert show(box, "orchestrator-apply.path")["ActiveState"] == "active"
    write(box, "echo.toml", echo("4"))
    seconds = until(lambda: answer() == "4", 60, "the path unit applied the edit")
    print(f"save -> new container answering (path unit): {seconds:.2f} s")
    until(
        lambda: show(box, "orchestrator-apply.service")["ActiveState"] == "inactive",
        60,
        "the oneshot apply finished",
    )
    assert show(box, "orchestrator-apply.service")["Result"] == "success"


def test_containers_boot_without_orchestrator_installed(box: Sandbox) -> None:
    """Uninstalling changes nothing for the containers, now or at the next boot: with orchestrator
    hidden from the sandbox, enabled containers come back in dependency order and a disabled one
    stays down."""
    write(box, "chain.toml", looper("first") + looper("second", depends_on='["first"]')
          + looper("third", depends_on='["second"]') + looper("off", enabled="false"))  # fmt: skip
    until(lambda: show(box, "third.service")["ActiveState"] == "active", 60, "the chain runs")
    until(
        lambda: show(box, "orchestrator-apply.service")["ActiveState"] == "inactive",
        60,
        "the oneshot apply finished",
    )
    echo_before = show(box, "echo.service")
    out = orchestrator(box, "uninstall-units")
    assert "removed 5 unit file(s)" in out
    assert show(box, "echo.service")["InvocationID"] == echo_before["InvocationID"]
    box.hide(str(ROOT))
    shutil.rmtree(defs(box))
    box.reboot(timeout=180)  # booted = every boot job done, container starts among them
    gone = box.run([sys.executable, "-c", "import orchestrator"], check=False)
    assert gone.returncode != 0, "orchestrator is still importable inside"
    names = ("echo", "db", "first", "second", "third")
    until(
        lambda: all(show(box, f"{n}.service")["ActiveState"] == "active" for n in names),
        60,
        "every enabled container is back",
    )
    until(lambda: answer() == "4", 60, "echo answers after the reboot")
    stamps = {}
    for name in ("first", "second", "third"):
        out = box.run(["systemctl", "show", "-pExecMainStartTimestampMonotonic",
                       "-pActiveEnterTimestampMonotonic", f"{name}.service"]).stdout  # fmt: skip
        stamps[name] = dict(line.split("=", 1) for line in out.splitlines())
    for before, after in (("first", "second"), ("second", "third")):
        started = int(stamps[after]["ExecMainStartTimestampMonotonic"])
        assert started >= int(stamps[before]["ActiveEnterTimestampMonotonic"]) > 0, stamps
    assert show(box, "off.service")["ActiveState"] == "inactive"
    for name in ("orchestrator-watch.service", "orchestrator-apply.path"):
        assert show(box, name)["ActiveState"] == "inactive"
