"""Arguments and steps that several subcommands share."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from orchestrator.host import paths

if TYPE_CHECKING:
    from orchestrator.core.models import Spec


def add_user_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        action="store_true",
        help="user mode: definitions in ~/.config/orchestrator, units in ~/.config/systemd/user "
        "(XDG_CONFIG_HOME respected), units wanted by default.target",
    )


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def load_paths(args: argparse.Namespace, given: list[str]) -> tuple[list[str], Spec]:
    from orchestrator.core.loader import load

    sources = given or [paths.definitions_dir(args.user)]
    return sources, load(sources)


def mode(args: argparse.Namespace) -> str:
    return "user" if args.user else "system"


def render_units(spec: Spec, args: argparse.Namespace) -> dict[str, str]:
    """The units for this host: render with the mode and the host's cgroup layout."""
    from orchestrator.core.render import render
    from orchestrator.host.facts import cgroups_v1

    user = bool(args.user)
    return render(spec, "user" if user else "system", cgroups_v1=user and cgroups_v1())
