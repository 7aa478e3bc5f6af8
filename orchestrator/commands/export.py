"""`orchestrator export`: write the definitions in another format (Quadlet files)."""

from __future__ import annotations

import argparse

from orchestrator.commands.common import (
    add_json_flag,
    add_podman_version_flag,
    add_user_flag,
    load_definitions,
    target,
)
from orchestrator.commands.output import print_written

NAME = "export"
HELP = "write definitions as Quadlet files"
DESCRIPTION = """\
export quadlet PATH --out DIR
  Validate the definitions and write one Quadlet file per container (NAME.container), volume
  (NAME.volume) and network (NAME.network) into DIR, for hosts whose podman (4.4 or later) runs
  Quadlet. The unit Quadlet generates runs the same podman arguments as orchestrator's. What
  Quadlet has no key for is written as it would run: privileged, http_proxy, mac_address and
  apparmor as PodmanArgs=, reload_command/reload_signal as ExecReload=, a wait for a healthy
  dependency as ExecStartPre=, unit overrides as they are. `import quadlet` reads the files back
  into the same definitions. Files already in DIR with other contents are refused (exit 1)."""
EPILOG = """\
examples:
  orchestrator export quadlet examples/web-stack --out ~/.config/containers/systemd --user
  orchestrator export quadlet /etc/orchestrator --out /etc/containers/systemd
  orchestrator export quadlet ./definitions --out ./quadlet --podman-version 5.4"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="export_command", metavar="FORMAT", required=True)
    quadlet = sub.add_parser("quadlet", help="Quadlet files (podman-systemd.unit(5))")
    quadlet.add_argument("path", metavar="PATH", help="a definition file or directory")
    quadlet.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    add_user_flag(quadlet)
    add_json_flag(quadlet)
    add_podman_version_flag(quadlet)  # the version of the host the files are for


def run(args: argparse.Namespace) -> int:
    from orchestrator.convert.quadlet_out import export
    from orchestrator.host.outfiles import write_new_files

    where = target(args, [args.path])
    spec = load_definitions(where, args)
    files = export(spec, where.mode)
    written = write_new_files(args.out, files)
    print_written(args, files, written, "Quadlet")
    return 0
