"""Generations: what each apply that changed something installed, so it can be rolled back.

STATE/generations/N/ holds units/ (the rendered unit files), definitions/ (the TOML files they
came from) and meta.json (time, result, sources, a sha256 of each file). A generation is written
into a hidden directory, fsynced and renamed into place, so a killed apply or a power cut leaves
none half-written; leftovers are removed. Everything is 0700/0600: definitions may hold secrets.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from orchestrator.errors import OrchestratorError, UsageError
from orchestrator.host import statefiles
from orchestrator.host.unitdir import is_ours

# whether the apply brought everything up; superseded: newer definitions were applied before
# its units had settled (watch), so it is not known to have come up
Result = Literal["ok", "failed", "superseded"]

KEEP = 50  # generations kept; older ones are removed as new ones are recorded


@dataclass(frozen=True)
class Generation:
    number: int
    time: float
    result: Result
    units: list[str]
    sources: list[str] = field(default_factory=list)
    note: str = ""  # e.g. "rollback to 3"

    def as_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.time)),
            "result": self.result,
            "units": self.units,
            "sources": self.sources,
            "note": self.note,
        }


def _root(state_dir: str) -> Path:
    return Path(state_dir) / "generations"


def generations(state_dir: str) -> list[Generation]:
    root = _root(state_dir)
    found = []
    with contextlib.suppress(FileNotFoundError):
        for entry in root.iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                    meta = _meta(entry)
                    found.append(Generation(
                        int(entry.name), float(meta["time"]), _result(meta["result"]),
                        list(meta["units"]), list(meta.get("sources", [])),
                        str(meta.get("note", "")),
                    ))  # fmt: skip
    return sorted(found, key=lambda g: g.number)


def _result(recorded: object) -> Result:
    """Only a generation recorded as ok counts as one that came up."""
    return recorded if recorded in ("ok", "superseded") else "failed"


def _meta(directory: Path) -> dict[str, Any]:
    meta = json.loads(statefiles.read_bytes(str(directory / "meta.json")))
    if not isinstance(meta, dict):
        raise ValueError("meta.json is not a JSON object")
    return meta


class DamagedGenerationError(OrchestratorError):
    """A generation whose files are not the ones recorded: never applied."""


def units_of(state_dir: str, number: int) -> dict[str, str]:
    """The units of a generation, checked: each file carries our mark under its own name, the
    set is the one recorded, and each matches its recorded sha256 (generations recorded before
    checksums existed are checked by the mark and the list alone)."""
    directory = _root(state_dir) / str(number)
    if not (directory / "units").is_dir():
        known = ", ".join(str(g.number) for g in generations(state_dir)) or "none"
        raise UsageError(f"there is no generation {number} (generations: {known})")
    try:
        meta = _meta(directory)
        units = {
            entry.name: statefiles.read_bytes(entry.path).decode("utf-8")
            for entry in sorted(os.scandir(directory / "units"), key=lambda e: e.name)
        }
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DamagedGenerationError(f"generation {number} cannot be read: {exc}") from None
    damage = _damage(units, meta)
    if damage:
        raise DamagedGenerationError(
            f"generation {number} is damaged and is not applied: {'; '.join(damage)}"
        )
    return units


def _damage(units: dict[str, str], meta: dict[str, Any]) -> list[str]:
    recorded = meta.get("units")
    checksums = meta.get("checksums")
    found = []
    if not isinstance(recorded, list) or not isinstance(checksums, (dict, type(None))):
        return ["its record (meta.json) is not in the expected form"]
    found += [f"{name} is missing" for name in sorted(set(recorded) - set(units))]
    for name, text in units.items():
        if name not in recorded:
            found.append(f"{name} is not in its record")
        elif not is_ours(name, text):
            found.append(f"{name} is not a unit file orchestrator wrote (no mark, or another name)")
        elif checksums is not None and checksums.get(f"units/{name}") != _sha256(text.encode()):
            found.append(f"{name} does not match its recorded checksum")
    return found


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rollback_target(state_dir: str, before: int | None = None) -> Generation | None:
    """The newest generation that came up (result ok), older than `before` (default: the newest
    generation), whose units differ from that generation's: where a rollback goes. Damaged
    generations are passed over."""
    found = generations(state_dir)
    if not found:
        return None
    newest = before if before is not None else found[-1].number
    try:
        reference = units_of(state_dir, newest)
    except OrchestratorError:
        reference = {}
    for generation in reversed(found):
        if generation.number >= newest or generation.result != "ok":
            continue
        try:
            if units_of(state_dir, generation.number) != reference:
                return generation
        except OrchestratorError:
            continue
    return None


def record(
    state_dir: str, units: dict[str, str], sources: list[str], result: Result, note: str = ""
) -> int:
    """Write a generation durably (every file and directory fsynced before it is renamed into
    place), private (0700/0600: the definitions may hold secrets), with a sha256 of each file."""
    statefiles.private_dir(state_dir)
    root = _root(state_dir)
    statefiles.private_dir(str(root))
    for leftover in root.glob(".new-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    existing = [int(entry.name) for entry in root.iterdir() if entry.name.isdigit()]
    number = max(existing, default=0) + 1  # from the directories: a damaged one keeps its number
    work = root / f".new-{number}"
    files = {f"units/{name}": text.encode("utf-8") for name, text in units.items()}
    kept, copies = _read_sources(sources)
    files.update({f"definitions/{relative}": data for relative, data in copies.items()})
    checksums = {name: _sha256(data) for name, data in files.items()}
    meta = {"time": time.time(), "result": result, "units": sorted(units), "sources": kept,
            "note": note, "checksums": checksums}  # fmt: skip
    files["meta.json"] = (json.dumps(meta, indent=2) + "\n").encode()
    _write_tree(work, files)
    os.rename(work, root / str(number))
    statefiles.fsync_dir(str(root))
    for old in sorted(int(e.name) for e in root.iterdir() if e.name.isdigit())[:-KEEP]:
        shutil.rmtree(root / str(old), ignore_errors=True)
    return number


def _write_tree(top: Path, files: dict[str, bytes]) -> None:
    """Create top and the files below it (relative path -> content), all fsynced, directories
    after their entries."""
    directories = {str(top)}
    statefiles.private_dir(str(top / "units"))
    for relative in files:
        path = top / relative
        statefiles.private_dir(str(path.parent))
        for parent in path.relative_to(top).parents:
            directories.add(str(top / parent))
    statefiles.create_all({str(top / relative): data for relative, data in files.items()})
    for directory in sorted(directories, key=len, reverse=True):
        statefiles.fsync_dir(directory)


def _read_sources(sources: list[str]) -> tuple[list[str], dict[str, bytes]]:
    """The definition files (absolute paths), and their contents keyed by their path below the
    common directory."""
    files = [os.path.abspath(s) for s in sources if os.path.isfile(s)]
    if not files:
        return [], {}
    base = os.path.commonpath([os.path.dirname(f) for f in files])
    copies = {}
    kept = []
    for path in files:
        with contextlib.suppress(OSError):  # vanished or replaced since it was read: not kept
            copies[os.path.relpath(path, base)] = _read_followed(path)
            kept.append(path)
    return kept, copies


def _read_followed(path: str) -> bytes:
    """A definition file as the loader read it: a symlinked file is followed (unlike a state
    file), but only a regular file is read."""
    return statefiles.read_bytes(os.path.realpath(path))


def mark_result(state_dir: str, number: int, result: Result) -> None:
    directory = _root(state_dir) / str(number)
    meta = _meta(directory)
    meta["result"] = result
    statefiles.replace(str(directory / "meta.json"), (json.dumps(meta, indent=2) + "\n").encode())
