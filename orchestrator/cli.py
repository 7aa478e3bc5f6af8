"""The command line: one parser, one module per subcommand, one handler for every error.

Start-up is kept lean: subcommand modules import the heavy parts (pydantic, the loader) only when
they run.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import typing
from collections.abc import Sequence
from types import ModuleType

from orchestrator import __version__

DESCRIPTION = """\
Declare containers in TOML; get plain systemd units whose ExecStart runs `podman run`.
systemd, not a daemon, then supervises, restarts, orders and boots every container.
"""
EPILOG = """\
examples:
  orchestrator doctor examples/hello       # can this host run it?
  orchestrator validate examples/hello
  orchestrator plan examples/hello --unit-dir /tmp/units
  orchestrator render examples/web-stack --out /tmp/units

Run `orchestrator COMMAND --help` for the details of a command.
Exit codes: 0 success, 1 error (invalid definitions, conflicts, ...), 2 (plan) changes
pending, 70 internal error (a bug: rerun with --debug and report it).
"""


INTERNAL_ERROR = 70  # EX_SOFTWARE


# In the order `--help` lists them. A command's module is its name in Python's spelling.
COMMANDS = (
    "doctor", "validate", "render", "plan", "graph", "apply", "status", "logs", "exec", "start",
    "stop", "restart", "history", "rollback", "watch",
    "fleet", "pull", "import", "export", "install-units", "uninstall-units", "sandbox",
    "completion",
)  # fmt: skip


def _commands(only: str | None = None) -> list[ModuleType]:
    import importlib
    import keyword

    names = [only] if only in COMMANDS else COMMANDS
    return [
        importlib.import_module(
            "orchestrator.commands."
            + name.replace("-", "_")
            + ("_" if keyword.iskeyword(name) else "")
        )
        for name in names
    ]


class Parser(argparse.ArgumentParser):
    """Usage errors exit 1: exit 2 is plan's "changes pending", which scripts act on."""

    def error(self, message: str) -> typing.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


@functools.cache
def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Built once per process: parsing leaves the parser as it was, and building it is most of
    the cost of a command run in-process (the tests run about a thousand). Given the command
    a run names, only its subcommand is built (and only its module imported), which is a tenth
    of a short command's start-up; anything else (`--help`, a misspelt command) gets them all."""
    parser = Parser(
        prog="orchestrator",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"orchestrator {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an internal error"
    )
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=Parser
    )
    for module in _commands(command):
        subparser = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.DESCRIPTION,
            epilog=module.EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(subparser)
        subparser.set_defaults(run=module.run)
    return parser


class _Escaping:
    """A text stream whose writes go through errors.safe(): whatever a command prints (a file
    name, a value, a container's output) cannot act on the terminal that shows it."""

    def __init__(self, stream: typing.TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from orchestrator.errors import safe

        return self._stream.write(safe(text, multiline=True))

    def __getattr__(self, name: str) -> typing.Any:
        return getattr(self._stream, name)

    @property
    def raw(self) -> typing.TextIO:
        """The stream itself, for a live display that escapes its own text and writes the
        terminal's cursor controls (commands/progress.py)."""
        return self._stream


def main(argv: Sequence[str] | None = None) -> int:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Escaping(sys.stdout), _Escaping(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = saved


def _main(argv: Sequence[str] | None) -> int:
    from orchestrator.commands.output import JSON_SCHEMA
    from orchestrator.errors import DefinitionError, OrchestratorError

    words = sys.argv[1:] if argv is None else list(argv)
    # the first word that is not an option names the command (the global options take no value)
    parser = build_parser(next((w for w in words if not w.startswith("-")), None))
    args = parser.parse_args(words)
    if args.debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="debug: %(message)s")
    try:
        code: int = args.run(args)
        return code
    except OrchestratorError as exc:
        if getattr(args, "json", False):
            problems = exc.problems if isinstance(exc, DefinitionError) else []
            payload = {
                "schema": JSON_SCHEMA,
                "ok": False,
                "error": str(exc),
                "problems": [p.as_dict() for p in problems],
            }
            print(json.dumps(payload, indent=2))
        else:
            for line in exc.lines():
                print(line, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug of ours, not bad input
        if args.debug:
            raise
        print(
            f"orchestrator: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug; please report it with the output of the same command run with --debug.",
            file=sys.stderr,
        )
        return INTERNAL_ERROR


def entry() -> None:
    """The console script: main(), then exit without tearing the interpreter down.

    Tearing down (freeing every object of a run that loaded a thousand definitions) costs about
    30 ms of a 250 ms command and does nothing useful for a process that is about to end.
    """
    # pydantic looks for plugins in the entry points of every installed distribution when it
    # builds the first model (tens of ms of each command); orchestrator uses none
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        code = main()
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or 1
    os._exit(code)
