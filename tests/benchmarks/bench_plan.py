"""Wall-clock benchmark of `orchestrator render` and `orchestrator plan` on N definitions.

    python tests/benchmarks/bench_plan.py [N] [--runs R] [--json]

Each command runs as a whole process (start-up included), once to warm up and then R times; the
median, min and max are compared with the budget: Podman's Quadlet generator takes 0.35 s for 1000
equivalent .container files. If Quadlet is installed it is timed here instead, on the same files.
Files go under $TMPDIR. render is timed twice: into that directory, and into a tmpfs (/dev/shm),
which is where a systemd generator such as Quadlet writes (/run/systemd/generator); the tmpfs
figure is the like-for-like comparison. Not a pytest test (no test_ prefix): run it by hand.
Exit 1 if a command misbehaves.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

QUADLET = Path("/usr/libexec/podman/quadlet")
BUDGET_SECONDS, BUDGET_N = 0.35, 1000  # Quadlet, 1000 .container files (the issue)
FIRST_PORT = 10000
REPO = Path(__file__).resolve().parents[2]

DEFINITION = """\
[container.{name}]
image = "docker.io/library/nginx:1.27"
ports = ["{port}:80"]
environment = {{ APP_NAME = "{name}", APP_PORT = "80", LOG_LEVEL = "info" }}
volumes = ["/srv/bench/{name}:/data"]
labels = {{ "bench.index" = "{index}", "bench.group" = "g{group}" }}
restart = "always"
"""
QUADLET_CONTAINER = """\
[Unit]
Description=Container {name}
[Container]
ContainerName={name}
Image=docker.io/library/nginx:1.27
PublishPort={port}:80
Environment=APP_NAME={name} APP_PORT=80 LOG_LEVEL=info
Volume=/srv/bench/{name}:/data
Label=bench.index={index} bench.group=g{group}
[Service]
Restart=always
[Install]
WantedBy=multi-user.target
"""

Stats = dict[str, float]


class BenchError(Exception):
    pass


@dataclass
class Result:
    n: int
    runs: int
    orchestrator: str
    python: str
    tmpdir: str
    quadlet_present: bool
    quadlet: Stats | None  # quadlet -dryrun, when installed
    reference_seconds: float
    reference_source: str
    startup: dict[str, Stats]
    commands: dict[str, Stats]  # with per_definition_ms and ratio (median / reference)


def find_orchestrator() -> Path:
    """The orchestrator next to this interpreter, on PATH, or in the repository's .venv."""
    beside = Path(sys.executable).parent / "orchestrator"
    on_path = shutil.which("orchestrator")
    for candidate in (beside, Path(on_path) if on_path else None, REPO / ".venv/bin/orchestrator"):
        if candidate is not None and candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise BenchError("no orchestrator command found; run this with .venv/bin/python")


def write_files(directory: Path, n: int, template: str, suffix: str) -> None:
    directory.mkdir()
    for index in range(1, n + 1):
        name = f"c{index:04d}"
        text = template.format(name=name, port=FIRST_PORT + index, index=index, group=index % 10)
        (directory / f"{name}{suffix}").write_text(text, encoding="utf-8")


