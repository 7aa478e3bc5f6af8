"""`orchestrator render`: write the unit files for definitions into a directory."""

from __future__ import annotations

import argparse

from orchestrator.commands.common import (
    add_json_flag,
    add_podman_version_flag,
    add_user_flag,
    load_definitions,
    refuse_system_units,
    render_units,
    target,
)
from orchestrator.commands.output import print_json

NAME = "render"
HELP = "write the systemd unit files for definitions into a directory"
DESCRIPTION = """\
Validate the definitions and write one unit file per container (NAME.service), volume
(NAME-volume.service) and network (NAME-network.service) into DIR, creating it. Files already in
DIR that orchestrator did not write are never overwritten (exit 1, nothing written). Files that
already hold the right text are not rewritten; other files are left as they are: render only adds
and updates. Output is deterministic."""
EPILOG = """\
examples:
  orchestrator render examples/hello --out /tmp/units
  orchestrator render examples/web-stack --out ./units --user"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="a definition file or directory")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write units into")
    add_user_flag(parser)
    add_json_flag(parser)
    add_podman_version_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.host.unitdir import write_units

    where = target(args, [args.path])
    spec = load_definitions(where, args)
    refuse_system_units(spec, where)
    units = render_units(spec, where)
    written = write_units(args.out, units, durable=False)
    if args.json:
        payload = {"ok": True, "out": args.out, "units": list(units), "written": written}
        print_json(payload)
    else:
        unchanged = len(units) - len(written)
        note = f" ({unchanged} already up to date)" if unchanged else ""
        print(f"wrote {len(written)} unit file(s) into {args.out}{note}")
    return 0
