"""`export quadlet`: definitions -> Quadlet files for hosts whose podman (4.4 or later) has
Quadlet. Driven by the same table as the import (quadlet_keys), so that exporting and importing
again gives the same definitions. What Quadlet has no key for is written as it would run: a
podman flag in PodmanArgs=, or the [Service] line orchestrator's own unit has."""

from __future__ import annotations

from typing import Any

from orchestrator.convert import quadlet_keys as keys
from orchestrator.convert.unitsyntax import SyntaxProblem, line_value
from orchestrator.core.loader import display
from orchestrator.core.models import Container, Health, Spec, build_tag
from orchestrator.core.quoting import quote_argv
from orchestrator.core.render import SH, WAIT_HEALTHY, image_provider, podman
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
    for suffix, (kind, section, rows) in keys.KINDS.items():
        for name, model in getattr(spec, kind + "s").items():
            source = spec.sources.get((kind, name), "")
            out = _Sections()
            out.lines = {"Unit": [], section: [], "Service": [], "Install": []}
            try:
                notes = _file(kind, name, model, spec, section, rows, out, mode)
            except _Unwritable as exc:
                problems.append(Problem(display(source), f"{kind}.{name}.{exc.key}", exc.message))
                continue
            except SyntaxProblem as exc:  # a value no unit-file line can hold
                problems.append(Problem(display(source), f"{kind}.{name}", str(exc)))
                continue
            header = [f"Exported by orchestrator from {source}.", *notes]
            files[f"{name}{suffix}"] = out.text(header)
    if problems:
        raise DefinitionError(problems)
    return dict(sorted(files.items()))


class _Unwritable(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


def _file(
    kind: str,
    name: str,
    model: Any,
    spec: Spec,
    section: str,
    rows: tuple[keys.Row, ...],
    out: _Sections,
    mode: str,
) -> list[str]:
    """One Quadlet file's lines: the name, the rows, then what code writes."""
    if kind in keys.NAME_KEYS:
        out.add(section, keys.NAME_KEYS[kind], name)
    data = model.model_dump(by_alias=True)
    if kind == "container":
        _references(model, spec, data)
    elif kind == "build":
        out.add(section, "SetWorkingDirectory", data["context"])
        data["tag"] = build_tag(name, model)
    elif kind == "volume" and data.get("image") is not None:
        if not data.get("driver"):
            data["driver"] = "image"  # Quadlet 5.4 ignores Image= without it
        provider = image_provider(model.image, spec)
        if provider is not None:  # Quadlet then orders the volume after the pull or build
            what, which = provider
            data["image"] = f"{which}.{what}"
    _rows(data, _defaults(type(model)), section, rows, out)
    if kind == "network":
        _subnets(data, out)
    _podman_args(kind, model, section, out)
    if isinstance(model, Container):
        _container(name, model, out)
    _unit(model, out, mode)
    return []


def _references(c: Container, spec: Spec, data: dict[str, Any]) -> None:
    """A container's image as Quadlet names it: X.build for a build's, X.image for a declared
    [image.X]'s (Quadlet then orders the container after its pull)."""
    if c.build is not None:
        data["image"] = f"{c.build}.build"
        return
    for name, image in spec.images.items():
        if image.image == c.image:
            data["image"] = f"{name}.image"
            return


def _rows(
    data: dict[str, Any],
    defaults: dict[str, Any],
    section: str,
    rows: tuple[keys.Row, ...],
    out: _Sections,
) -> None:
    for row in rows:
        if not row.ours or row.ours == "podman_args" or isinstance(row.codec, keys.AsFlag):
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
        where = keys.NEWER if row.newer else row.section or section
        for line in lines:
            out.add(where, row.key, _escape(line, row.escaped))


_DEFAULTS: dict[type[Any], dict[str, Any]] = {}


def _defaults(model: type[Any]) -> dict[str, Any]:
    """Each field's default, by the name TOML uses; the health check's as a table of its own.
    Built once per model (only compared with, never changed): pydantic asks each default factory
    for its signature on every get_default(), which made exporting a definition slow."""
    if model not in _DEFAULTS:
        defaults = {
            f.alias or name: f.get_default(call_default_factory=True)
            for name, f in model.model_fields.items()
        }
        if model is Container:
            defaults["health"] = _defaults(Health)
        _DEFAULTS[model] = defaults
    return _DEFAULTS[model]


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


def _subnets(data: dict[str, Any], out: _Sections) -> None:
    """Subnet=, Gateway= and IPRange= lines, which podman pairs by position."""
    subnets = data["subnets"] or [data] if data["subnet"] or data["subnets"] else []
    for key, quadlet in (("subnet", "Subnet"), ("gateway", "Gateway"), ("ip_range", "IPRange")):
        for subnet in subnets:
            if subnet.get(key):
                out.add("Network", quadlet, subnet[key])


def _podman_args(kind: str, model: Any, section: str, out: _Sections) -> None:
    """PodmanArgs=: the flags of the keys Quadlet lacks, then the definition's own."""
    beyond = keys.BEYOND.get(kind, ())
    args = [word for b in beyond for word in b.words(getattr(model, b.ours))]
    args += getattr(model, "podman_args", [])
    if args:
        try:
            out.add(section, "PodmanArgs", _escape(keys.args_line(args)))
        except keys.Refused as exc:
            raise _Unwritable("podman_args", str(exc)) from None


def _container(name: str, c: Container, out: _Sections) -> None:
    """What is not a row: depends_on, reload, a pod member's start."""
    for dep, condition in c.depends_on.items():
        out.add("Unit", "Requires", f"{dep}.service")
        out.add("Unit", "After", f"{dep}.service")
        if condition == "healthy":
            out.add("Service", "ExecStartPre", wait_healthy_line(dep))
    reload = reload_line(name, c)
    if reload is not None:
        out.add("Service", "ExecReload", reload)
    if c.pod is not None and not c.enabled:
        out.add("Container", "StartWithPod", "false")


def _unit(model: Any, out: _Sections, mode: str) -> None:
    """The unit overrides as they are, and [Install] for what is enabled (a pod's member starts
    with its pod instead)."""
    for section, directives in getattr(model, "unit", {}).items():
        for key, items in directives.items():
            for value in items:
                out.add(section, key, value)
    if getattr(model, "enabled", False) and getattr(model, "pod", None) is None:
        target = "multi-user.target" if mode == "system" else "default.target"
        out.add("Install", "WantedBy", target)
