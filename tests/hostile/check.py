"""Running a Case through validate, render and plan, and the rules every outcome must keep.

- exit codes: validate and render 0 or 1, plan 0, 1 or 2; never 70, never a traceback;
- nothing hangs: each command runs under an alarm;
- every error line names a file of the case (and is printed without raw control characters);
- render and plan refuse exactly what validate refuses;
- what validate accepts, systemd loads without a word (`systemd-analyze verify`, in batches).
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import safe
from tests.hostile.cases import Case, Fifo, Link, Locked
from tests.support.cli import Result, run_inline
from tests.support.definitions import verify_units

TIMEOUT = 20  # seconds per command; a FIFO or a device would block forever


class Hung(BaseException):  # not caught by the command line's handler
    pass


@dataclass
class Outcome:
    case: Case
    failures: list[str] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)
    user_units: dict[str, str] = field(default_factory=dict)
    accepted: bool = False


def write_tree(root: Path, files: dict[str, object]) -> list[Path]:
    """The case's files under root; returns the directories to unlock afterwards."""
    locked: list[Path] = []
    for relative, entry in files.items():
        path = root / relative
        os.makedirs(path.parent, exist_ok=True)
        if isinstance(entry, bytes):
            path.write_bytes(entry)
        elif isinstance(entry, Fifo):
            os.mkfifo(path)
        elif isinstance(entry, Link):
            os.symlink(entry.target, path)
        elif isinstance(entry, Locked):
            path.mkdir(exist_ok=True)
            for name, data in entry.files.items():
                (path / name).write_bytes(data)
            path.chmod(0)
            locked.append(path)
    return locked


@contextlib.contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def ring(signum: int, frame: object) -> None:
        raise Hung(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _run(*args: str) -> Result:
    try:
        with _alarm(TIMEOUT):
            return run_inline(*args)
    except Hung as exc:
        return Result(-1, "", f"HUNG: {exc}")


CONTROL = {chr(c) for c in [*range(0, 10), *range(11, 32), *range(0x7F, 0xA0)]}
CONTROL |= set("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _rules(name: str, result: Result, allowed: Iterable[int], root: Path) -> list[str]:
    failures = []
    output = result.stdout + result.stderr
    if result.returncode == -1:
        return [f"{name}: {result.stderr}"]
    if result.returncode not in allowed:
        failures.append(f"{name}: exit {result.returncode}: {_tail(output)}")
    if "Traceback" in output or "internal error" in output:
        failures.append(f"{name}: traceback or internal error: {_tail(output)}")
    raw = sorted({c for c in output if c in CONTROL})
    if raw:
        failures.append(f"{name}: raw control characters {raw!r} in the output")
    if result.returncode == 1:
        shown = {safe(str(root)), safe(os.path.relpath(root, ROOT_DIR))}
        for line in result.stderr.splitlines():
            if line.startswith("error: ") and not any(s in line for s in shown):
                failures.append(f"{name}: an error that names no file of the case: {line[:300]}")
    return failures


ROOT_DIR = Path(__file__).resolve().parents[2]


def _tail(text: str) -> str:
    return safe(text[-600:])


def run_case(case: Case, workdir: Path) -> Outcome:
    outcome = Outcome(case)
    root = Path(tempfile.mkdtemp(dir=workdir))
    locked = write_tree(root, case.files)
    try:
        _run_commands(case, root, outcome)
    finally:
        for path in locked:
            path.chmod(stat.S_IRWXU)
    return outcome


def _run_commands(case: Case, root: Path, outcome: Outcome) -> None:
    target = str(root / "d")
    validate = _run("validate", target)
    outcome.failures += _rules("validate", validate, (0, 1), root)
    out = root / "out"
    render = _run("render", target, "--out", str(out))
    outcome.failures += _rules("render", render, (0, 1), root)
    plan = _run("plan", target, "--unit-dir", str(root / "units"), "--no-diff")
    outcome.failures += _rules("plan", plan, (0, 1, 2), root)
    if case.user:  # the same in user mode, whose units and search path differ
        user_validate = _run("validate", "--user", target)
        user_render = _run("render", "--user", target, "--out", str(root / "uout"))
        outcome.failures += _rules("validate --user", user_validate, (0, 1), root)
        outcome.failures += _rules("render --user", user_render, (0, 1), root)
        if user_render.returncode == 0:
            outcome.user_units = _read_units(root / "uout")
        if user_render.returncode != user_validate.returncode:
            outcome.failures.append(
                f"render --user exited {user_render.returncode} where validate --user exited "
                f"{user_validate.returncode}: {_tail(user_render.stderr)}"
            )
    if validate.returncode == 0:
        outcome.accepted = True
        if render.returncode != 0:
            outcome.failures.append(
                f"render refuses what validate accepted: {_tail(render.stderr)}"
            )
        if plan.returncode not in (0, 2):
            outcome.failures.append(f"plan refuses what validate accepted: {_tail(plan.stderr)}")
        if out.is_dir():
            outcome.units = _read_units(out)
    elif validate.returncode == 1 and (render.returncode == 0 or plan.returncode in (0, 2)):
        outcome.failures.append("render or plan accepts what validate refused")
    if case.expect == "refuse" and validate.returncode != 1:
        outcome.failures.append(f"expected a refusal, validate exited {validate.returncode}")
    if case.expect == "accept" and validate.returncode != 0:
        outcome.failures.append(f"expected acceptance: {_tail(validate.stderr)}")


def _read_units(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in directory.iterdir()}


def verify_batches(outcomes: list[Outcome], workdir: Path, size: int = 200) -> None:
    """systemd-analyze verify on every accepted case's units, system and user mode, many cases
    per call; a complaint is a failure of the case whose unit it names."""
    _verify_batches(outcomes, workdir / "system", size, user=False)
    _verify_batches(outcomes, workdir / "user", size, user=True)


def _verify_batches(outcomes: list[Outcome], workdir: Path, size: int, user: bool) -> None:
    by_unit: dict[str, Outcome] = {}
    batch: dict[str, str] = {}
    number = 0

    def flush() -> None:
        nonlocal number, batch
        if not batch:
            return
        for line in verify_units(batch, workdir / f"verify{number}", user):
            unit = Path(line.split(":")[0]).name
            owner = by_unit.get(unit)
            if owner is not None:
                owner.failures.append(f"systemd-analyze verify: {line[:300]}")
            else:
                outcomes[0].failures.append(f"systemd-analyze verify (unknown unit): {line}")
        number += 1
        batch = {}
        by_unit.clear()

    for outcome in outcomes:
        units = outcome.user_units if user else outcome.units
        if not units:
            continue
        if batch.keys() & units.keys() or len(batch) >= size:
            flush()
        if batch.keys() & units.keys():
            continue
        batch.update(units)
        by_unit.update(dict.fromkeys(units, outcome))
    flush()
