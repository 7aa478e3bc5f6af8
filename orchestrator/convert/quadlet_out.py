"""`export quadlet`: definitions -> Quadlet files for hosts whose podman (4.4 or later) has
Quadlet. Driven by the same table as the import (quadlet_keys), so that exporting and importing
again gives the same definitions. What Quadlet has no key for is written as it would run: a
podman flag in PodmanArgs=, or the [Service] line orchestrator's own unit has."""

from __future__ import annotations

from typing import Any

from orchestrator.convert import quadlet_keys as keys
from orchestrator.convert.unitsyntax import SyntaxProblem, line_value
from orchestrator.core.loader import display
from orchestrator.core.models import Container, Health, Spec
from orchestrator.core.quoting import quote_argv
from orchestrator.core.render import SH, WAIT_HEALTHY, podman
from orchestrator.errors import DefinitionError, Problem


def wait_healthy_line(dependency: str) -> str:
    """The ExecStartPre= line that waits until a dependency is healthy, as render writes it."""
    return quote_argv([SH, "-c", WAIT_HEALTHY, dependency])


def reload_line(name: str, c: Container) -> str | None:
    """The ExecReload= line of a container, as render writes it; None without one."""
    if c.reload_command is not None:
        return quote_argv([*podman(c), "exec", name, *c.reload_command])
    if c.reload_signal is not None:
        return quote_argv([*podman(c), "kill", f"--signal={c.reload_signal}", name])
    return None


class _Sections:
    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {}

    def add(self, section: str, key: str, value: str) -> None:
        self.lines.setdefault(section, []).append(f"{key}={line_value(value)}")

    def text(self, header: list[str]) -> str:
        parts = ["".join(f"# {line}\n" for line in header)]
        parts += [
            f"\n[{s}]\n" + "".join(f"{x}\n" for x in lines)
            for s, lines in self.lines.items()
            if lines or s not in ("Unit", "Service", "Install")
        ]
        return "".join(parts)


def export(spec: Spec, mode: str = "system") -> dict[str, str]:
    """Every Quadlet file the definitions make, by file name; DefinitionError naming every value
    Quadlet cannot carry."""
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for kind, (section, rows) in _OURS.items():
        for name, model in getattr(spec, kind + "s", {}).items():
            source = spec.sources.get((kind, name), "")
            out = _Sections()
            out.lines = {"Unit": [], section: [], "Service": [], "Install": []}
            name_key = _NAME_KEYS.get(kind)
            if name_key:
                out.add(section, name_key, name)
            try:
                notes = _rows(model, section, rows, out)
                if isinstance(model, Container):
                    notes += _container(name, model, out, mode)
            except _Unwritable as exc:
                problems.append(Problem(display(source), f"{kind}.{name}.{exc.key}", exc.message))
                continue
            except SyntaxProblem as exc:  # a value no unit-file line can hold
                problems.append(Problem(display(source), f"{kind}.{name}", str(exc)))
                continue
            header = [f"Exported by orchestrator from {source}.", *notes]
            files[f"{name}{keys.SUFFIX_OF[kind]}"] = out.text(header)
    problems += _not_yet(spec)
    if problems:
        raise DefinitionError(problems)
    return dict(sorted(files.items()))


# The kinds of issue 12, built alongside this exporter: import reads them, export not yet
_LATER = ("pod", "image", "build", "kube")


def _not_yet(spec: Spec) -> list[Problem]:
    return [
        Problem(
            display(spec.sources.get((kind, name), "")),
            f"{kind}.{name}",
            f"export quadlet does not write {kind} definitions yet",
        )
        for kind in _LATER
        for name in getattr(spec, kind + "s", None) or {}
    ]


class _Unwritable(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


_OURS = {
    "container": ("Container", keys.CONTAINER),
    "volume": ("Volume", keys.VOLUME),
    "network": ("Network", keys.NETWORK),
}
# Quadlet names podman's container, volume and network systemd-X; ours are named X
_NAME_KEYS = {"container": "ContainerName", "volume": "VolumeName", "network": "NetworkName"}


def _rows(model: Any, section: str, rows: tuple[keys.Row, ...], out: _Sections) -> list[str]:
    data = model.model_dump()
    defaults = _defaults(type(model))
    notes: list[str] = []
    for row in rows:
        if not row.ours or (row.ours == "podman_args" and section == "Container"):
            continue
        value, default = _at(data, row.ours), _at(defaults, row.ours)
        if section == "Network" and row.ours == "dns":
            value, default = not value, False  # DisableDNS=
        if _skipped(value, default, row):
            continue
        try:
            lines = row.codec.write(value)
        except keys.Refused as exc:
            raise _Unwritable(row.ours, str(exc)) from None
        for line in lines:
            out.add(row.section or section, row.key, _escape(line, row.escaped))
    if section == "Volume":
        notes += _volume_options(data.get("options") or {}, out)
    return notes


def _defaults(model: type[Any]) -> dict[str, Any]:
    """Each field's default; a nested table's (the health check's) as a table of its own."""
    defaults = {
        name: f.get_default(call_default_factory=True) for name, f in model.model_fields.items()
    }
    if model is Container:
        defaults["health"] = _defaults(Health)
    return defaults


def _skipped(value: Any, default: Any, row: keys.Row) -> bool:
    if value is None or value == [] or value == {}:
        return True
    return bool(value == row.absent if row.absent is not None else value == default)


def _at(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _escape(line: str, where: str = "exec") -> str:
    """Quadlet copies the value into its unit, where systemd expands % (and $ in Exec lines)."""
    if where == "exec":
        return line.replace("%", "%%").replace("$", "$$")
    return line.replace("%", "%%") if where == "text" else line


def _volume_options(options: dict[str, str], out: _Sections) -> list[str]:
    notes = []
    for option, value in options.items():
        key = {"type": "Type", "device": "Device", "o": "Options"}.get(option)
        if key is None:
            notes.append(f"Not expressed: the volume option {option}={value} (Quadlet has no key).")
        else:
            out.add("Volume", key, value)
    return notes


def _container(name: str, c: Container, out: _Sections, mode: str) -> list[str]:
    """What is not a row: depends_on, flags beyond Quadlet's keys, reload, unit, enabled."""
    for later in ("pod", "build"):
        if getattr(c, later, None):
            raise _Unwritable(later, f"export quadlet does not write {later} = yet")
    for dep, condition in c.depends_on.items():
        out.add("Unit", "Requires", f"{dep}.service")
        out.add("Unit", "After", f"{dep}.service")
        if condition == "healthy":
            out.add("Service", "ExecStartPre", wait_healthy_line(dep))
    args = [w for beyond in keys.BEYOND for w in beyond.words(getattr(c, beyond.ours))]
    args += c.podman_args
    if args:
        try:
            out.add("Container", "PodmanArgs", _escape(keys.args_line(args)))
        except keys.Refused as exc:
            raise _Unwritable("podman_args", str(exc)) from None
    reload = reload_line(name, c)
    if reload is not None:
        out.add("Service", "ExecReload", reload)
    for section, directives in c.unit.items():
        for key, items in directives.items():
            for value in items:
                out.add(section, key, value)
    if c.enabled:
        out.add(
            "Install", "WantedBy", "multi-user.target" if mode == "system" else "default.target"
        )
    return []
