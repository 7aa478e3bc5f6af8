"""A hostile file system under the definitions: nothing hangs, nothing crashes, and nothing that
could not be read is left out (its units would be planned for removal).

Every case runs in a forked child under a deadline, so that a read that blocks fails its test
instead of hanging the suite. Unreadability is real: the child drops root for nobody (root reads
through chmod 000)."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pickle
import select
import shutil
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrator import cli
from orchestrator.core import loader
from orchestrator.core.loader import MAX_DEPTH, MAX_FILE_SIZE, find_files, fingerprint, load
from orchestrator.errors import DefinitionError
from tests.support.cli import run_inline

NOBODY = 65534
DEADLINE = 20.0
HELLO = '[container.hello]\nimage = "docker.io/library/busybox:1"\n'
API = '[container.api]\nimage = "docker.io/library/busybox:1"\n'

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="drops root for nobody")


def in_child(work: Callable[[], Any], *, nobody: bool = False, deadline: float = DEADLINE) -> Any:
    """work() in a forked child (as nobody if asked), its result or exception brought back;
    a child still busy at the deadline is killed and the test fails."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.close(reader)
            if nobody:
                os.setgroups([])
                os.setresgid(NOBODY, NOBODY, NOBODY)
                os.setresuid(NOBODY, NOBODY, NOBODY)
            try:
                outcome: tuple[bool, Any] = (True, work())
            except BaseException as exc:
                outcome = (False, exc)
            try:
                data = pickle.dumps(outcome)
            except Exception:  # an exception that does not pickle: its text then
                data = pickle.dumps((False, RuntimeError(repr(outcome[1]))))
            with os.fdopen(writer, "wb") as pipe:
                pipe.write(data)
        finally:
            os._exit(0)
    os.close(writer)
    data = _read_until(reader, deadline, pid)
    os.waitpid(pid, 0)
    ok, value = pickle.loads(data)
    if not ok:
        raise value
    return value


