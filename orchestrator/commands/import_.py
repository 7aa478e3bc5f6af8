"""`orchestrator import`: bring definitions in from another format (Quadlet files)."""

from __future__ import annotations

import argparse

from orchestrator.commands.common import add_json_flag
from orchestrator.commands.output import print_written

NAME = "import"
HELP = "convert Quadlet files into definitions"
DESCRIPTION = """\
import quadlet FILE...|DIR --out DIR
  Read Quadlet files (.container, .pod, .volume, .network, .image, .build, .kube) as podman's
  Quadlet 5.4 reads them: drop-ins (X.container.d/*.conf, container.d/, foo-.container.d/),
  line continuation, quoting and escapes. References to X.volume, X.network, X.pod, X.image and
  X.build resolve against the files given and their directories. [Unit], [Service] and [Install]
  lines become keys where there is one (Description=, Restart=, WantedBy=...) and unit overrides
  otherwise. Writes one TOML file per resource into DIR, with a comment wherever the translation
  is not word for word. The result is validated first: on any problem (an unknown key, a value
  this project cannot express) exit 1 naming the file, line and key, and nothing is written.

Paths relative to a Quadlet file are made absolute (the TOML lives elsewhere). Quadlet names
podman's volumes and networks systemd-X; here they are named X (or VolumeName=/NetworkName=)."""
EPILOG = """\
examples:
  orchestrator import quadlet ~/.config/containers/systemd --out ./definitions
  orchestrator import quadlet web.container db.container --out /etc/orchestrator"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="import_command", metavar="FORMAT", required=True)
    quadlet = sub.add_parser("quadlet", help="Quadlet files (podman-systemd.unit(5))")
    quadlet.add_argument("paths", nargs="+", metavar="PATH", help="Quadlet files or directories")
    quadlet.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    add_json_flag(quadlet)


def run(args: argparse.Namespace) -> int:
    from orchestrator.convert.quadlet_in import check_written, read_quadlet, toml_files
    from orchestrator.host.outfiles import write_new_files

    converted = read_quadlet(args.paths)
    files = toml_files(converted)
    check_written(converted, files, args.out)
    written = write_new_files(args.out, files)
    print_written(args, files, written, "definition")
    return 0
