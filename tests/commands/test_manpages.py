"""The man pages: generated from the parser and the README, committed in man/ (installed with
the package), and rendered by man without a warning."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from orchestrator import cli
from orchestrator.commands.completion import command_tree
from orchestrator.commands.manpages import pages
from tests.support.cli import ROOT

MAN = ROOT / "man"


def generated() -> dict[str, str]:
    return pages((ROOT / "README.md").read_text())


def test_the_committed_pages_are_what_the_parser_and_readme_give() -> None:
    committed = {p.name: p.read_text() for p in MAN.iterdir()}
    found = generated()  # once: it was made again for every page compared, 0.8 s a run
    stale = sorted(n for n in {*committed, *found} if committed.get(n) != found.get(n))
    assert not stale, f"man/ is stale ({', '.join(stale)}): run scripts/manpages"


def test_every_command_has_a_page_listing_its_options() -> None:
    found = generated()
    tree = command_tree(cli.build_parser())
    for command in [tree, *tree.subcommands.values()]:
        page = found["-".join(("orchestrator", *command.words)) + ".1"]
        for option in command.options:
            assert option.flags[-1].replace("-", "\\-") in page, (command.words, option.flags)
    assert ".SS" in found["orchestrator.toml.5"] and "\\fBimage\\fR" in found["orchestrator.toml.5"]


# a `tools` test (run after the unit part, see scripts/test): one man process per page and locale
@pytest.mark.tools
@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])  # an ASCII terminal, and a UTF-8 one
@pytest.mark.parametrize("name", sorted(p.name for p in MAN.iterdir()))
def test_man_renders_each_page_without_a_warning(name: str, locale: str) -> None:
    result = subprocess.run(
        ["man", "--warnings", "-l", str(MAN / name)], capture_output=True, text=True,
        env={**os.environ, "MANWIDTH": "80", "LC_ALL": locale}, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "orchestrator" in result.stdout


def test_the_package_installs_the_pages() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"share/man/man1" = ["man/*.1"]' in pyproject
    assert '"share/man/man5" = ["man/*.5"]' in pyproject