def _read_until(fd: int, deadline: float, pid: int) -> bytes:
    end = time.monotonic() + deadline
    chunks = []
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([pipe], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail(f"still running after {deadline} s: it hangs")
            chunk = pipe.read(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def orchestrator(*argv: str) -> tuple[int, str, str]:
    """The command line in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def problems_of(*paths: Path | str) -> list[str]:
    """What load() says about paths, in a child under the deadline; [] when they load."""

    def work() -> list[str]:
        try:
            load([str(p) for p in paths])
        except DefinitionError as exc:
            return [str(p) for p in exc.problems]
        return []

    result: list[str] = in_child(work)
    return result


@contextlib.contextmanager
def cwd(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """defs/team-a/hello.toml and defs/team-b/api.toml, both rendered into units/ (as applied)."""
    root = tmp_path_factory.mktemp("applied")
    (root / "defs" / "team-a").mkdir(parents=True)
    (root / "defs" / "team-b").mkdir()
    (root / "defs" / "team-a" / "hello.toml").write_text(HELLO)
    (root / "defs" / "team-b" / "api.toml").write_text(API)
    with cwd(root):
        # as root, before any child runs: imports every module the commands use, once
        assert orchestrator("render", "defs", "--out", "units")[0] == 0
        assert orchestrator("plan", "defs", "--unit-dir", "units")[0] == 0
    for module in ("orchestrator.apply", "orchestrator.watch", "orchestrator.host.history"):
        importlib.import_module(module)
    return root


@pytest.fixture
def teams(applied: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of applied that nobody may enter; the test runs from it, since nobody cannot
    reach it from / (pytest's directories are root's alone)."""
    shutil.copytree(applied, tmp_path, dirs_exist_ok=True)
    tmp_path.chmod(0o755)
    with cwd(tmp_path):
        yield tmp_path


# -- parts that cannot be read: an error, never left out ------------------------------------------


@needs_root
def test_an_unreadable_team_directory_is_an_error_and_nothing_is_planned_for_removal(
    teams: Path,
) -> None:
    (teams / "defs" / "team-b").chmod(0)

    code, out, err = in_child(
        lambda: orchestrator("plan", "defs", "--unit-dir", "units"), nobody=True
    )

    assert code == 1, out + err
    assert "remove" not in out
    assert "defs/team-b: cannot read this directory: Permission denied" in err


@needs_root
@pytest.mark.parametrize(
    "command",
    [
        ["validate", "defs"],
        ["render", "defs", "--out", "out"],
        ["plan", "defs", "--unit-dir", "units"],
        ["apply", "defs", "--unit-dir", "units", "--state-dir", "state"],
        ["apply", "--dry-run", "defs", "--unit-dir", "units", "--state-dir", "state"],
        ["watch", "defs", "--unit-dir", "units", "--state-dir", "state"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_every_command_refuses_definitions_it_cannot_read_entirely(
    teams: Path, command: list[str]
) -> None:
    (teams / "out").mkdir(mode=0o777)
    (teams / "defs" / "team-b").chmod(0)
    before = sorted(p.name for p in (teams / "units").iterdir())

    code, out, err = in_child(lambda: orchestrator(*command), nobody=True)

    assert code == 1, out + err
    assert "defs/team-b" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in (teams / "units").iterdir()) == before
    assert not list((teams / "out").iterdir())
    assert not (teams / "state").exists()


@needs_root
def test_an_unreadable_top_directory_is_an_error_not_zero_files(teams: Path) -> None:
    (teams / "defs").chmod(0)

    code, out, err = in_child(lambda: orchestrator("validate", "defs"), nobody=True)

    assert code == 1
    assert "0 file(s)" not in out
    assert "defs: cannot read this directory: Permission denied" in err


@needs_root
def test_a_directory_that_can_be_listed_but_not_entered_is_an_error(teams: Path) -> None:
    (teams / "defs" / "team-b").chmod(0o644)  # the names show, the files cannot be reached

    code, _, err = in_child(lambda: orchestrator("validate", "defs"), nobody=True)

    assert code == 1
    assert "defs/team-b" in err


@needs_root
def test_an_unreadable_file_is_an_error(teams: Path) -> None:
    (teams / "defs" / "team-b" / "api.toml").chmod(0)

    code, _, err = in_child(lambda: orchestrator("validate", "defs"), nobody=True)

    assert code == 1
    assert "defs/team-b/api.toml: cannot read: Permission denied" in err


@needs_root
def test_an_unreadable_hidden_directory_is_still_skipped(teams: Path) -> None:
    (teams / "defs" / ".git").mkdir(mode=0)

    code, out, err = in_child(lambda: orchestrator("validate", "defs"), nobody=True)

    assert code == 0, err
    assert "2 file(s)" in out


def test_a_directory_replaced_during_the_walk_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "api.toml").write_text(API)
    listing = loader._list

    def listing_then_replacing(directory: str, *args: Any) -> Any:
        entries = listing(directory, *args)
        if directory == str(tmp_path):  # listed, and now b becomes a file before it is entered
            (tmp_path / "b" / "api.toml").unlink()
            (tmp_path / "b").rmdir()
            (tmp_path / "b").write_text("")
        return entries

    monkeypatch.setattr(loader, "_list", listing_then_replacing)

    files, problems = find_files([str(tmp_path)])

    assert files == []
    assert [str(p) for p in problems] == [
        f"{tmp_path}/b: cannot read this directory: Not a directory"
    ]


def test_a_directory_whose_listing_fails_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "team-b").mkdir()

    def failing(path: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loader.os, "scandir", failing)

    _, problems = find_files([str(tmp_path)])

    assert [str(p) for p in problems] == [
        f"{tmp_path}: cannot read this directory: Permission denied"
    ]


def test_a_file_that_vanishes_between_listing_and_reading_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "api.toml").write_text(API)

    def listing_then_deleting(paths: Any) -> Any:
        found = find_files(paths)
        (tmp_path / "api.toml").unlink()
        return found

    monkeypatch.setattr(loader, "find_files", listing_then_deleting)

    with pytest.raises(DefinitionError) as caught:
        load([str(tmp_path)])

    assert [p.message for p in caught.value.problems] == ["cannot read: No such file or directory"]


def test_a_repaired_part_changes_the_fingerprint_watch_compares(tmp_path: Path) -> None:
    (tmp_path / "team-b").symlink_to(tmp_path / "elsewhere")
    broken = fingerprint([str(tmp_path)])
    (tmp_path / "elsewhere").mkdir()

    assert fingerprint([str(tmp_path)]) != broken


def test_watch_applies_nothing_while_a_part_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator import watch
    from orchestrator.core.target import Target

    (tmp_path / "hello.toml").write_text(HELLO)
    (tmp_path / "team-b").symlink_to(tmp_path / "gone")
    applied: list[object] = []
    monkeypatch.setattr(watch, "apply", lambda *a, **k: applied.append(a))
    lines: list[str] = []
    options: Any = SimpleNamespace()  # apply is replaced, and only apply reads them
    where = Target("system", (str(tmp_path),), unit_dir="u", state_dir="s")
    watcher = watch.Watcher(where, options, log=lines.append)

    assert watcher.apply_once("start") is False

    assert applied == []
    assert "definitions invalid, nothing changed" in lines[0]
    assert "team-b: cannot follow this symbolic link" in lines[0]


# -- symbolic links -------------------------------------------------------------------------------


def test_a_symlinked_directory_is_followed(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "api.toml").write_text(API)
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "hello.toml").write_text(HELLO)
    (tmp_path / "defs" / "team-b").symlink_to("../shared")

    files, problems = find_files([str(tmp_path / "defs")])

    assert problems == []
    assert files == [str(tmp_path / "defs" / "hello.toml"), str(tmp_path / "defs/team-b/api.toml")]


