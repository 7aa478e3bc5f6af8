"""Writing definition files from Python values, whatever characters they hold, and checking
rendered units with the real `systemd-analyze verify` in one batch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any


def toml_string(text: str) -> str:
    """A TOML basic string that reads back as text (json escapes all TOML needs but DEL)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """An inline TOML value: strings, booleans, integers, floats, arrays and tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_string(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"no TOML for {value!r}")


def toml_document(tables: dict[str, dict[str, dict[str, Any]]]) -> str:
    """[kind.name] tables of key = inline value lines."""
    lines = []
    for kind, resources in tables.items():
        for name, keys in resources.items():
            lines.append(f"[{kind}.{toml_string(name)}]")
            lines += [f"{toml_string(key)} = {toml_value(v)}" for key, v in keys.items()]
    return "\n".join(lines) + "\n"


def verify_units(units: dict[str, str], directory: Path, user: bool = False) -> list[str]:
    """The lines `systemd-analyze verify` prints about units (file name -> text); [] when it
    accepts them all. Names must be unique in the batch."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: run scripts/setup"
    directory.mkdir(parents=True, exist_ok=True)
    runtime = directory / "runtime"
    runtime.mkdir(exist_ok=True)
    for name, text in units.items():
        (directory / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{directory}:", "XDG_RUNTIME_DIR": str(runtime)}
    command = [analyze, *(["--user"] if user else []), "verify", "--man=no"]
    command += ["--recursive-errors=no", *(str(directory / name) for name in sorted(units))]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.returncode != 0 and not lines:
        lines = [f"systemd-analyze exited {result.returncode}"]
    return lines
