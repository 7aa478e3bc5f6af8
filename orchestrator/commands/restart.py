"""`orchestrator restart`: restart managed services through systemd."""

from __future__ import annotations

import argparse

from orchestrator.commands.common import add_names_argument, systemd_jobs

NAME = "restart"
HELP = "restart services through systemd"
DESCRIPTION = """\
Restart the named services (as declared, or by unit name) as `systemctl restart` does: systemd
restarts what requires them too, so the state stays what systemd supervises. The container is
created afresh from its image. Exit 0 when every job is done, 1 otherwise."""
EPILOG = """\
examples:
  orchestrator restart web
  orchestrator restart --user web worker"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_names_argument(parser, NAME)


def run(args: argparse.Namespace) -> int:
    return systemd_jobs(args, "restart")