def test_a_symlink_loop_back_to_a_parent_is_an_error_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "hello.toml").write_text(HELLO)
    (tmp_path / "a" / "up").symlink_to("..")

    problems = problems_of(tmp_path)

    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path}/a/up: the same directory as {tmp_path}, reached")


def test_two_links_to_one_directory_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "api.toml").write_text(API)
    (tmp_path / "one").symlink_to("shared")
    (tmp_path / "two").symlink_to("shared")

    problems = problems_of(tmp_path)

    assert len(problems) == 2  # two of the three names of one directory
    assert all("the same directory as" in p for p in problems)


def test_a_link_out_to_a_huge_tree_is_an_error_not_a_walk_of_the_whole_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hello.toml").write_text(HELLO)
    for number in range(8):
        (tmp_path / "tree" / str(number)).mkdir(parents=True)
    monkeypatch.setattr(loader, "MAX_DIRECTORIES", 5)

    problems = problems_of(tmp_path)

    assert problems == [
        f"{tmp_path}: more than 5 directories below this one (a symbolic link leading out of "
        "the definitions?); definitions fit in fewer"
    ]


def test_a_symlink_that_leads_nowhere_is_an_error_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "hello.toml").write_text(HELLO)
    (tmp_path / "team-b").symlink_to("/nonexistent/team-b")

    assert problems_of(tmp_path) == [
        f"{tmp_path}/team-b: cannot follow this symbolic link: No such file or directory"
    ]


def test_a_loop_of_file_symlinks_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.toml").symlink_to("b.toml")
    (tmp_path / "b.toml").symlink_to("a.toml")

    problems = problems_of(tmp_path)

    assert len(problems) == 2
    assert all("Too many levels of symbolic links" in p for p in problems)


def test_a_symlink_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text(HELLO)
    (tmp_path / "hello.toml").symlink_to("real.txt")

    assert problems_of(tmp_path) == []


# -- files that are not regular files -------------------------------------------------------------


def test_a_fifo_named_toml_is_an_error_not_a_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.toml")

    assert problems_of(tmp_path) == [f"{tmp_path}/x.toml: not a regular file: a FIFO"]
    assert problems_of(tmp_path / "x.toml") == [
        f"{tmp_path}/x.toml: not a file or directory: a FIFO"
    ]


def test_a_fifo_swapped_in_after_the_check_is_opened_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.toml")
    regular = os.stat(__file__)

    def work() -> str:
        os.stat = lambda *a, **k: regular  # the check before the open saw a regular file
        try:
            loader.read_definition(str(tmp_path / "x.toml"))
        except Exception as exc:
            return str(exc)
        return "read"

    assert in_child(work, deadline=5) == "not a regular file: a FIFO"


