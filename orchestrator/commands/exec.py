"""`orchestrator exec`: run a command in the running container of a service."""

from __future__ import annotations

import argparse
import sys

from orchestrator.commands.common import add_user_flag, managed_unit, target

NAME = "exec"
HELP = "run a command in a service's running container"
DESCRIPTION = """\
Run CMD inside the running container of the service NAME (as declared, or its unit name) with
`podman exec`, with a terminal when this one is; standard input is passed on. podman runs with
the container's global options (global_args, containers_conf_module), as its unit runs it, so
that it finds the container in the storage it was started in. The exit code is CMD's (podman's
own 125-127 when it cannot run it)."""
EPILOG = """\
examples:
  orchestrator exec db -- psql -U postgres
  orchestrator exec web -- cat /etc/nginx/nginx.conf
  orchestrator exec --user web -- sh"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the container (or its unit) name")
    parser.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD", help="the command")
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.core.unitfile import container_name
    from orchestrator.errors import UsageError
    from orchestrator.host import runner
    from orchestrator.host.systemd import Systemd
    from orchestrator.host.unitdir import read_unit_dir

    command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not command:
        raise UsageError(f"exec {args.name}: give the command after --, as in: exec NAME -- sh")
    where = target(args)
    unit = managed_unit(where.unit_dir, args.name)
    text = read_unit_dir(where.unit_dir)[0][unit]
    name = container_name(text)
    if name is None:
        raise UsageError(f"{unit} is not a container's unit: there is nothing to exec into")
    with Systemd(where.user) as systemd:
        state = systemd.units([unit])[unit]
    if not state.running:
        raise UsageError(
            f"{name} is not running ({state.active}/{state.sub}): "
            f"`orchestrator start {name}` or `orchestrator logs {name}`"
        )
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    tty = ["--tty"] if terminal else []
    argv = ["podman", *global_options(text, name), "exec", "--interactive", *tty, "--", name]
    return runner.run([*argv, *command], check=False, capture=False, interactive=True).returncode


def global_options(text: str, name: str) -> list[str]:
    """podman's global options (containers_conf_module, global_args) as the container's unit
    runs `podman [OPTIONS] run --name=NAME`: the storage and configuration it was started with.
    Read back from the unit, which is all exec reads, as systemd reads the line: quotes and
    escapes, then `%%` and `$$` for one `%` and `$`."""
    from orchestrator.convert.unitsyntax import SyntaxProblem, split_words

    for line in text.splitlines():
        if not line.startswith("ExecStart="):
            continue
        try:
            words = split_words(line.removeprefix("ExecStart="))
        except SyntaxProblem:  # not a line we wrote
            continue
        for i in range(1, len(words) - 1):
            if words[i] == "run" and words[i + 1] == f"--name={name}":
                return [w.replace("%%", "%").replace("$$", "$") for w in words[1:i]]
    return []
