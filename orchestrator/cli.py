"""The command line: one parser, one module per subcommand, one handler for every error.

Start-up is kept lean: subcommand modules import the heavy parts (pydantic, the loader) only when
they run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from types import ModuleType

from orchestrator import __version__

DESCRIPTION = """\
Declare containers in TOML; get plain systemd units whose ExecStart runs `podman run`.
systemd, not a daemon, then supervises, restarts, orders and boots every container.
"""
EPILOG = """\
examples:
  orchestrator validate examples/hello
  orchestrator plan examples/hello --unit-dir /tmp/units
  orchestrator render examples/web-stack --out /tmp/units

Run `orchestrator COMMAND --help` for the details of a command.
Exit codes: 0 success, 1 error (invalid definitions, conflicts, ...), 2 (plan) changes pending.
"""


def _commands() -> list[ModuleType]:
    from orchestrator.commands import plan, render, validate

    return [validate, render, plan]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"orchestrator {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _commands():
        command = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.DESCRIPTION,
            epilog=module.EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from orchestrator.errors import DefinitionError, OrchestratorError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except OrchestratorError as exc:
        if getattr(args, "json", False):
            problems = exc.problems if isinstance(exc, DefinitionError) else []
            payload = {
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