def test_a_socket_named_toml_is_an_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "x.toml"))
        assert problems_of(tmp_path) == [f"{tmp_path}/x.toml: not a regular file: a socket"]


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "/dev/urandom"])
def test_a_link_to_a_device_is_an_error(tmp_path: Path, device: str) -> None:
    (tmp_path / "x.toml").symlink_to(device)

    assert problems_of(tmp_path) == [f"{tmp_path}/x.toml: not a regular file: a character device"]
    assert problems_of(tmp_path / "x.toml") == [
        f"{tmp_path}/x.toml: not a file or directory: a character device"
    ]


def test_a_directory_named_toml_is_read_as_a_directory(tmp_path: Path) -> None:
    (tmp_path / "x.toml").mkdir()
    (tmp_path / "x.toml" / "hello.toml").write_text(HELLO)

    files, problems = find_files([str(tmp_path)])

    assert (files, problems) == ([str(tmp_path / "x.toml" / "hello.toml")], [])


# -- sizes and shapes -----------------------------------------------------------------------------


def test_a_file_over_one_mib_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_bytes(HELLO.encode() + b"#" * MAX_FILE_SIZE)

    assert problems_of(tmp_path) == [
        f"{tmp_path}/x.toml: too large: {len(HELLO) + MAX_FILE_SIZE} bytes; a definition file "
        "holds at most 1 MiB (1048576 bytes)"
    ]


def test_a_file_of_exactly_one_mib_is_read(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_bytes(HELLO.encode() + b"#" * (MAX_FILE_SIZE - len(HELLO)))

    assert problems_of(tmp_path) == []


def test_a_file_that_grows_past_the_limit_while_read_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_bytes(b"#" * 20)
    fd = os.open(tmp_path / "x.toml", os.O_RDONLY)
    try:
        with pytest.raises(Exception, match="too large: more than 10 bytes"):
            loader._read_at_most(fd, 10)  # st_size said it fitted
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    "value",
    [
        "[" * 600 + "]" * 600,
        "{a = " * 600 + "1" + "}" * 600,
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),  # parsed, then refused
        "[{a = " * 40 + "1" + "}]" * 40,
        "[" * 5000 + "]" * 5000,  # past the compiled parser's recursion limit too
        "[" * 5000,  # never closed: deep before it is wrong
    ],
    ids=["arrays-600", "inline-tables-600", "arrays-65", "mixed-80", "arrays-5000", "open-5000"],
)
def test_deep_nesting_is_an_error(tmp_path: Path, value: str) -> None:
    (tmp_path / "x.toml").write_text(HELLO + f"description = {value}\n")

    problems = problems_of(tmp_path)

    assert len(problems) == 1
    assert problems[0].endswith(f"arrays or tables nested more than {MAX_DEPTH} deep")


@pytest.mark.parametrize(
    "line",
    ["[container.hello.unit.X-a" + ".a" * 100_000 + "]", "a" + ".a" * 100_000 + " = 1"],
    ids=["table-header", "dotted-key"],
)
def test_a_key_path_a_hundred_thousand_deep_is_refused_at_once_not_parsed_for_a_minute(
    tmp_path: Path, line: str
) -> None:
    (tmp_path / "x.toml").write_text(HELLO + line + "\n")

    problems = problems_of(tmp_path)  # the deadline fails a parse that takes long

    assert problems == [f"{tmp_path}/x.toml:3: arrays or tables nested more than {MAX_DEPTH} deep"]


def test_a_quoted_name_full_of_dots_is_not_taken_for_nesting(tmp_path: Path) -> None:
    name = ".".join(["a"] * 64)  # 128 characters, a valid name
    (tmp_path / "x.toml").write_text(
        f'[container."{name}".unit."X-{name}"]\nNote = "x"\n'
        f'[container."{name}"]\nimage = "docker.io/library/busybox:1"\n'
    )

    assert problems_of(tmp_path) == []