def timed(cmd: Sequence[str], expect: int, env: dict[str, str] | None = None) -> float:
    """Seconds of wall clock for one whole process; BenchError unless it exits with expect."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != expect:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise BenchError(
            f"{shlex.join(cmd)} exited {proc.returncode}, expected {expect}:\n{stderr[-2000:]}"
        )
    return elapsed


def series(
    command: Callable[[int], Sequence[str]],
    expect: int,
    runs: int,
    check: Callable[[int], None] | None = None,
    env: dict[str, str] | None = None,
) -> Stats:
    """Run 0 warms up (caches, .pyc files) and is not counted; runs 1..R are."""
    times: list[float] = []
    for run in range(runs + 1):
        times.append(timed(command(run), expect, env))
        if check is not None:
            check(run)
    counted = times[1:]
    return {"median": statistics.median(counted), "min": min(counted), "max": max(counted)}


TMPFS = Path("/dev/shm")


def benchmark(n: int, runs: int, tmp: Path) -> Result:
    orchestrator = find_orchestrator()
    python = orchestrator.parent / "python"  # the interpreter orchestrator starts with
    if not python.exists():
        python = Path(sys.executable)
    defs, units, empty = tmp / "definitions", tmp / "units", tmp / "empty"
    write_files(defs, n, DEFINITION, ".toml")
    empty.mkdir()

    def render_out(run: int) -> Path:
        return units if run == 0 else tmp / f"render-{run}"

    # Render outputs stay until the end: deleting thousands of files between runs slows inode
    # allocation for minutes on some file systems (ext4 without a journal) and skews the figures.
    def check_render(run: int) -> None:
        written = len(list(render_out(run).glob("*.service")))
        if written != n:
            raise BenchError(f"render wrote {written} unit files into {render_out(run)}, not {n}")

    base = [str(orchestrator)]

    def render(run: int) -> list[str]:
        return [*base, "render", str(defs), "--out", str(render_out(run))]

    def render_tmpfs(run: int) -> list[str]:
        return [*base, "render", str(defs), "--out", str(tmpfs / f"render-{run}")]

    def check_tmpfs(run: int) -> None:
        written = len(list((tmpfs / f"render-{run}").glob("*.service")))
        if written != n:
            raise BenchError(f"render wrote {written} unit files into the tmpfs, not {n}")

    startup = {
        "python -c pass": series(lambda _: [str(python), "-c", "pass"], 0, runs),
        "orchestrator --version": series(lambda _: [*base, "--version"], 0, runs),
    }
    commands = {  # render first: its warm-up run writes the units the no-change plan reads
        "render (into $TMPDIR)": series(render, 0, runs, check_render),
        "plan, no changes (exit 0)": series(
            lambda _: [*base, "plan", str(defs), "--unit-dir", str(units)], 0, runs
        ),
        "plan, all to create (exit 2)": series(
            lambda _: [*base, "plan", str(defs), "--unit-dir", str(empty)], 2, runs
        ),
    }
    if TMPFS.is_dir():
        with tempfile.TemporaryDirectory(prefix="bench-plan-", dir=TMPFS) as shm:
            tmpfs = Path(shm)
            commands["render (into a tmpfs)"] = series(render_tmpfs, 0, runs, check_tmpfs)
    quadlet: Stats | None = None
    if QUADLET.is_file():
        quadlet_dir = tmp / "quadlet"
        write_files(quadlet_dir, n, QUADLET_CONTAINER, ".container")
        env = {**os.environ, "QUADLET_UNIT_DIRS": str(quadlet_dir)}
        quadlet = series(lambda _: [str(QUADLET), "-dryrun"], 0, runs, env=env)
        reference = quadlet["median"]
        source = f"Quadlet measured here on {n} equivalent .container files"
    else:
        reference = BUDGET_SECONDS * n / BUDGET_N
        source = f"budget {BUDGET_SECONDS} s per {BUDGET_N} files (Quadlet) scaled to N={n}"
    for stats in commands.values():
        stats["per_definition_ms"] = stats["median"] / n * 1000
        stats["ratio"] = stats["median"] / reference
    return Result(
        n, runs, str(orchestrator), str(python), str(tmp), QUADLET.is_file(), quadlet, reference,
        source, startup, commands,
    )  # fmt: skip


def report(r: Result) -> None:
    print(f"N = {r.n} definitions, {r.runs} runs each after 1 warm-up, wall clock in seconds")
    print(f"orchestrator: {r.orchestrator}\npython: {r.python}\nfiles in: {r.tmpdir}")
    if not r.quadlet_present:
        print(f"Quadlet: not installed ({QUADLET} is absent; podman 4.3 predates Quadlet)")
    print(f"reference: {r.reference_seconds:.3f} s = {r.reference_source}\n")
    print(f"{'':30} {'median':>8} {'min':>8} {'max':>8}   {'per def':>9} {'vs ref':>7}")
    rows = {**r.startup, **r.commands, **({"quadlet -dryrun": r.quadlet} if r.quadlet else {})}
    for label, s in rows.items():
        line = f"{label:30} {s['median']:8.3f} {s['min']:8.3f} {s['max']:8.3f}"
        if "ratio" in s:
            verdict = "PASS" if s["ratio"] <= 1 else "OVER budget"
            line += f"   {s['per_definition_ms']:6.3f} ms {s['ratio']:6.2f}x  {verdict}"
        print(line)
    print("\n(per def = median / N; vs ref = median / reference; PASS when at most 1x)")
    if r.reference_seconds < r.startup["python -c pass"]["median"]:
        print("note: the scaled reference is below the bare interpreter start-up at this N")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1000, help="definitions (default 1000)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (default 7)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= 65535 - FIRST_PORT or args.runs < 1:
        parser.error(f"need 1 <= N <= {65535 - FIRST_PORT} and --runs >= 1")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
            result = benchmark(args.n, args.runs, Path(tmp))
    except BenchError as exc:
        print(f"bench_plan: FAILED: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(result), indent=2))
    else:
        report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
