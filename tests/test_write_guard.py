"""The write guard of tests/conftest.py: unit tests cannot change /etc, /var/lib/orchestrator or
the real home directory. These tests run as root, so were the guard broken the probes below would
really be written; each checks afterwards that nothing was left and removes what was."""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import write_guard

PROBE = Path("/etc/orchestrator-guard-probe")
HOME_PROBE = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".orchestrator-guard-probe"
STATE_PROBE = Path("/var/lib/orchestrator/guard-probe")


@pytest.fixture
def nothing_left() -> Iterator[None]:
    yield
    left = [p for p in (PROBE, HOME_PROBE, STATE_PROBE) if os.path.lexists(p)]
    with write_guard.off():
        for path in left:
            path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
    assert not left, f"the guard let these be written: {left}"


@pytest.mark.usefixtures("nothing_left")
def test_a_unit_test_that_writes_to_etc_is_stopped_before_the_file_exists() -> None:
    with pytest.raises(write_guard.ForbiddenWrite, match="/etc/orchestrator-guard-probe"):
        PROBE.write_text("written by a unit test")

    assert not PROBE.exists()
    # consumed here, or the guard would fail this test too, as it fails one that swallows it
    assert write_guard.take_violations() == [f"a unit test changes the host: open {PROBE}"]


def _tmp_file(tmp_path: Path) -> Path:
    made = tmp_path / "made"
    made.write_text("x")
    return made


OPERATIONS: dict[str, Callable[[Path], object]] = {
    "os.open O_CREAT in /etc": lambda _: os.open(PROBE, os.O_WRONLY | os.O_CREAT, 0o644),
    "append under home": lambda _: HOME_PROBE.open("a"),
    "mkdir in /var/lib/orchestrator": lambda _: os.mkdir(STATE_PROBE),
    "os.replace into home": lambda tmp: os.replace(_tmp_file(tmp), HOME_PROBE),
    "rename into /etc": lambda tmp: _tmp_file(tmp).rename(PROBE),
    "symlink in /etc": lambda _: os.symlink("/nowhere", PROBE),
    "unlink in /etc": lambda _: PROBE.unlink(),
    "chmod in /etc": lambda _: os.chmod(PROBE, 0o600),
}


@pytest.mark.usefixtures("nothing_left")
@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_every_kind_of_change_is_refused(
    operation: Callable[[Path], object], tmp_path: Path
) -> None:
    with pytest.raises(write_guard.ForbiddenWrite):
        operation(tmp_path)

    assert write_guard.take_violations()


def test_reading_the_host_and_writing_temporary_files_are_allowed(tmp_path: Path) -> None:
    assert Path("/etc/passwd").read_text()
    (tmp_path / "unit.service").write_text("[Unit]\n")
    os.replace(tmp_path / "unit.service", tmp_path / "renamed.service")

    assert write_guard.take_violations() == []


@pytest.mark.usefixtures("nothing_left")
def test_the_guard_fails_unit_tests_even_when_they_swallow_it_and_spares_integration_tests(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest("from tests.conftest import *")
    pytester.makepyfile(
        f"""
        import pytest

        from tests.support import write_guard

        def test_writes():
            open("{PROBE}", "w")

        def test_swallows():
            try:
                open("{PROBE}", "w")
            except Exception:
                pass

        @pytest.fixture
        def writes_in_teardown():
            yield
            open("{PROBE}", "w")

        def test_whose_fixture_writes(writes_in_teardown):
            pass

        def test_writes_elsewhere(tmp_path):
            (tmp_path / "f").write_text("x")

        @pytest.mark.integration
        def test_integration():
            assert not write_guard.is_on()
        """
    )

    with write_guard.off():  # this test's own guard would cover the inner run
        result = pytester.runpytest_inprocess(
            "--disable-plugin-autoload", "-p", "no:cacheprovider", "-W", "ignore", "-rA"
        )

    # test_whose_fixture_writes passes, then errors in its tear-down
    result.assert_outcomes(passed=3, failed=2, errors=1)
    assert not PROBE.exists()
    refused = f"*a unit test changes the host: open {PROBE}"
    result.stdout.fnmatch_lines(["*_ test_writes _*", f"E *ForbiddenWrite: {refused[1:]}"])
    result.stdout.fnmatch_lines(["*_ test_swallows _*", refused])
    result.stdout.fnmatch_lines(["*_ ERROR at teardown of test_whose_fixture_writes _*"])
    result.stdout.fnmatch_lines(["PASSED *::test_integration"])