def test_nesting_up_to_the_limit_reaches_the_usual_checks(tmp_path: Path) -> None:
    levels = MAX_DEPTH - 2  # the innermost array is at container.hello.description[0][0]...
    deepest = "[" * levels + "]" * levels
    (tmp_path / "ok.toml").write_text(HELLO + f"description = {deepest}\n")
    (tmp_path / "x.toml").write_text(HELLO.replace("hello", "x") + f"description = [{deepest}]\n")

    assert problems_of(tmp_path) == [
        f"{tmp_path}/ok.toml: container.hello.description: expected a string, got an array",
        f"{tmp_path}/x.toml: container.x.description[0]: arrays or tables nested more than "
        f"{MAX_DEPTH} deep",
    ]


def test_an_integer_longer_than_python_converts_is_an_error_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text(HELLO + "stop_timeout = " + "1" * 5000 + "\n")

    assert problems_of(tmp_path) == [f"{tmp_path}/x.toml:3:16: an integer of more than 4300 digits"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xef\xbb\xbf" + HELLO.encode(), None),
        (HELLO.replace("\n", "\r\n").encode(), None),
        (HELLO.encode() + b'description = "a\x00b"\n', "TOML syntax error"),
        (HELLO.encode() + b"\x00", "TOML syntax error"),
        (HELLO.encode() + b'description = "\xff"\n', ":3: not valid UTF-8"),
        (b"\xfe\xff" + HELLO.encode("utf-16-be"), ":1: not valid UTF-8"),
    ],
    ids=["bom", "crlf", "nul-in-string", "nul-alone", "invalid-utf8", "utf16"],
)
def test_encodings_and_odd_bytes_are_read_or_refused_cleanly(
    tmp_path: Path, content: bytes, expected: str | None
) -> None:
    (tmp_path / "x.toml").write_bytes(content)

    problems = problems_of(tmp_path)

    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0], problems


def _chain(length: int, *, closed: bool) -> str:
    parts = []
    for i in range(length):
        last = i == length - 1
        dep = "" if last and not closed else f'depends_on = ["c{(i + 1) % length}"]\n'
        parts.append(f'[container.c{i}]\nimage = "docker.io/library/busybox:1"\n{dep}')
    return "\n".join(parts)


def test_a_thousand_long_depends_on_chain_is_valid(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text(_chain(1000, closed=False))

    assert problems_of(tmp_path) == []


def test_a_thousand_long_cycle_is_one_short_error(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text(_chain(1000, closed=True))

    assert problems_of(tmp_path) == [
        f"{tmp_path}/x.toml: container.c0.depends_on: dependency cycle of 1000 containers: "
        "c0 -> c1 -> c2 -> c3 -> c4 -> ... -> c997 -> c998 -> c999 -> c0"
    ]


def test_the_fork_helper_kills_what_hangs() -> None:
    with pytest.raises(pytest.fail.Exception, match="hangs"):
        in_child(lambda: time.sleep(60), deadline=0.05)


def test_the_fork_helper_really_drops_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("drops root for nobody")
    assert in_child(os.geteuid, nobody=True) == NOBODY


def test_definitions_load_from_a_working_directory_since_removed(tmp_path: Path) -> None:
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "x.toml").write_text(HELLO + "ports = [1]\n")
    (tmp_path / "gone").mkdir()

    def work() -> list[str]:
        os.chdir(tmp_path / "gone")
        os.rmdir(tmp_path / "gone")
        try:
            load([str(tmp_path / "defs")])
        except DefinitionError as exc:
            return [p.file for p in exc.problems]
        return []

    assert in_child(work) == [str(tmp_path / "defs" / "x.toml")]


def test_the_command_line_names_every_hostile_entry_and_exits_1(tmp_path: Path) -> None:
    """The command as an operator runs it (in a child, under the deadline: a fifo or /dev/zero
    must not hang it): exit 1, each entry named, no traceback."""
    (tmp_path / "hello.toml").write_text(HELLO)
    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    (tmp_path / "nowhere").symlink_to(tmp_path / "missing")
    (tmp_path / "loop").symlink_to(".")
    (tmp_path / "big.toml").write_bytes(b"#" * (MAX_FILE_SIZE + 1))

    result = in_child(lambda: run_inline("plan", str(tmp_path), "--unit-dir", str(tmp_path)))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for name in ("fifo.toml", "zero.toml", "nowhere", "loop", "big.toml"):
        assert f"{tmp_path}/{name}: " in result.stderr, name
    assert "5 errors; nothing was changed." in result.stderr
