"""The one table of Quadlet keys agrees with docs/quadlet-mapping.md, covers every key Quadlet 5.4
documents, and every row of it is exercised by the import corpus."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from orchestrator.convert import quadlet_keys as keys

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "quadlet_import"
_DOC_ROW = re.compile(r"^\| `(\w+)=` \| ([^|]*) \|", re.M)
_HEADING = re.compile(r"^#+ .*?\[(\w+)\]", re.M)


def documented_rows() -> dict[str, dict[str, str]]:
    """Quadlet section -> {key: the cell "our key"} of docs/quadlet-mapping.md's tables."""
    text = (ROOT / "docs" / "quadlet-mapping.md").read_text()
    headings = list(_HEADING.finditer(text))
    found: dict[str, dict[str, str]] = {}
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else len(text)
        rows = dict(_DOC_ROW.findall(text, heading.end(), end))
        if rows:
            found.setdefault(heading.group(1), {}).update(rows)
    return found


# keys quadlet_in and quadlet_out translate in code, with other keys
BY_CODE = {("Container", "StartWithPod"), ("Build", "SetWorkingDirectory")}


def test_the_table_maps_each_key_as_docs_quadlet_mapping_says() -> None:
    documented = documented_rows()
    assert set(documented) == {section for _, section, _ in keys.KINDS.values()}
    for _, section, rows in keys.KINDS.values():
        ours = {row.key: row.ours for row in rows if not row.section}
        assert sorted(set(documented[section]) - set(ours)) == [], section
        for key, cell in documented[section].items():
            simple = re.fullmatch(r"`([a-z_.]+)`", cell.strip())
            if simple and (section, key) not in BY_CODE:
                assert ours[key] == simple.group(1), f"[{section}] {key}"


def _man_page() -> str:
    from tests.test_quadlet_conformance import _quadlet

    page = Path(_quadlet()).parents[2] / "share" / "man" / "man5" / "podman-systemd.unit.5.gz"
    if not page.exists():
        pytest.skip("no podman-systemd.unit(5) next to the Quadlet generator")
    return gzip.decompress(page.read_bytes()).decode()


def documented_keys() -> dict[str, set[str]]:
    """Quadlet section -> the keys podman-systemd.unit(5) documents for it."""
    found: dict[str, set[str]] = {}
    section = None
    for line in _man_page().splitlines():
        header = re.match(r"\.SH .* units \[(\w+)\]", line)
        if header:
            section = header.group(1)
            found[section] = set()
        elif line.startswith(".SH"):
            section = None
        elif section and (key := re.match(r"\.SS \\fB(\w+)=", line)):
            found[section].add(key.group(1))
    return found


def test_every_key_quadlet_documents_has_a_row() -> None:
    documented = documented_keys()
    assert set(documented) == {section for _, section, _ in keys.KINDS.values()}
    for _, section, rows in keys.KINDS.values():
        missing = documented[section] - {row.key for row in rows}
        assert not missing, f"[{section}] keys without a row: {sorted(missing)}"


def test_every_row_is_used_by_the_import_corpus() -> None:
    used: dict[str, set[str]] = {}
    for path in CORPUS.rglob("*"):
        suffix = path.suffix if path.suffix in keys.KINDS else Path(path.parent.name).suffix
        if suffix not in keys.KINDS or not path.is_file():
            continue
        used.setdefault(suffix, set()).update(re.findall(r"^(\w+)=", path.read_text(), re.M))
    refused = {"KubeDownForce", "ServiceName", "ImageTag"}
    for suffix, (_, _, rows) in keys.KINDS.items():
        missing = {row.key for row in rows if row.section == ""} - used.get(suffix, set())
        missing -= refused | {"ContainersConfModule", "GlobalArgs", "PodmanArgs"}
        assert not missing, f"{suffix}: rows the corpus never uses: {sorted(missing)}"
