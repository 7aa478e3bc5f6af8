"""`orchestrator sandbox`: a throw-away systemd with real podman, for trying definitions."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from orchestrator.commands.output import print_json
from orchestrator.textout import table

if TYPE_CHECKING:
    from orchestrator.sandbox.machine import Sandbox

NAME = "sandbox"
HELP = "boot a throw-away systemd with real podman and run definitions in it"
DESCRIPTION = """\
A sandbox is a real systemd, PID 1 of its own namespaces and cgroups, with real podman and its
own container storage: no VM, no daemon. It shares the host's network, so published ports answer
on the host's localhost. Needs root. State lives in /var/lib/orchestrator-sandboxes/NAME
(ORCHESTRATOR_SANDBOX_ROOT overrides); `down` removes it.

  image   import the offline test image (busybox-static) into the host's podman
  up      boot a sandbox (copying host images into it) and wait until it is ready
  exec    run a command inside; its exit code is passed through
  reboot  power off and boot again from the same state: /run is fresh, enabled units start
  down    power off and remove everything the sandbox kept
  list    the sandboxes and whether they run
  run     boot, install and start definitions, report each unit, tear down"""
EPILOG = """\
examples:
  orchestrator sandbox image
  orchestrator sandbox run examples/offline --load-image localhost/busybox:test
  orchestrator sandbox run my-definitions/ --secret db-password=./db-password.txt
  orchestrator sandbox up try --load-image localhost/busybox:test
  orchestrator sandbox exec try -- systemctl list-units --type=service
  orchestrator sandbox down try"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    image = sub.add_parser("image", help="import the offline test image into the host's podman")
    image.add_argument(
        "--tag", default=None, help="image reference (default localhost/busybox:test)"
    )

    up = sub.add_parser("up", help="boot a sandbox")
    up.add_argument("name", metavar="NAME")
    _image_options(up)
    up.add_argument("--timeout", type=float, default=60, help="seconds to wait for boot")

    exec_ = sub.add_parser("exec", help="run a command inside a sandbox")
    exec_.add_argument("name", metavar="NAME")
    exec_.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD...")

    reboot = sub.add_parser("reboot", help="power off and boot again")
    reboot.add_argument("name", metavar="NAME")

    down = sub.add_parser("down", help="power off and remove a sandbox")
    down.add_argument("name", metavar="NAME")

    listing = sub.add_parser("list", help="list sandboxes")
    listing.add_argument("--json", action="store_true", help="print JSON")

    trial = sub.add_parser("run", help="run definitions in a fresh sandbox and report")
    trial.add_argument("path", metavar="PATH", help="a definition file or directory")
    _image_options(trial)
    trial.add_argument(
        "--timeout",
        type=float,
        default=120,
        help="seconds to wait for every unit to come up (default 120)",
    )
    trial.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="create podman secret NAME inside from the host's FILE (repeatable)",
    )
    trial.add_argument("--keep", action="store_true", help="leave the sandbox running")
    trial.add_argument("--name", default=None, help="sandbox name (default run-PID)")
    trial.add_argument("--json", action="store_true", help="print the report as JSON")


def _image_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--load-image",
        action="append",
        default=[],
        metavar="REF",
        help="copy this image from the host's podman (repeatable)",
    )
    parser.add_argument(
        "--test-image",
        action="store_true",
        help="build the offline test image localhost/busybox:test inside",
    )


