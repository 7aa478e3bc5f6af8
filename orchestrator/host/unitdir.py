"""The unit directory on disk: which unit files are ours, and writing unit files atomically."""

from __future__ import annotations

import os
import re

from orchestrator.core.unitfile import is_managed, mark_fields
from orchestrator.errors import ConflictError, UsageError
from orchestrator.host import statefiles

UNIT_SUFFIXES = (".service",)


def read_unit_dir(path: str) -> tuple[dict[str, str], set[str]]:
    """(managed name -> text, names of unit files not ours); a missing directory is empty."""
    managed: dict[str, str] = {}
    foreign: set[str] = set()
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return managed, foreign
    except OSError as exc:
        raise UsageError(f"cannot read unit directory {path}: {exc.strerror}") from None
    for entry in entries:
        if not entry.name.endswith(UNIT_SUFFIXES) or entry.name.startswith("."):
            continue
        text = None
        if entry.is_file() and not entry.is_symlink():
            try:
                text = statefiles.read_bytes(entry.path).decode("utf-8")
            except (OSError, UnicodeDecodeError):
                text = None
        if text is not None and is_ours(entry.name, text):
            managed[entry.name] = text
        else:
            foreign.add(entry.name)
    return managed, foreign


def is_ours(filename: str, text: str) -> bool:
    """A unit file with our mark, under the name the mark gives it: a copy of one of our units
    under another name is not ours to manage."""
    from orchestrator.core.models import UNIT_SUFFIX, unit_name

    if not is_managed(text):
        return False
    fields = mark_fields(text)
    kind, name = fields.get("Kind", ""), fields.get("Name", "")
    return kind in UNIT_SUFFIX and unit_name(kind, name) == filename


VENDOR_DIRS = {
    "system": (
        "/run/systemd/system",
        "/usr/local/lib/systemd/system",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
    ),
    "user": (
        "/run/systemd/user",
        "/usr/local/lib/systemd/user",
        "/usr/lib/systemd/user",
        "/lib/systemd/user",
    ),
}


def shadowed(names: list[str], mode: str) -> dict[str, str]:
    """Desired unit names that already exist in the system's unit directories (dbus.service,
    ssh.service, ...): a unit of ours would replace them. name -> the file it would shadow."""
    found: dict[str, str] = {}
    for directory in VENDOR_DIRS[mode]:
        for name in names:
            path = os.path.join(directory, name)
            if name not in found and os.path.lexists(path):
                found[name] = path
    return found


def refuse_shadowing(names: list[str], mode: str) -> None:
    clashes = shadowed(names, mode)
    if clashes:
        listed = ", ".join(f"{name} (would shadow {path})" for name, path in clashes.items())
        raise ConflictError(f"these units belong to the system: {listed}; rename the definitions")


def unit_mode(text: str) -> int:
    """0600 for a unit that carries environment values (they may be secrets; systemd reads the
    file as root, or in user mode as the user who owns it), 0644 for the others."""
    return statefiles.PRIVATE_FILE if carries_values(text) else 0o644


_ENV_WORD = re.compile(r"""(?:^|\s)["']?(?:--env(?:=|\s)|-e\s)""")


def carries_values(text: str) -> bool:
    """Whether a unit file holds environment values: podman's --env/-e in a command line, or an
    Environment= line of an override (PODMAN_SYSTEMD_UNIT=%n, which every container has, aside)."""
    for line in text.splitlines():
        key, _, value = line.partition("=")
        key = key.strip()
        if key == "Environment" and value.strip() != "PODMAN_SYSTEMD_UNIT=%n":
            return True
        if key.startswith("Exec") and _ENV_WORD.search(value):
            return True
    return False


def write_atomic(directory: str, name: str, text: str, *, durable: bool = True) -> None:
    """Write directory/name so that a reader sees the old file or the new one, never a mix, with
    the mode unit_mode gives it.

    The temporary file is .NAME.tmp in the same directory; one left by a killed run is replaced.
    """
    path = os.path.join(directory, name)
    statefiles.replace(path, text.encode("utf-8"), unit_mode(text), durable=durable)


def write_units(directory: str, units: dict[str, str], *, durable: bool = True) -> list[str]:
    """Write the units that differ from what directory holds; returns the names written.

    Refuses, before writing anything, to replace a unit file that is not ours.
    """
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror}") from None
    current, foreign = read_unit_dir(directory)
    clashes = sorted(set(units) & foreign)
    if clashes:
        raise ConflictError(
            f"{directory} holds unit files not written by orchestrator: {', '.join(clashes)}; "
            "they are left alone and nothing was written"
        )
    written = [name for name, text in units.items() if current.get(name) != text]
    try:
        for name in written:
            write_atomic(directory, name, units[name], durable=durable)
    except OSError as exc:
        raise UsageError(f"cannot write into {directory}: {exc.strerror}") from None
    return written


def remove_temp_files(directory: str, names: list[str]) -> list[str]:
    """Remove the .NAME.tmp files write_atomic leaves when it is killed mid-write, for these unit
    names only (another program's temporary files are not ours to remove)."""
    removed = []
    for name in names:
        try:
            os.unlink(os.path.join(directory, f".{name}.tmp"))
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise UsageError(f"cannot clean up {directory}: {exc.strerror}") from None
        removed.append(f".{name}.tmp")
    return removed
