"""`orchestrator import`: definitions from other formats (`import compose`, `import quadlet`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from orchestrator.commands.common import add_json_flag
from orchestrator.commands.output import JSON_SCHEMA, print_written

if TYPE_CHECKING:
    from orchestrator.core.models import Spec

NAME = "import"
HELP = "turn a compose project or Quadlet files into definitions"
DESCRIPTION = """\
Read definitions written for another tool and write orchestrator's TOML files into a new
directory: one file per service and one for the volumes and networks, with a comment wherever the
translation is not word for word. What has no meaning here is refused, naming the file and the
YAML key path, and then nothing is written. The written directory validates."""
EPILOG = """\
examples:
  orchestrator import compose compose.yaml --out ./definitions
  orchestrator import quadlet ~/.config/containers/systemd --out ./definitions
  orchestrator import compose compose.yaml compose.prod.yaml --profile tools --out ./defs
  orchestrator import compose --project shop --env-file prod.env --out /etc/orchestrator/shop"""

COMPOSE_DESCRIPTION = """\
Reads the Compose Specification as docker compose does: the files merged in order (without FILE,
COMPOSE_FILE, else compose.yaml or docker-compose.yml here and its .override file), `.env` beside
the first file (or --env-file) and the process environment (which wins) interpolated into ${VAR},
${VAR:-default}, ${VAR:?error}, ... ; extends, include, profiles (--profile, COMPOSE_PROFILES),
anchors and merge keys; x- fields are ignored. Service names become definition names (--project
NAME prefixes them, NAME-SERVICE); volumes and networks keep the names docker compose gives them
(PROJECT_NAME), so their data is used. Secrets become podman secrets: the commands that create
them are printed. Exit 0 when written, 1 when refused (nothing is written)."""
QUADLET_DESCRIPTION = """\
Read Quadlet files (.container, .pod, .volume, .network, .image, .build, .kube) as podman's
Quadlet 5.4 reads them: drop-ins (X.container.d/*.conf, container.d/, foo-.container.d/), line
continuation, quoting and escapes. References to X.volume, X.network, X.pod, X.image and X.build
resolve against the files given and their directories. [Unit], [Service] and [Install] lines
become keys where there is one (Description=, Restart=, WantedBy=...) and unit overrides
otherwise. Writes one TOML file per resource into DIR, with a comment wherever the translation is
not word for word. The result is validated first: on any problem (an unknown key, a value this
project cannot express) exit 1 naming the file, line and key, and nothing is written.

Paths relative to a Quadlet file are made absolute (the TOML lives elsewhere). Quadlet names
podman's volumes and networks systemd-X; here they are named X (or VolumeName=/NetworkName=)."""
_DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="import_format", metavar="FORMAT", required=True)
    _add_compose(sub)
    quadlet = _format(sub, "quadlet", "Quadlet files (podman-systemd.unit(5))", QUADLET_DESCRIPTION)
    quadlet.add_argument("paths", nargs="+", metavar="PATH", help="Quadlet files or directories")
    quadlet.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    add_json_flag(quadlet)


def _format(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, what: str, text: str
) -> argparse.ArgumentParser:
    """The sub-verb of one format, its description kept as written."""
    return sub.add_parser(
        name, help=what, description=text, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def run(args: argparse.Namespace) -> int:
    actions = {"compose": _compose, "quadlet": _quadlet}
    return actions[args.import_format](args)


def _quadlet(args: argparse.Namespace) -> int:
    from orchestrator.convert.quadlet_in import check_written, read_quadlet, toml_files
    from orchestrator.host.outfiles import write_new_files

    converted = read_quadlet(args.paths)
    files = toml_files(converted)
    check_written(converted, files, args.out)
    written = write_new_files(args.out, files)
    print_written(args, files, written, "definition")
    return 0


def _add_compose(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    what = "a compose project (compose.yaml, docker-compose.yml)"
    compose = _format(sub, "compose", what, COMPOSE_DESCRIPTION)
    compose.add_argument("files", nargs="*", metavar="FILE", help="compose files, merged in order")
    compose.add_argument("--out", required=True, metavar="DIR", help="a new (or empty) directory")
    compose.add_argument("--project", metavar="NAME", help="prefix for the definitions' names")
    compose.add_argument(
        "--env-file", action="append", default=[], metavar="FILE", help="instead of .env"
    )
    compose.add_argument(
        "--profile", action="append", default=[], metavar="NAME", help="an active profile"
    )
    add_json_flag(compose)


def _compose(args: argparse.Namespace) -> int:
    from orchestrator.convert.compose import import_compose
    from orchestrator.errors import UsageError

    from_env = [f for f in os.environ.get("COMPOSE_FILE", "").split(os.pathsep) if f]
    files = list(args.files) or from_env or _default_files()
    if args.project is not None:
        from orchestrator.core.values import NAME_RE

        if not NAME_RE.fullmatch(args.project):
            raise UsageError(f"--project: expected letters, digits, _ . -, got {args.project!r}")
    out = os.path.abspath(args.out)
    _check_out(out)
    imported = import_compose(
        files,
        out_dir=out,
        environ=dict(os.environ),
        env_files=args.env_file,
        profiles=args.profile,
        prefix=args.project,
    )
    spec = _write(out, imported.files, imported.origins)
    warnings = imported.warnings + (_too_new(spec, imported.origins) if spec else [])
    if args.json:
        payload = {
            "schema": JSON_SCHEMA,
            "ok": True,
            "out": args.out,
            "files": sorted(imported.files),
            "todo": imported.todo,
            "warnings": warnings,
        }
        print(json.dumps(payload, indent=2))
        return 0
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {len(imported.files)} file(s) into {args.out}")
    if imported.todo:
        print("before the first apply, create the secrets:")
        for line in imported.todo:
            print(f"  {line}")
    return 0


def _default_files() -> list[str]:
    from orchestrator.errors import UsageError

    for name in _DEFAULT_FILES:
        if os.path.isfile(name):
            stem, ext = os.path.splitext(name)
            override = f"{stem}.override{ext}"
            return [name, override] if os.path.isfile(override) else [name]
    raise UsageError("no compose file given, and none here (compose.yaml, docker-compose.yml)")


def _check_out(out: str) -> None:
    from orchestrator.errors import UsageError
    from orchestrator.host.outfiles import refuse_link

    refuse_link(out)
    if os.path.lexists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise UsageError(f"--out {out}: exists and is not an empty directory; nothing written")


def _too_new(spec: Spec, origins: dict[str, tuple[str, str]]) -> list[str]:
    """What this host's podman cannot run (validate and apply refuse it here), as warnings: the
    definitions may be meant for a newer host."""
    from orchestrator.core import compat
    from orchestrator.host import facts

    if not compat.problems(spec, compat.OLDEST):
        return []
    found = compat.problems(spec, facts.podman_version())
    return [
        f"{origins.get(f'{kind}.{name}', ('', f'{kind}.{name}'))[1]}.{key}: {message}: "
        "validate and apply refuse it on this host"
        for (kind, name), key, message in found
    ]


def _refuse_system_units(staging: str, origins: dict[str, tuple[str, str]]) -> Spec | None:
    """A service named like a unit this host already has (postgresql, nginx) is refused, as
    validate would refuse it, with the way out: a --project prefix. The loaded definitions."""
    from orchestrator.commands.common import refuse_system_units, target
    from orchestrator.convert.validate import unknown_kinds
    from orchestrator.core.loader import load
    from orchestrator.errors import DefinitionError, Problem

    if unknown_kinds(staging):
        return None
    spec = load([staging])
    try:
        refuse_system_units(spec, target(argparse.Namespace(), [staging]))
    except DefinitionError as exc:
        problems = []
        for problem in exc.problems:
            file, key = origins.get(problem.path, (problem.file, problem.path))
            message = problem.message.replace("; rename it", "")
            problems.append(Problem(file, key, f"{message}: import with --project NAME"))
        raise DefinitionError(problems) from None
    return spec


def _write(out: str, files: dict[str, str], origins: dict[str, tuple[str, str]]) -> Spec | None:
    """Every file into a fresh directory beside out, checked by the loader, then moved into
    place at once: a refusal or a crash leaves nothing half-written."""
    import shutil
    import tempfile

    from orchestrator.convert.validate import check_written

    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    # 0700, as mkdtemp makes it: environment values from .env are often passwords
    staging = tempfile.mkdtemp(prefix=".import-", dir=parent)
    try:
        for name, text in files.items():
            if os.path.basename(name) != name or name.startswith("."):  # a bug: stay inside
                raise AssertionError(f"not a plain file name: {name!r}")
            with open(os.path.join(staging, name), "x", encoding="utf-8") as handle:
                handle.write(text)
        check_written(staging, out, origins)
        spec = _refuse_system_units(staging, origins)
        if os.path.isdir(out):
            os.rmdir(out)  # empty, checked above
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return spec
