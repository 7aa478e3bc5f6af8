"""`orchestrator pull` as its service runs it: what went wrong goes to stderr (the journal) as
well as into the status file, and a pull waits for another pull rather than racing it."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.host import lock
from tests.support.cli import run_inline


def pull(tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    result = run_inline(
        "pull", "--repo", str(tmp_path / "nowhere.git"), "--host", "web-1",
        "--state-dir", str(tmp_path / "state"), "--unit-dir", str(tmp_path / "units"), *extra,
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr


def test_a_failed_pull_says_so_on_stderr_and_in_the_status_file(tmp_path: Path) -> None:
    code, out, err = pull(tmp_path)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "nowhere.git" in err
    status = json.loads((tmp_path / "state" / "pull-status.json").read_text())
    assert status["result"] == "error"


def test_a_failed_pull_with_json_still_tells_the_journal_on_stderr(tmp_path: Path) -> None:
    code, out, err = pull(tmp_path, "--json")
    assert code == 1 and json.loads(out)["result"] == "error"
    assert err.startswith("error: ")


def test_a_pull_waits_for_a_running_pull_and_gives_up_after_its_timeout(tmp_path: Path) -> None:
    with lock.exclusive(str(tmp_path / "state"), "pull"):
        code, _, err = pull(tmp_path, "--timeout", "0")
    assert code == 1 and "another pull is running" in err
    assert not (tmp_path / "state" / "pull-status.json").exists()


def test_a_pull_waits_for_an_apply_that_holds_the_lock(tmp_path: Path) -> None:
    import threading
    import time

    from orchestrator.commands.pull import _when_free

    state = str(tmp_path / "state")
    held, release = threading.Event(), threading.Event()

    def hand_run_apply() -> None:
        with lock.exclusive(state):
            held.set()
            release.wait(10)

    other = threading.Thread(target=hand_run_apply)
    other.start()
    held.wait(10)
    threading.Timer(0.2, release.set).start()

    def our_apply() -> float:
        with lock.exclusive(state):
            return time.monotonic()

    started = time.monotonic()
    assert _when_free(our_apply, timeout=30, pause=0.05) - started >= 0.2
    other.join()
