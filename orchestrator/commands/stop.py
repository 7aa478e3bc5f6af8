"""`orchestrator stop`: stop managed services through systemd."""

from __future__ import annotations

from orchestrator.commands.common import job_examples, job_verb

NAME = "stop"
HELP = "stop services through systemd (the next apply starts them again)"
DESCRIPTION = """\
Stop the named services (as declared, or by unit name) as `systemctl stop` does; systemd stops
what requires them too. The definitions still declare them: the next apply (or watch) starts
them again; set enabled = false, or remove the definition, to keep one stopped.
Exit 0 when every job is done, 1 otherwise."""
EPILOG = job_examples(NAME)

add_arguments, run = job_verb(NAME)
