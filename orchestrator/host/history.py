"""Generations: what each apply that changed something installed, so it can be rolled back.

STATE/generations/N/ holds units/ (the rendered unit files), definitions/ (the TOML files they
came from) and meta.json (time, result, sources). A generation is written into a hidden directory
and renamed into place, so a killed apply leaves none half-written; leftovers are removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from orchestrator.errors import UsageError

Result = Literal["ok", "failed"]  # whether the apply brought everything up

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
                    meta = json.loads((entry / "meta.json").read_text())
                    found.append(Generation(
                        int(entry.name), float(meta["time"]), _result(meta["result"]),
                        list(meta["units"]), list(meta.get("sources", [])),
                        str(meta.get("note", "")),
                    ))  # fmt: skip
    return sorted(found, key=lambda g: g.number)


def _result(recorded: object) -> Result:
    """Only a generation recorded as ok counts as one that came up."""
    return "ok" if recorded == "ok" else "failed"


def units_of(state_dir: str, number: int) -> dict[str, str]:
    directory = _root(state_dir) / str(number) / "units"
    if not directory.is_dir():
        known = ", ".join(str(g.number) for g in generations(state_dir)) or "none"
        raise UsageError(f"there is no generation {number} (generations: {known})")
    try:
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.iterdir())}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"generation {number} cannot be read: {exc}") from None


def rollback_target(state_dir: str, before: int | None = None) -> Generation | None:
    """The newest generation that came up (result ok), older than `before` (default: the newest
    generation), whose units differ from that generation's: where a rollback goes."""
    found = generations(state_dir)
    if not found:
        return None
    newest = before if before is not None else found[-1].number
    try:
        reference = units_of(state_dir, newest)
    except UsageError:
        reference = {}
    for generation in reversed(found):
        if generation.number >= newest or generation.result != "ok":
            continue
        try:
            if units_of(state_dir, generation.number) != reference:
                return generation
        except UsageError:
            continue
    return None


def record(
    state_dir: str, units: dict[str, str], sources: list[str], result: Result, note: str = ""
) -> int:
    root = _root(state_dir)
    root.mkdir(parents=True, exist_ok=True)
    for leftover in root.glob(".new-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    existing = [int(entry.name) for entry in root.iterdir() if entry.name.isdigit()]
    number = max(existing, default=0) + 1  # from the directories: a damaged one keeps its number
    work = root / f".new-{number}"
    (work / "units").mkdir(parents=True)
    for name, text in units.items():
        (work / "units" / name).write_text(text, encoding="utf-8")
    kept = _copy_sources(sources, work / "definitions")
    meta = {"time": time.time(), "result": result, "units": sorted(units), "sources": kept,
            "note": note}  # fmt: skip
    (work / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    os.rename(work, root / str(number))
    for old in sorted(int(e.name) for e in root.iterdir() if e.name.isdigit())[:-KEEP]:
        shutil.rmtree(root / str(old), ignore_errors=True)
    return number


def _copy_sources(sources: list[str], target: Path) -> list[str]:
    """Copy the definition files, keeping their paths below the common directory."""
    files = [os.path.abspath(s) for s in sources if os.path.isfile(s)]
    if not files:
        return []
    base = os.path.commonpath([os.path.dirname(f) for f in files])
    for path in files:
        destination = target / os.path.relpath(path, base)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    return files


def mark_result(state_dir: str, number: int, result: Result) -> None:
    meta_path = _root(state_dir) / str(number) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["result"] = result
    temp = meta_path.with_name(".meta.json.tmp")
    temp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(temp, meta_path)
