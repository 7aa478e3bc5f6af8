"""The dependency graph, read back from rendered units, drawn as text, DOT and Mermaid; DOT and
Mermaid are parsed back here to check they say what the units say."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from orchestrator.core import graph
from orchestrator.core.loader import load
from orchestrator.core.render import render
from tests.support.cli import run_inline

ROOT = Path(__file__).resolve().parents[2]
WEB_STACK = {
    ("app.service", "db.service", "healthy"),
    ("app.service", "backend-network.service", "requires"),
    ("db.service", "db-data-volume.service", "requires"),
    ("db.service", "backend-network.service", "requires"),
    ("proxy.service", "app.service", "healthy"),
    ("proxy.service", "backend-network.service", "requires"),
}


def web_stack() -> graph.Graph:
    return graph.build(render(load([str(ROOT / "examples/web-stack")])))


def edges(g: graph.Graph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.how) for e in g.edges}


def test_the_graph_has_every_dependency_the_units_declare() -> None:
    g = web_stack()
    assert edges(g) == WEB_STACK
    assert g.nodes["db-data-volume.service"].kind == "volume"
    assert "network-online.target" not in g.nodes  # the system's units are left out


def test_the_boot_order_puts_each_unit_after_what_it_needs() -> None:
    assert graph.boot_order(web_stack()) == [
        ["backend-network.service", "db-data-volume.service"],
        ["db.service"],
        ["app.service"],
        ["proxy.service"],
    ]


def test_a_started_dependency_and_ordering_alone_are_told_apart(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        '[container.a]\nimage = "docker.io/library/busybox:1"\ndepends_on = ["b"]\n'
        'unit = { Unit = { After = ["c.service"], Wants = ["d.service"] } }\n'
        '[container.b]\nimage = "docker.io/library/busybox:1"\n'
        '[container.c]\nimage = "docker.io/library/busybox:1"\n'
        '[container.d]\nimage = "docker.io/library/busybox:1"\n'
    )
    found = edges(graph.build(render(load([str(tmp_path)]))))
    assert found == {
        ("a.service", "b.service", "started"),
        ("a.service", "c.service", "after"),
        ("a.service", "d.service", "wants"),
    }


def test_a_kind_graph_has_never_seen_is_drawn_from_its_unit() -> None:
    units = {
        "web.service": "[Unit]\nRequires=web-pod.service\nAfter=web-pod.service\n"
        "[X-Orchestrator]\nKind=container\nName=web\n",
        "web-pod.service": "[Unit]\nBindsTo=app-build.service\nAfter=app-build.service\n"
        "[X-Orchestrator]\nKind=pod\nName=web\n",
        "app-build.service": "[Unit]\n[X-Orchestrator]\nKind=build\nName=app\n",
    }
    g = graph.build(units)
    assert edges(g) == {
        ("web.service", "web-pod.service", "requires"),
        ("web-pod.service", "app-build.service", "binds"),
    }
    assert g.nodes["web-pod.service"].label == "web (pod)"
    assert "shape=box3d" in graph.dot(g)


def test_the_tree_shows_each_root_with_what_it_needs() -> None:
    lines = graph.text(web_stack())
    assert lines[1] == "  1. backend (network), db-data (volume)"
    tree = lines[lines.index("Dependencies:") + 1 :]
    assert tree[0] == "proxy (container)"
    assert tree[1] == "├── app (container) [healthy]"
    assert "│   │   ├── db-data (volume) [requires]" in tree


DOT_NODE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" \[label="((?:[^"\\]|\\.)*)", shape=(\w+)\];$')
DOT_EDGE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" \[label="(\w+)"')


def parse_dot(text: str) -> tuple[dict[str, str], set[tuple[str, str, str]]]:
    nodes, found = {}, set()
    assert text.startswith("digraph orchestrator {\n") and text.endswith("}\n")
    for line in text.splitlines()[1:-1]:
        if node := DOT_NODE.match(line):
            nodes[node.group(1)] = node.group(2)
        elif edge := DOT_EDGE.match(line):
            found.add((edge.group(1), edge.group(2), edge.group(3)))
        else:
            assert re.fullmatch(r"  (rankdir=LR|(node|edge) \[fontname=\"sans-serif\"\]);", line)
    return nodes, found


def test_dot_parses_back_to_the_same_graph() -> None:
    nodes, found = parse_dot(graph.dot(web_stack()))
    assert found == WEB_STACK
    assert nodes["db.service"] == "db (container)"


def test_dot_and_mermaid_quote_what_would_break_them() -> None:
    units = {'x".service': '[X-Orchestrator]\nKind=container\nName=x"y\\\n'}
    nodes, _ = parse_dot(graph.dot(graph.build(units)))
    assert list(nodes) == ['x\\".service'] and nodes['x\\".service'] == 'x\\"y\\\\ (container)'
    assert '["x#quot;y\\\\ (container)"]' in graph.mermaid(graph.build(units))


MERMAID_NODE = re.compile(r'^  (n\d+)\["([^"]*)"\]$')
MERMAID_EDGE = re.compile(r"^  (n\d+) (-->|==>|-\.->)\|(\w+)\| (n\d+)$")


def test_mermaid_parses_back_to_the_same_graph() -> None:
    text = graph.mermaid(web_stack())
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    labels: dict[str, str] = {}
    found = set()
    for line in lines[1:]:
        if node := MERMAID_NODE.match(line):
            labels[node.group(1)] = node.group(2)
        else:
            edge = MERMAID_EDGE.match(line)
            assert edge, line
            found.add((labels[edge.group(1)], labels[edge.group(4)], edge.group(3)))
            assert (edge.group(2) == "==>") == (edge.group(3) == "healthy")
    assert ("proxy (container)", "app (container)", "healthy") in found
    assert len(found) == len(WEB_STACK)


def test_the_command_prints_each_format() -> None:
    stack = str(ROOT / "examples/web-stack")
    assert run_inline("graph", stack).stdout.startswith("Boot order")
    assert parse_dot(run_inline("graph", stack, "--format", "dot").stdout)[1] == WEB_STACK
    assert run_inline("graph", stack, "--format", "mermaid").stdout.startswith("flowchart LR")
    result = run_inline("graph", stack, "--format", "png")
    assert result.returncode == 1 and "invalid choice" in result.stderr


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_svg_draws_every_unit(tmp_path: Path) -> None:
    result = run_inline("graph", str(ROOT / "examples/web-stack"), "--format", "svg")
    assert result.returncode == 0, result.stderr
    svg = ElementTree.fromstring(result.stdout.split("\n", 3)[-1])  # after the XML prologue
    titles = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")}
    assert {"db.service", "proxy.service->app.service"} <= titles
    if shutil.which("rsvg-convert"):  # drawn: the PNG a person looked at when this was written
        (tmp_path / "g.svg").write_text(result.stdout)
        subprocess.run(
            ["rsvg-convert", str(tmp_path / "g.svg"), "-o", str(tmp_path / "g.png")], check=True
        )
        assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_svg_without_graphviz_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = run_inline("graph", str(ROOT / "examples/web-stack"), "--format", "svg")
    assert result.returncode == 1
    assert "apt-get install graphviz" in result.stderr


def test_json_carries_the_schema_nodes_edges_and_boot_order() -> None:
    import json

    payload = json.loads(run_inline("graph", str(ROOT / "examples/web-stack"), "--json").stdout)
    assert payload["schema"] == 1
    assert {(e["source"], e["target"], e["how"]) for e in payload["edges"]} == WEB_STACK
    assert payload["boot_order"][-1] == ["proxy.service"]
