"""`orchestrator import quadlet` and `orchestrator export quadlet` on the command line."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.support.cli import run_inline

CORPUS = Path(__file__).resolve().parents[1] / "quadlet_import"


def test_import_writes_one_definition_file_per_resource_that_validates(tmp_path: Path) -> None:
    out = tmp_path / "defs"
    done = run_inline("import", "quadlet", str(CORPUS / "web-stack"), "--out", str(out))
    assert (done.returncode, done.stderr) == (0, "")
    assert sorted(p.name for p in out.iterdir()) == [
        "app.network.toml", "db.container.toml", "pgdata.volume.toml", "web-static.volume.toml",
        "web.container.toml",
    ]  # fmt: skip
    # Quadlet files are for podman 4.4 and later, whose keys they may use
    assert run_inline("validate", str(out), "--podman-version", "5.4").returncode == 0
    again = run_inline("import", "quadlet", str(CORPUS / "web-stack"), "--out", str(out))
    assert again.returncode == 0 and "5 already there" in again.stdout


def test_an_unknown_key_exits_1_naming_file_line_and_key_and_writes_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.container").write_text("[Container]\nImage=busybox\nFrobnicate=1\n")
    out = tmp_path / "defs"
    done = run_inline("import", "quadlet", str(tmp_path / "a.container"), "--out", str(out))
    assert done.returncode == 1
    assert "a.container:3: [Container] Frobnicate: unknown key" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_a_file_that_is_not_a_unit_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "a.container").write_bytes(b"\xff\xfe[Container]\n")
    (tmp_path / "b.container").write_text("Image=busybox\n")
    done = run_inline("import", "quadlet", str(tmp_path), "--out", str(tmp_path / "o"))
    assert done.returncode == 1
    assert "a.container: not valid UTF-8" in done.stderr
    assert "b.container:1: Image= is outside of any section" in done.stderr


def test_export_writes_quadlet_files_and_refuses_to_overwrite_others(tmp_path: Path) -> None:
    out = tmp_path / "quadlet"
    done = run_inline("export", "quadlet", "examples/web-stack", "--out", str(out))
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written and all(p.endswith((".container", ".volume", ".network")) for p in written)
    (out / written[0]).write_text("[Container]\nImage=other\n")
    clash = run_inline("export", "quadlet", "examples/web-stack", "--out", str(out))
    assert clash.returncode == 1 and written[0] in clash.stderr


def test_the_quadlet_example_imports_validates_and_exports_again(tmp_path: Path) -> None:
    defs, quadlet = tmp_path / "defs", tmp_path / "quadlet"
    assert run_inline("import", "quadlet", "examples/quadlet", "--out", str(defs)).returncode == 0
    web = (defs / "web.container.toml").read_text()
    assert 'auto_update = "registry"' in web  # from the drop-in
    assert 'depends_on = {db = "started"}' in web
    assert run_inline("validate", str(defs)).returncode == 0
    assert run_inline("export", "quadlet", str(defs), "--out", str(quadlet)).returncode == 0
    assert (quadlet / "web.container").read_text().count("Requires=db.service") == 1


def test_a_directory_is_read_with_its_subdirectories_but_not_hidden_ones(tmp_path: Path) -> None:
    (tmp_path / "q" / "web").mkdir(parents=True)
    (tmp_path / "q" / ".old").mkdir()
    (tmp_path / "q" / "web" / "web.container").write_text("[Container]\nImage=busybox\n")
    (tmp_path / "q" / ".old" / "web.container").write_text("[Container]\nImage=busybox\n")
    done = run_inline("import", "quadlet", str(tmp_path / "q"), "--out", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["web.container.toml"]


DEFINITION = '[container.web]\nimage = "docker.io/library/nginx:1.27"\n'


class Hung(BaseException):  # not an OSError, which the code under test may catch
    pass


def _alarm(seconds: int) -> None:
    def ring(signum: int, frame: object) -> None:
        raise Hung(f"no answer within {seconds} s")

    signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)


@pytest.mark.parametrize("planted", ["fifo", "dangling link", "link"])
def test_export_into_a_directory_with_a_planted_entry_refuses_and_follows_nothing(
    tmp_path: Path, planted: str
) -> None:
    # a FIFO named web.container blocked the export for ever
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "web.toml").write_text(DEFINITION)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    if planted == "fifo":
        os.mkfifo(out / "web.container")
    else:
        if planted == "link":
            victim.write_text("mine\n")
        (out / "web.container").symlink_to(victim)
    _alarm(10)
    try:
        result = run_inline("export", "quadlet", str(tmp_path / "d"), "--out", str(out))
    finally:
        signal.alarm(0)
    assert result.returncode == 1, result.stderr
    assert "web.container" in result.stderr
    assert (not victim.exists()) if planted != "link" else victim.read_text() == "mine\n"


def test_import_of_a_file_named_with_control_characters_is_refused_not_a_crash(
    tmp_path: Path,
) -> None:
    # the name went raw into a TOML comment, which TOML forbids: exit 70
    quadlet = tmp_path / "q"
    quadlet.mkdir()
    (quadlet / "w\x1b]0;x\x07.container").write_text(
        "[Container]\nImage=docker.io/library/nginx:1.27\n"
    )
    result = run_inline("import", "quadlet", str(quadlet), "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    assert "container name" in result.stderr and "\x1b" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("verb", ["export", "import"])
def test_an_out_that_is_a_symbolic_link_is_refused_as_import_compose_refuses_it(
    tmp_path: Path, verb: str
) -> None:
    # export and import quadlet wrote into the link's target; import compose refuses the link
    (tmp_path / "target").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "target")
    source = "examples/web-stack" if verb == "export" else str(CORPUS / "web-stack")
    result = run_inline(verb, "quadlet", source, "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    assert "symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "target").iterdir())


@pytest.mark.parametrize("name", ["..container", ".container", "...volume"])
@pytest.mark.parametrize("given", ["file", "directory"])
def test_a_file_with_no_unit_name_before_its_suffix_is_an_error_naming_it(
    tmp_path: Path, name: str, given: str
) -> None:
    # in a directory it was skipped as hidden, and the import said "wrote 0"
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / name).write_text("[Container]\nImage=docker.io/library/nginx:1.27\n")
    source = tmp_path / "q" / name if given == "file" else tmp_path / "q"
    result = run_inline("import", "quadlet", str(source), "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stdout
    assert f"q/{name}: no unit name before" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_directory_without_quadlet_files_is_an_error_not_wrote_0(tmp_path: Path) -> None:
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "notes.txt").write_text("nothing\n")
    result = run_inline("import", "quadlet", str(tmp_path / "q"), "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stdout
    assert "q: no Quadlet files here" in result.stderr
    assert not (tmp_path / "out").exists()
