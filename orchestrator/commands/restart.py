"""`orchestrator restart`: restart managed services through systemd."""

from __future__ import annotations

from orchestrator.commands.common import job_examples, job_verb

NAME = "restart"
HELP = "restart services through systemd"
DESCRIPTION = """\
Restart the named services (as declared, or by unit name) as `systemctl restart` does: systemd
restarts what requires them too, so the state stays what systemd supervises. The container is
created afresh from its image. Exit 0 when every job is done, 1 otherwise."""
EPILOG = job_examples(NAME)

add_arguments, run = job_verb(NAME)
