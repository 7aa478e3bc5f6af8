"""Arguments and steps that several subcommands share, and the one place that decides where a
command acts (its Target)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from orchestrator.core.target import Target
from orchestrator.host import facts, paths

if TYPE_CHECKING:
    from typing import TextIO

    from orchestrator.apply import Options
    from orchestrator.commands.progress import Live
    from orchestrator.core.models import Spec


def add_user_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        action="store_true",
        help="user mode: definitions in ~/.config/orchestrator, units in ~/.config/systemd/user "
        "(XDG_CONFIG_HOME respected), units wanted by default.target",
    )


def add_timeout_flag(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=default,
        metavar="S",
        help=f"seconds to wait {what} (default {default:g})",
    )


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def target(args: argparse.Namespace, given_paths: Sequence[str] = ()) -> Target:
    """Where this command acts: the mode's default directories, unless the paths given or the
    hidden --unit-dir/--state-dir (the tests') say otherwise; a command without such a flag
    gets the default."""
    user = bool(getattr(args, "user", False))
    return Target(
        mode="user" if user else "system",
        definitions=tuple(given_paths) or (paths.definitions_dir(user),),
        unit_dir=getattr(args, "unit_dir", None) or paths.unit_dir(user),
        state_dir=getattr(args, "state_dir", None) or paths.state_dir(user),
        cgroups_v1=facts.cgroups_v1(),
    )


def add_podman_version_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--podman-version",
        metavar="X.Y",
        type=_version,
        help="refuse keys and values this podman version does not have (default: the installed "
        "podman's, else 4.3, the oldest supported)",
    )


def _version(text: str) -> tuple[int, int]:
    from orchestrator.core.compat import parse_version

    version = parse_version(text)
    if version is None:
        raise argparse.ArgumentTypeError(f"expected a version like 4.3 or 5.4, got {text!r}")
    return version


def load_definitions(where: Target, args: argparse.Namespace | None = None) -> Spec:
    """The validated definitions, refused if they need a newer podman than --podman-version
    (when the command has it) or the installed one."""
    from orchestrator.core import compat
    from orchestrator.core.loader import load
    from orchestrator.host import overrides

    with CollectorPaused():
        spec = load(list(where.definitions))
    version = getattr(args, "podman_version", None)
    needs_newer = bool(compat.problems(spec, compat.OLDEST))
    if version is None and needs_newer:
        # only then is the installed podman asked: a process start that most runs do not need
        version = facts.podman_version()
    if needs_newer or (version is not None and version < compat.OLDEST):
        compat.check(spec, version or compat.OLDEST)  # (what podman 4.3 has, every podman has)
    overrides.check(spec, where)  # what systemd would ignore in a unit override
    return spec


def refuse_system_units(spec: Spec, where: Target, unit_dir: str | None = None) -> None:
    """A resource whose unit name the system already holds (dbus.service) is refused, naming
    the file and the resource, in every command that reads definitions."""
    from orchestrator.core.loader import display
    from orchestrator.core.models import KINDS, unit_name
    from orchestrator.errors import DefinitionError, Problem
    from orchestrator.host.unitdir import shadowed

    owners = {
        unit_name(kind, name): (kind, name) for kind in KINDS for name in getattr(spec, kind + "s")
    }
    clashes = shadowed(list(owners), where.mode, unit_dir)
    problems = [
        Problem(
            display(spec.sources[owners[unit]]),
            ".".join(owners[unit]),
            f"its unit {unit} belongs to the system ({what}); rename it",
        )
        for unit, what in sorted(clashes.items())
    ]
    if problems:
        raise DefinitionError(problems)


def render_units(spec: Spec, where: Target) -> dict[str, str]:
    """The units for this host: rendered for the target's mode and cgroup layout."""
    from orchestrator.core.render import render

    with CollectorPaused():
        return render(spec, where.mode, cgroups_v1=where.cgroups_v1)


class CollectorPaused:
    """Python's cycle collector paused while definitions are read or rendered: that makes
    hundreds of thousands of objects, none of them in a cycle (reference counting frees them),
    and a collection walks the objects alive, pydantic's too: 150 of them took 65-90 ms of a
    render of 1000 definitions, now about 50 in the imports. Any cycle made meanwhile is
    collected after."""

    def __enter__(self) -> None:
        import gc

        self._enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        import gc

        if self._enabled:
            gc.enable()


def apply_options(where: Target, args: argparse.Namespace, *, progress: bool = True) -> Options:
    """The engine's options for this target. Progress lines go to stdout, or to stderr when
    stdout carries JSON; without progress (watch logs one line per apply) nothing is said."""
    from orchestrator.apply import Options

    to_json = bool(getattr(args, "json", False))

    def say(line: str) -> None:
        print(line, file=sys.stderr if to_json else sys.stdout, flush=True)

    options = Options(
        target=where,
        timeout=args.timeout,
        quiet_pull=to_json or not progress,
        say=say if progress else _silent,
    )
    terminal = getattr(sys.stdout, "raw", sys.stdout)
    if progress and not to_json and terminal.isatty():
        return live_options(options, terminal)
    return options


def live_options(options: Options, terminal: TextIO) -> Options:
    """The options with a live display on terminal: what each image and unit is doing, podman's
    pull progress on its image's line; end_progress() erases it before the report."""
    import dataclasses
    import shutil

    from orchestrator.commands.progress import Live
    from orchestrator.host import podman

    global _live
    _live = live = Live(terminal, width=shutil.get_terminal_size().columns)

    def pull(image: str, quiet: bool) -> None:
        podman.pull_showing(image, lambda line: live.update(image, line.strip()[:60]))

    host = dataclasses.replace(options.host, pull=pull)
    return dataclasses.replace(options, say=live.say, progress=live.update, host=host)


_live: Live | None = None


def end_progress() -> None:
    """Erase the live display, if there is one, so that what is printed next (a plan, the
    report) reads as without it; a later update draws it again below."""
    if _live is not None:
        _live.close()


def _silent(_: str) -> None:
    pass


def managed_names(unit_dir: str) -> dict[str, str]:
    """Each managed service by the name it was declared with (a container wins a name that a
    resource of another kind shares), to its unit."""
    from orchestrator.core.unitfile import mark_fields
    from orchestrator.host.unitdir import read_unit_dir

    managed, _ = read_unit_dir(unit_dir)
    marks = {unit: mark_fields(text) for unit, text in managed.items()}
    names: dict[str, str] = {}
    for unit, fields in sorted(marks.items(), key=lambda item: item[1].get("Kind") != "container"):
        names.setdefault(fields.get("Name", unit), unit)
    return names


def managed_unit(unit_dir: str, name: str) -> str:
    """The unit of a managed service given by its declared name or its unit name; a usage error
    naming the closest match (or every managed name) otherwise."""
    import difflib

    from orchestrator.errors import UsageError

    names = managed_names(unit_dir)
    if name in names:
        return names[name]
    if name in names.values():
        return name
    hint = difflib.get_close_matches(name, list(names), n=1)
    known = ", ".join(sorted(names)) or "none"
    raise UsageError(
        f"{name!r} is not a managed service"
        + (f' (did you mean "{hint[0]}"?)' if hint else f" (managed: {known})")
    )


def job_verb(
    verb: str,
) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]:
    """add_arguments and run of the command `verb` (start, stop, restart): one systemd job per
    named service, as systemd_jobs hands them over."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_names_argument(parser, verb)

    def run(args: argparse.Namespace) -> int:
        return systemd_jobs(args, verb)

    return add_arguments, run


def job_examples(verb: str) -> str:
    return f"examples:\n  orchestrator {verb} web\n  orchestrator {verb} --user web worker"


def add_names_argument(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument(
        "names", nargs="+", metavar="NAME", help=f"the services to {verb} (declared or unit names)"
    )
    add_timeout_flag(parser, 90, "for systemd's jobs")
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)


def systemd_jobs(args: argparse.Namespace, verb: str) -> int:
    """start, stop or restart the named services through systemd, all at once (systemd orders
    them), and say how each job ended; exit 0 when every one is done."""
    from orchestrator.host.systemd import Systemd

    where = target(args)
    units = list(dict.fromkeys(managed_unit(where.unit_dir, name) for name in args.names))
    with Systemd(where.user) as systemd:
        outcome = systemd.run_jobs([(verb, unit) for unit in units], args.timeout)
    for unit in units:
        result = outcome.results.get(unit, "timed out" if unit in outcome.unfinished else "?")
        print(f"{verb} {unit}: {result}")
    failed = [u for u in units if outcome.results.get(u) != "done"]
    if failed:
        print(
            f"see `orchestrator logs NAME` or `systemctl{' --user' if where.user else ''} "
            f"status {' '.join(failed)}`"
        )
    return 1 if failed else 0
