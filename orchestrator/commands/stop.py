"""`orchestrator stop`: stop managed services through systemd."""

from __future__ import annotations

import argparse

from orchestrator.commands.common import add_names_argument, systemd_jobs

NAME = "stop"
HELP = "stop services through systemd (the next apply starts them again)"
DESCRIPTION = """\
Stop the named services (as declared, or by unit name) as `systemctl stop` does; systemd stops
what requires them too. The definitions still declare them: the next apply (or watch) starts
them again; set enabled = false, or remove the definition, to keep one stopped.
Exit 0 when every job is done, 1 otherwise."""
EPILOG = """\
examples:
  orchestrator stop web
  orchestrator stop --user web worker"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_names_argument(parser, NAME)


def run(args: argparse.Namespace) -> int:
    return systemd_jobs(args, "stop")
