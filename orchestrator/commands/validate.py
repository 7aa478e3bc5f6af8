"""`orchestrator validate`: check definitions without touching anything."""

from __future__ import annotations

import argparse
import sys

from orchestrator.commands.common import (
    add_json_flag,
    add_podman_version_flag,
    add_user_flag,
    load_definitions,
    refuse_system_units,
    target,
)
from orchestrator.commands.output import declared, declared_text, print_json

NAME = "validate"
HELP = "check definitions and report every error"
DESCRIPTION = """\
Read the definitions (a .toml file, or every *.toml below a directory) and check them: TOML syntax,
keys and values, references between resources, dependency cycles and name clashes. Nothing is
changed. Several paths form one desired state.

Exit 0 with a one-line summary when all is valid; exit 1 with every error otherwise, each naming
the file, the TOML key path and what was expected. A warning (on stderr, exit code unchanged)
names each short image name ("nginx") that podman cannot pull on this host: one without an alias
where registries.conf gives no single search registry podman can use without a terminal."""
EPILOG = """\
examples:
  orchestrator validate examples/web-stack
  orchestrator validate /etc/orchestrator --json
  orchestrator validate            # /etc/orchestrator, or ~/.config/orchestrator with --user"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="definition files or directories")
    add_user_flag(parser)
    add_json_flag(parser)
    add_podman_version_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.host import registries

    where = target(args, args.paths)
    spec = load_definitions(where, args)
    # as render and plan do: what they would refuse, validate refuses
    refuse_system_units(spec, where)
    warnings = registries.warnings(spec, registries.load(where.user))
    counts, files = declared(spec), len(spec.files)
    if args.json:
        found = [w.as_dict() for w in warnings]
        payload = {"ok": True, "paths": list(where.definitions), "files": files, **counts,
                   "warnings": found}  # fmt: skip
        print_json(payload)
    else:
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(f"ok: {files} file(s), {declared_text(counts)}")
    return 0
