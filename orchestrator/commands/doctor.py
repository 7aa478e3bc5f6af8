"""`orchestrator doctor`: can this host run what is declared? One line per check."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from orchestrator.commands.common import add_json_flag, add_user_flag, target
from orchestrator.commands.output import print_json

if TYPE_CHECKING:
    from orchestrator.core.doctor import Check

NAME = "doctor"
HELP = "check that this host can run containers under systemd (and the definitions, if given)"
DESCRIPTION = """\
Check this host, one line per check with ok, warn or fail and the command that fixes it: systemd
(PID 1, or the user's manager with --user), podman's version, the OCI runtime and the cgroup
layout, catatonit for init = true, subordinate ids, lingering and /dev/net/tun (user mode), a
provider of network-online.target (system mode), short-name resolution in registries.conf,
SELinux and AppArmor, and whether the journal survives a reboot.

Given definitions (PATH), also what they need: every key supported by the installed podman, the
images present (or pullable), the secrets they name, bind mount sources and env files, and the
published ports free (or held by the container itself).

Exit 0 when nothing fails (warnings allowed), 1 when something declared cannot work."""
EPILOG = """\
examples:
  orchestrator doctor
  orchestrator doctor --user
  orchestrator doctor /etc/orchestrator
  orchestrator doctor examples/web-stack --json | jq '.checks[] | select(.status != "ok")'"""

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="definition files or directories")
    add_user_flag(parser)
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.core import doctor
    from orchestrator.core.loader import load
    from orchestrator.host import probe

    where = target(args, args.paths)
    spec = load(list(where.definitions)) if args.paths else None  # bad definitions: exit 1
    host = probe.host(where.mode)
    given = []
    if spec is not None:
        given = doctor.definition_checks(spec, host, probe.definitions(spec, where.mode))
    checks = doctor.host_checks(host) + given
    ok = not doctor.failed(checks)
    if args.json:
        print_json({"ok": ok, "mode": where.mode, "checks": [c.as_dict() for c in checks]})
    else:
        print_checks(checks[: len(checks) - len(given)])
        if given:
            print(f"\nWhat {', '.join(where.definitions)} need(s):")
            print_checks(given)
        print_verdict(checks)
    return 0 if ok else 1


def print_checks(checks: list[Check]) -> None:
    from orchestrator.textout import table

    rows = [(MARKS[c.status], c.name, c.detail) for c in checks]
    for check, line in zip(checks, table(rows), strict=True):
        print(line)
        if check.fix and check.status != "ok":
            print(f"      fix: {check.fix}")


def print_verdict(checks: list[Check]) -> None:
    fails = sum(c.status == "fail" for c in checks)
    warns = sum(c.status == "warn" for c in checks)
    verdict = "something declared cannot work here" if fails else "nothing stands in the way"
    print(f"\n{fails} failed, {warns} warning(s), {len(checks) - fails - warns} ok: {verdict}")
