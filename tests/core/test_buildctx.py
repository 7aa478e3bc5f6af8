"""A build's inputs as one digest: what changes it, what does not, and what is refused."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from orchestrator.core import buildctx
from orchestrator.core.buildctx import ContextError, fingerprint, is_excluded, parse_ignore


def context(tmp_path: Path, files: dict[str, str]) -> str:
    root = tmp_path / "ctx"
    root.mkdir(exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root)


BASE = {"Containerfile": "FROM localhost/busybox:test\nCOPY . /app\n", "msg": "hello\n"}


def digest(root: str, file: str | None = None, ignore: str | None = None) -> str:
    return fingerprint(root, file, ignore).digest


def test_the_same_context_gives_the_same_digest_and_names_its_containerfile(
    tmp_path: Path,
) -> None:
    root = context(tmp_path, BASE)
    first = fingerprint(root, None, None)
    assert first == fingerprint(root, None, None)
    assert first.file == os.path.join(root, "Containerfile")
    assert first.digest.startswith("sha256:") and len(first.digest) == 7 + 64


@pytest.mark.parametrize(
    "change",
    [
        lambda root: Path(root, "msg").write_text("bye\n"),
        lambda root: Path(root, "Containerfile").write_text("FROM localhost/busybox:test\n"),
        lambda root: Path(root, "new").write_text(""),
        lambda root: Path(root, "msg").rename(Path(root, "moved")),
        lambda root: Path(root, "msg").chmod(0o755),
        lambda root: Path(root, "empty-dir").mkdir(),
        lambda root: os.symlink("msg", Path(root, "link")),
    ],
    ids=["content", "containerfile", "new-file", "rename", "made-executable", "dir", "link"],
)
def test_every_change_podman_would_copy_changes_the_digest(tmp_path: Path, change: object) -> None:
    root = context(tmp_path, BASE)
    before = digest(root)
    change(root)  # type: ignore[operator]
    assert digest(root) != before


def test_what_the_ignore_file_leaves_out_does_not_count(tmp_path: Path) -> None:
    root = context(tmp_path, {**BASE, ".containerignore": "*.log\nbuild/\n", "build/x": "1"})
    before = digest(root)
    Path(root, "debug.log").write_text("noise")
    Path(root, "build", "y").write_text("noise")
    assert digest(root) == before
    Path(root, "kept.txt").write_text("counts")
    assert digest(root) != before


def test_a_dockerignore_counts_when_there_is_no_containerignore(tmp_path: Path) -> None:
    root = context(tmp_path, {**BASE, ".dockerignore": "secret\n"})
    before = digest(root)
    Path(root, "secret").write_text("x")
    assert digest(root) == before


def test_an_ignore_file_named_by_the_build_is_read_instead(tmp_path: Path) -> None:
    root = context(tmp_path, {**BASE, "ci.ignore": "tmp\n", ".containerignore": ""})
    before = digest(root, ignore="ci.ignore")
    Path(root, "tmp").write_text("x")
    assert digest(root, ignore="ci.ignore") == before
    assert digest(root) != before


def test_a_symbolic_link_counts_by_where_it_points_and_is_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("secret")
    root = context(tmp_path, BASE)
    os.symlink(str(outside), Path(root, "escape"))
    before = digest(root)
    outside.write_text("changed, but podman copies the link, not this")
    assert digest(root) == before


def test_a_dockerfile_is_used_when_there_is_no_containerfile(tmp_path: Path) -> None:
    root = context(tmp_path, {"Dockerfile": "FROM scratch\n"})
    assert fingerprint(root, None, None).file.endswith("/Dockerfile")


@pytest.mark.parametrize(
    ("files", "file", "ignore", "key", "words"),
    [
        ({"msg": "x"}, None, None, "context", "neither Containerfile nor Dockerfile"),
        (BASE, "Other", None, "file", "no such file"),
        (BASE, None, "missing.ignore", "ignore_file", "no such file"),
    ],
)
def test_missing_inputs_are_refused_naming_the_key(
    tmp_path: Path,
    files: dict[str, str],
    file: str | None,
    ignore: str | None,
    key: str,
    words: str,
) -> None:
    root = context(tmp_path, files)
    with pytest.raises(ContextError, match=words) as caught:
        fingerprint(root, file, ignore)
    assert caught.value.key == key


def test_the_whole_file_system_is_refused_as_a_context() -> None:
    with pytest.raises(ContextError, match="whole file system"):
        fingerprint("/", None, None)


def test_a_context_that_is_not_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ContextError, match="not a directory"):
        fingerprint(str(tmp_path / "file"), None, None)


def test_a_huge_context_is_refused_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(buildctx, "MAX_FILES", 5)
    root = context(tmp_path, {**BASE, **{f"f{i}": "" for i in range(10)}})
    with pytest.raises(ContextError, match="containerignore"):
        fingerprint(root, None, None)


def test_an_ignored_big_directory_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(buildctx, "MAX_FILES", 20)
    files = {f"node_modules/f{i}": "" for i in range(50)}
    root = context(tmp_path, {**BASE, ".containerignore": "node_modules\n", **files})
    assert fingerprint(root, None, None).digest


def test_a_fifo_in_the_context_is_counted_without_opening_it(tmp_path: Path) -> None:
    root = context(tmp_path, BASE)
    os.mkfifo(Path(root, "pipe"))
    assert fingerprint(root, None, None).digest  # would block if it were opened


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        ("*.log", "a.log", True),
        ("*.log", "dir/a.log", False),  # * stays within one directory, as in Docker
        ("**/*.log", "dir/sub/a.log", True),
        ("**/*.log", "a.log", True),
        ("build", "build/out/x", True),  # a directory left out leaves out what is in it
        ("/build", "build", True),
        ("*\n!keep.txt", "keep.txt", False),
        ("*\n!keep.txt", "other", True),
        ("docs\n!docs/README.md", "docs/README.md", False),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[ab]x", "bx", True),
        ("[^ab]x", "cx", True),
        ("# a comment\n\n", "anything", False),
        ("./tmp/", "tmp/x", True),
    ],
)
def test_ignore_patterns_follow_dockerignore(patterns: str, path: str, excluded: bool) -> None:
    assert is_excluded(path, parse_ignore(patterns)) is excluded


def test_a_directory_left_out_is_still_entered_when_an_exception_may_bring_files_back(
    tmp_path: Path,
) -> None:
    root = context(tmp_path, {**BASE, ".containerignore": "docs\n!docs/keep.md\n"})
    Path(root, "docs").mkdir()
    Path(root, "docs", "keep.md").write_text("1")
    before = digest(root)
    Path(root, "docs", "keep.md").write_text("2")
    assert digest(root) != before


@pytest.mark.parametrize(
    "pattern",
    ["*a*a*a*a*a*a*a*a*a*a*b", "**a**a**a**a**a**a**b", "?*?*?*?*?*?*?*?*?*?*x", "**/**/**/**/x"],
)
def test_a_pathological_ignore_pattern_is_matched_quickly(pattern: str) -> None:
    # a backtracking regex took 13 s for the first pattern against 40 characters
    rules = parse_ignore(pattern)
    started = time.monotonic()
    assert not is_excluded("a" * 250 + "/" + "a" * 250, rules)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("pattern", ["[z-a]", "[^]", "x[a-\\]"])
def test_an_ignore_pattern_no_matcher_can_read_is_refused_naming_the_ignore_file(
    tmp_path: Path, pattern: str
) -> None:
    root = context(tmp_path, {**BASE, ".containerignore": pattern + "\n"})
    with pytest.raises(ContextError, match="not a valid pattern") as caught:
        fingerprint(root, None, None)
    assert caught.value.key == "ignore_file"


def test_a_hostile_context_is_fingerprinted_without_following_or_blocking(tmp_path: Path) -> None:
    root = context(tmp_path, BASE)
    os.mkfifo(Path(root, "pipe"))
    os.symlink("/dev/zero", Path(root, "zero"))
    os.symlink("loop", Path(root, "loop"))
    os.symlink("../../..", Path(root, "up"))
    os.symlink("/etc/shadow", Path(root, "secret"))
    Path(os.fsdecode(os.path.join(os.fsencode(root), b"bad\xff\nname"))).write_text("x")
    started = time.monotonic()
    assert fingerprint(root, None, None).digest.startswith("sha256:")
    assert time.monotonic() - started < 5


def test_an_ignore_file_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    root = context(tmp_path, BASE)
    os.mkfifo(Path(root, "ignore"))
    with pytest.raises(ContextError) as caught:
        fingerprint(root, None, "ignore")
    assert caught.value.key == "ignore_file"


def test_a_containerfile_swapped_for_a_fifo_after_the_check_does_not_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = context(tmp_path, BASE)
    os.mkfifo(Path(root, "pipe"))
    monkeypatch.setattr(buildctx, "_containerfile", lambda context, file: f"{context}/pipe")
    with pytest.raises(ContextError, match="not a regular file") as caught:
        fingerprint(root, None, None)
    assert caught.value.key == "file"


def test_a_sparse_file_over_the_budget_is_refused_before_it_is_read(tmp_path: Path) -> None:
    root = context(tmp_path, BASE)
    with open(Path(root, "huge"), "wb") as handle:
        handle.truncate(buildctx.MAX_BYTES + 1)
    started = time.monotonic()
    with pytest.raises(ContextError, match="MiB"):
        fingerprint(root, None, None)
    assert time.monotonic() - started < 2
