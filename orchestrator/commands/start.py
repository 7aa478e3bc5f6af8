"""`orchestrator start`: start managed services through systemd."""

from __future__ import annotations

from orchestrator.commands.common import job_examples, job_verb

NAME = "start"
HELP = "start services through systemd"
DESCRIPTION = """\
Start the named services (as declared, or by unit name) as `systemctl start` does, all at once
so that systemd orders them by their dependencies, and wait for each job.
Exit 0 when every job is done, 1 otherwise."""
EPILOG = job_examples(NAME)

add_arguments, run = job_verb(NAME)
