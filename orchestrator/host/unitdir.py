"""The unit directory on disk: which unit files are ours, and writing unit files atomically."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from orchestrator.core.unitfile import is_managed, mark_fields
from orchestrator.errors import ConflictError, UsageError
from orchestrator.host import paths, statefiles

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


def shadowed(
    names: list[str],
    mode: str,
    unit_dir: str | None = None,
    search_path: list[str] | None = None,
) -> dict[str, str]:
    """Desired unit names that systemd would also find in its unit search path (by default the
    host's, see paths.unit_search_path): a unit file or symlink of that name elsewhere than in
    unit_dir (dbus.service; an alias link such as sshd.service; a transient or generated unit),
    or an Alias= that a unit file declares, which it claims whenever it is enabled.
    name -> what it clashes with. Files of ours (our mark, under their own name) do not count;
    foreign files in unit_dir itself are refused by write_units and plan, with their own message."""
    user = mode == "user"
    directories = paths.unit_search_path(user) if search_path is None else search_path
    own = _real(unit_dir if unit_dir is not None else paths.unit_dir(user))
    ranks = [_real(d) for d in directories]
    own_rank = ranks.index(own) if own in ranks else len(ranks)
    wanted = set(names)
    found: dict[str, str] = {}
    for rank, directory in enumerate(directories):
        if ranks[rank] in ranks[:rank]:
            continue  # /lib is /usr/lib on a merged-/usr system
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue  # missing (most of them, most of the time)
        for entry in entries:
            if not entry.name.endswith(UNIT_SUFFIXES):
                continue
            if entry.name in wanted and ranks[rank] != own and not _ours_at(entry):
                verb = "would be hidden by" if rank < own_rank else "would shadow"
                found.setdefault(entry.name, f"{verb} {entry.path}")
            for alias in _aliases(entry) & wanted:
                found.setdefault(alias, f"is an alias that {entry.path} declares")
    return found


def _real(path: str) -> str:
    return os.path.realpath(os.path.abspath(path))


def _ours_at(entry: os.DirEntry[str]) -> bool:
    """A unit file of ours (rendered into another directory of the search path, say)."""
    if entry.is_symlink() or not entry.is_file():
        return False
    try:
        return is_ours(entry.name, statefiles.read_bytes(entry.path).decode("utf-8"))
    except (OSError, UnicodeDecodeError):
        return False


def _aliases(entry: os.DirEntry[str]) -> set[str]:
    """The names a unit file's [Install] Alias= claims. Links are skipped: the file they point
    to is read where it lives."""
    if entry.is_symlink() or not entry.is_file():
        return set()
    try:
        data = statefiles.read_bytes(entry.path)
    except OSError:
        return set()
    if b"Alias" not in data:
        return set()
    stem = entry.name.rsplit(".", 1)[0]
    found: set[str] = set()
    section = ""
    for raw in data.decode("utf-8", errors="replace").splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Install]" and line.partition("=")[0].strip() == "Alias":
            words = line.partition("=")[2].split()
            for word in words:
                expanded = word.replace("%n", entry.name).replace("%N", stem)
                found.add(expanded.replace("%p", stem).replace("%P", stem).replace("%%", "%"))
    return found


def refuse_shadowing(
    names: list[str],
    mode: str,
    unit_dir: str | None = None,
    search_path: list[str] | None = None,
) -> None:
    clashes = shadowed(names, mode, unit_dir, search_path)
    if clashes:
        listed = ", ".join(f"{name} ({what})" for name, what in sorted(clashes.items()))
        raise ConflictError(f"these units belong to the system: {listed}; rename the definitions")


def refuse_foreign_loaded(names: list[str], observed: Mapping[str, object], unit_dir: str) -> None:
    """What systemd itself says (FragmentPath, and the name it answers to): a desired unit it
    loads from anywhere but unit_dir, or knows as an alias of another unit, is not ours."""
    own = _real(unit_dir)
    clashes = []
    for name in names:
        state = observed.get(name)
        if state is None:
            continue
        loaded_as = str(getattr(state, "name", "") or name)
        fragment = str(getattr(state, "fragment_path", "") or "")
        if loaded_as != name:
            clashes.append(f"{name} (systemd knows it as an alias of {loaded_as})")
        elif fragment and _real(os.path.dirname(fragment)) != own:
            clashes.append(f"{name} (systemd loads it from {fragment})")
    if clashes:
        raise ConflictError(
            f"these units belong to the system: {', '.join(clashes)}; rename the definitions"
        )


def unit_mode(text: str) -> int:
    """0600 for a unit that carries environment values (they may be secrets; systemd reads the
    file as root, or in user mode as the user who owns it), 0644 for the others."""
    return statefiles.PRIVATE_FILE if carries_values(text) else 0o644


# podman's --env/-e, and the other options whose values may be secrets: build arguments and
# registry credentials (the unit of a [build.X] or an [image.X])
_ENV_WORD = re.compile(
    r"""(?:^|\s)["']?(?:--(?:env|build-arg|creds|decryption-key)(?:=|\s)|-e\s)"""
)
# Environment= lines that hold nothing secret: what every container unit has, and the digest
# of a build's inputs
_PUBLIC_ENVIRONMENT = re.compile(r"PODMAN_SYSTEMD_UNIT=%n|ORCHESTRATOR_BUILD_INPUTS=sha256:\w+")


def carries_values(text: str) -> bool:
    """Whether a unit file holds environment values: podman's --env/-e in a command line, or an
    Environment= line of an override (PODMAN_SYSTEMD_UNIT=%n, which every container has, aside)."""
    for line in text.splitlines():
        key, _, value = line.partition("=")
        key = key.strip()
        if key == "Environment" and not _PUBLIC_ENVIRONMENT.fullmatch(value.strip()):
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
