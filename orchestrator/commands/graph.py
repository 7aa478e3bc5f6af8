"""`orchestrator graph`: what depends on what, and the order systemd starts it all in."""

from __future__ import annotations

import argparse

from orchestrator.commands.common import (
    add_json_flag,
    add_user_flag,
    load_definitions,
    render_units,
    target,
)
from orchestrator.commands.output import print_json

NAME = "graph"
HELP = "the dependency graph of the definitions: a tree, DOT, Mermaid or SVG"
DESCRIPTION = """\
Draw the dependencies between the declared units (containers, volumes, networks and every other
kind), read from the units as rendered: which unit requires which (`started`, or `healthy` where a
container waits for a dependency's health check; `requires`, `binds`, `wants`, or `after` for
ordering alone), and the boot order systemd follows, in waves.

Formats: text (the boot order and a tree, the default), dot (Graphviz), mermaid (for a README or a
pull request) and svg (Graphviz's dot renders it; it must be installed)."""
EPILOG = """\
examples:
  orchestrator graph examples/web-stack
  orchestrator graph examples/web-stack --format mermaid
  orchestrator graph examples/web-stack --format svg > stack.svg
  orchestrator graph examples/web-stack --format dot | dot -Tpng > stack.png"""

FORMATS = ("text", "dot", "mermaid", "svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="definition files or directories")
    parser.add_argument("--format", choices=FORMATS, default="text", help="default: text")
    add_user_flag(parser)
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.core import graph

    where = target(args, args.paths)
    drawn = graph.build(render_units(load_definitions(where, args), where))
    if args.json:
        print_json(drawn.as_dict())
    elif args.format == "text":
        print("\n".join(graph.text(drawn)))
    elif args.format == "dot":
        print(graph.dot(drawn), end="")
    elif args.format == "mermaid":
        print(graph.mermaid(drawn), end="")
    else:
        print(svg(graph.dot(drawn)), end="")
    return 0


def svg(dot_text: str) -> str:
    from orchestrator.errors import UsageError
    from orchestrator.host import runner

    try:
        return runner.run(["dot", "-Tsvg"], input=dot_text, timeout=60).stdout
    except runner.CommandError as exc:
        if exc.code == 127:
            raise UsageError(
                "--format svg needs Graphviz's dot (apt-get install graphviz); "
                "--format dot prints what it would draw"
            ) from None
        raise
