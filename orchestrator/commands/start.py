"""`orchestrator start`: start managed services through systemd."""

from __future__ import annotations

import argparse

from orchestrator.commands.common import add_names_argument, systemd_jobs

NAME = "start"
HELP = "start services through systemd"
DESCRIPTION = """\
Start the named services (as declared, or by unit name) as `systemctl start` does, all at once
so that systemd orders them by their dependencies, and wait for each job.
Exit 0 when every job is done, 1 otherwise."""
EPILOG = """\
examples:
  orchestrator start web
  orchestrator start --user web worker"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_names_argument(parser, NAME)


def run(args: argparse.Namespace) -> int:
    return systemd_jobs(args, "start")
