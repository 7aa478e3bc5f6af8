"""The dependency graph of rendered units, as systemd will see it: read back from the units'
dependency lines (Requires=, BindsTo=, Wants=, Requisite=, After=) and orchestrator's mark (the
kind and name of each), not from the definition models, so that a new kind of resource is drawn
without a change here. Drawn as a tree with the boot order, as DOT or as Mermaid."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from orchestrator.core.unitfile import mark_fields

STRONG = ("Requires", "BindsTo", "Requisite")
# the ExecStartPre= of a container that waits for a dependency to be healthy (core/render.py)
_HEALTH_WAIT = re.compile(r"State\.Health\.Status.*\s(\S+)\s*$")


@dataclass(frozen=True)
class Node:
    unit: str
    kind: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.kind})"


@dataclass(frozen=True)
class Edge:
    """source needs target: systemd starts target first (or only orders, for "after")."""

    source: str
    target: str
    how: str  # healthy, started (a container), requires, binds, wants, after


@dataclass(frozen=True)
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: tuple[Edge, ...] = ()

    def needs(self, unit: str) -> list[Edge]:
        return [e for e in self.edges if e.source == unit]

    def as_dict(self) -> dict[str, object]:
        return {
            "nodes": [vars(n) for n in self.nodes.values()],
            "edges": [vars(e) for e in self.edges],
            "boot_order": boot_order(self),
        }


def build(units: dict[str, str]) -> Graph:
    """The graph of these units; dependencies on units not among them (network-online.target,
    a unit of the system's) are left out."""
    nodes = {}
    for unit, text in sorted(units.items()):
        mark = mark_fields(text)
        nodes[unit] = Node(unit, mark.get("Kind", "unit"), mark.get("Name", unit))
    containers = {n.name: u for u, n in nodes.items() if n.kind == "container"}
    edges: list[Edge] = []
    for unit, text in sorted(units.items()):
        lines = _unit_lines(text)
        healthy = {containers.get(m.group(1), "") for m in _health_waits(text)}
        for target in dict.fromkeys(w for key in (*STRONG, "Wants", "After") for w in lines[key]):
            if target not in nodes or target == unit:
                continue
            edges.append(Edge(unit, target, _how(target, lines, healthy, nodes)))
    return Graph(nodes, tuple(edges))


def _how(
    target: str, lines: dict[str, list[str]], healthy: set[str], nodes: dict[str, Node]
) -> str:
    if target in healthy:
        return "healthy"
    if target in lines["BindsTo"]:
        return "binds"
    if any(target in lines[key] for key in STRONG):
        return "started" if nodes[target].kind == "container" else "requires"
    return "wants" if target in lines["Wants"] else "after"


def _unit_lines(text: str) -> dict[str, list[str]]:
    """The words of each dependency directive of [Unit] (an empty assignment resets it)."""
    found: dict[str, list[str]] = {key: [] for key in (*STRONG, "Wants", "After")}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
            continue
        key, sep, value = line.partition("=")
        if section == "[Unit]" and sep and key.strip() in found:
            words = value.split()
            found[key.strip()] = found[key.strip()] + words if words else []
    return found


def _health_waits(text: str) -> list[re.Match[str]]:
    waits = []
    for line in text.splitlines():
        if line.startswith("ExecStartPre=") and (match := _HEALTH_WAIT.search(line)):
            waits.append(match)
    return waits


def boot_order(graph: Graph) -> list[list[str]]:
    """The units in the waves systemd starts them at boot: each wave after every unit it is
    ordered after (After=, implied by every dependency orchestrator writes)."""
    before = {u: {e.target for e in graph.needs(u)} for u in graph.nodes}
    waves: list[list[str]] = []
    placed: set[str] = set()
    while len(placed) < len(before):
        wave = sorted(u for u in before if u not in placed and before[u] <= placed)
        if not wave:  # a cycle (definitions refuse them; a unit override might not)
            wave = sorted(set(before) - placed)
        waves.append(wave)
        placed.update(wave)
    return waves


def text(graph: Graph) -> list[str]:
    """The boot order, then a tree from each unit nothing else needs down to what it needs."""
    lines = ["Boot order (each line starts after the ones above it):"]
    for number, wave in enumerate(boot_order(graph), 1):
        lines.append(f"  {number}. " + ", ".join(graph.nodes[u].label for u in wave))
    needed = {e.target for e in graph.edges}
    lines.append("")
    lines.append("Dependencies:")
    for root in (u for u in graph.nodes if u not in needed):
        lines.append(graph.nodes[root].label)
        lines += _subtree(graph, root, "")
    return lines


def _subtree(graph: Graph, unit: str, prefix: str) -> list[str]:
    lines = []
    edges = graph.needs(unit)
    for index, edge in enumerate(edges):
        last = index == len(edges) - 1
        lines.append(
            f"{prefix}{'└── ' if last else '├── '}{graph.nodes[edge.target].label} [{edge.how}]"
        )
        lines += _subtree(graph, edge.target, prefix + ("    " if last else "│   "))
    return lines


SHAPES = {
    "container": "box",
    "volume": "cylinder",
    "network": "hexagon",
    "pod": "box3d",
    "image": "component",
    "build": "folder",
    "kube": "tab",
}
STYLES = {"healthy": "bold", "wants": "dashed", "after": "dotted"}


def dot(graph: Graph) -> str:
    """Graphviz: an arrow from each unit to what it needs, so what starts first is on the
    right."""
    lines = [
        "digraph orchestrator {",
        "  rankdir=LR;",
        '  node [fontname="sans-serif"];',
        '  edge [fontname="sans-serif"];',
    ]
    for node in graph.nodes.values():
        shape = SHAPES.get(node.kind, "ellipse")
        lines.append(f"  {_quoted(node.unit)} [label={_quoted(node.label)}, shape={shape}];")
    for edge in graph.edges:
        style = f", style={STYLES[edge.how]}" if edge.how in STYLES else ""
        lines.append(
            f"  {_quoted(edge.source)} -> {_quoted(edge.target)} "
            f"[label={_quoted(edge.how)}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quoted(value: str) -> str:
    """A DOT ID: a double-quoted string, in which only the quote (and the backslash) need one."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


MERMAID_ARROWS = {"healthy": "==>", "wants": "-.->", "after": "-.->"}


def mermaid(graph: Graph) -> str:
    """A Mermaid flowchart, for a README or a pull request (GitHub draws it)."""
    ids = {unit: f"n{i}" for i, unit in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for unit, node in graph.nodes.items():
        lines.append(f"  {ids[unit]}[{_mermaid_text(node.label)}]")
    for edge in graph.edges:
        arrow = MERMAID_ARROWS.get(edge.how, "-->")
        lines.append(f"  {ids[edge.source]} {arrow}|{edge.how}| {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _mermaid_text(label: str) -> str:
    """A quoted Mermaid label: a double quote is written as its entity, #quot;."""
    return json.dumps(label.replace('"', "#quot;"), ensure_ascii=False)