def run(args: argparse.Namespace) -> int:
    from orchestrator.errors import UsageError
    from orchestrator.sandbox.machine import Sandbox, check_host, list_sandboxes

    if args.action == "list":
        boxes: list[dict[str, object]] = [
            {"name": b.name, "running": b.pid is not None, "pid": b.pid, "state": str(b.root)}
            for b in list_sandboxes()
        ]
        if args.json:
            print_json({"sandboxes": boxes})
            return 0
        rows = [(str(b["name"]), "running" if b["running"] else "stopped", str(b["state"]))
                for b in boxes]  # fmt: skip
        for line in table(rows):
            print(line)
        return 0
    if args.action == "image":
        return _image(args)
    if args.action == "run":
        return _trial(args)
    check_host()
    box = Sandbox(args.name)
    if args.action == "up":
        seconds = box.boot(args.timeout, while_booting=lambda: _load_images(box, args))
        print(f"sandbox {box.name} is up (booted in {seconds:.2f} s, PID {box.pid})")
        return 0
    if args.action == "exec":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not argv:
            raise UsageError("sandbox exec needs a command: sandbox exec NAME -- CMD...")
        from orchestrator.host import runner

        result = runner.run(box.command(argv), check=False, capture=False, interactive=True)
        return result.returncode
    if args.action in ("reboot", "down") and not box.exists:
        raise UsageError(f"sandbox {box.name} does not exist (`sandbox list` shows them)")
    if args.action == "reboot":
        down, up = box.reboot()
        print(f"sandbox {box.name} rebooted (down {down:.2f} s, up {up:.2f} s)")
        return 0
    box.destroy()
    print(f"sandbox {box.name} is down and removed")
    return 0


def _image(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from orchestrator.host import runner
    from orchestrator.sandbox.testimage import DEFAULT_REF, import_argv, write_rootfs

    reference = args.tag or DEFAULT_REF
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "rootfs.tar"
        write_rootfs(archive)
        runner.run(import_argv(archive, reference))
    print(f"imported {reference} into the host's podman")
    return 0


def _load_images(box: Sandbox, args: argparse.Namespace) -> None:
    from orchestrator.sandbox.testimage import DEFAULT_REF

    if args.test_image:
        box.import_test_image(DEFAULT_REF)
    for reference in args.load_image:
        box.load_image(reference)


def _trial(args: argparse.Namespace) -> int:
    from orchestrator.core.loader import load
    from orchestrator.sandbox import run as sandbox_run
    from orchestrator.sandbox.machine import Sandbox, check_host

    load([args.path])  # every error before anything boots
    secrets = _secrets(args.secret)
    check_host()
    box = Sandbox(args.name or f"run-{os.getpid()}")
    say = (lambda *_: None) if args.json else print
    try:
        booted = box.boot(while_booting=lambda: _load_images(box, args))
        say(f"sandbox {box.name}: booted in {booted:.2f} s")
        for name, source in secrets:
            box.create_secret(name, source)
        sandbox_run.copy_in(box, args.path)
        report = sandbox_run.apply_inside(box, args.timeout)
    finally:
        if not args.keep:
            seconds = box.destroy()
            say(f"sandbox {box.name}: torn down in {seconds:.2f} s")
        else:
            say(f"sandbox {box.name} kept: orchestrator sandbox down {box.name} removes it")
    ok = report.get("ok") is True
    units = report.get("units")
    rows = [u for u in units if isinstance(u, dict)] if isinstance(units, list) else []
    if args.json:
        print_json({"ok": ok, "units": rows})
        return 0 if ok else 1
    print(sandbox_run.apply_table(rows))
    for row in rows:
        if not row.get("ok"):
            print(
                f"\n--- {row.get('unit')}: journal (last lines)\n{row.get('journal') or '(empty)'}"
            )
    print(f"\n{'all units are up' if ok else 'some units did not come up'}")
    return 0 if ok else 1


def _secrets(given: list[str]) -> list[tuple[str, str]]:
    from orchestrator.core.values import name as check_name
    from orchestrator.errors import UsageError

    pairs = []
    for entry in given:
        name, equals, source = entry.partition("=")
        try:
            check_name(name, "a secret name")
        except ValueError as exc:
            raise UsageError(f"--secret {entry!r}: {exc}") from None
        if not equals or not os.path.isfile(source):
            raise UsageError(f"--secret {entry!r}: expected NAME=FILE with an existing file")
        pairs.append((name, source))
    return pairs
