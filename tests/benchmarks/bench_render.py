"""Head to head: `orchestrator render` vs Podman 5.4.2's Quadlet generator, on N equivalent
definitions, both writing into a tmpfs as a systemd generator does, in one run.

    python tests/benchmarks/bench_render.py [--sizes 10,30,100,1000] [--runs 7] [--json]

Quadlet comes from ../shared/tools/fetch-quadlet (or --quadlet PATH); without it the benchmark
says so and exits 1. For each N, the two tools run alternately (ours, Quadlet, ours, ...) after
one warm-up each, so that the load of a shared machine falls on both alike; the medians and their
ratio are printed, with the load average before and after. The orchestrator run is this
checkout's (PYTHONPATH), as a whole process: start-up included, as a generator's would be.
Not a pytest test (no test_ prefix): run it by hand, or through scripts/bench.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench_plan import DEFINITION, QUADLET_CONTAINER, REPO, BenchError, timed, write_files

FETCH_QUADLET = REPO.parent / "shared" / "tools" / "fetch-quadlet"
TMPFS = Path("/dev/shm")
TARGET = 1.0  # the issue: at most Quadlet's time


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def find_quadlet(given: str | None) -> Path:
    if given:
        return Path(given)
    try:
        found = subprocess.run([str(FETCH_QUADLET)], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BenchError(f"no Quadlet: {FETCH_QUADLET} failed ({exc}); pass --quadlet") from None
    return Path(found.stdout.strip())


def cpu_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process: CPU time (user + system) depends less on what
    else the machine runs than wall clock does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed(cmd, 0, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(n: int, runs: int, quadlet: Path, tmp: Path) -> dict[str, object]:
    """Medians of ours and Quadlet's on n definitions, run alternately."""
    defs, quadlets = tmp / f"defs-{n}", tmp / f"quadlet-{n}"
    write_files(defs, n, DEFINITION, ".toml")
    write_files(quadlets, n, QUADLET_CONTAINER, ".container")
    # An installed orchestrator runs from compiled .pyc files; with PYTHONDONTWRITEBYTECODE set
    # (as in some shells and CI jobs) the warm-up would write none, and every timed run would
    # compile each module again, measuring the compiler rather than orchestrator.
    ours_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    ours_env["PYTHONPATH"] = str(REPO)
    quadlet_env = {**os.environ, "QUADLET_UNIT_DIRS": str(quadlets)}
    times: dict[str, list[float]] = {"ours": [], "quadlet": [], "ours_cpu": [], "quadlet_cpu": []}
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-render-", dir=TMPFS) as shm:
        for run in range(runs + 1):  # run 0 warms up (page cache, .pyc files): not counted
            out = Path(shm) / f"ours-{run}"
            ours = [sys.executable, "-m", "orchestrator", "render", str(defs), "--out", str(out)]
            mine, mine_cpu = cpu_timed(ours, ours_env)
            generated = Path(shm) / f"quadlet-{run}"
            generated.mkdir()
            theirs, theirs_cpu = cpu_timed(
                [str(quadlet), "-no-kmsg-log", str(generated)], quadlet_env
            )
            for label, directory in (("orchestrator", out), ("Quadlet", generated)):
                written = len(list(directory.glob("*.service")))
                if written != n:
                    raise BenchError(f"{label} wrote {written} units for {n} definitions")
            if run:
                for key, value in (("ours", mine), ("quadlet", theirs), ("ours_cpu", mine_cpu),
                                   ("quadlet_cpu", theirs_cpu)):  # fmt: skip
                    times[key].append(value)
    ours_median = statistics.median(times["ours"])
    quadlet_median = statistics.median(times["quadlet"])
    cpu_ratio = statistics.median(times["ours_cpu"]) / statistics.median(times["quadlet_cpu"])
    return {
        "work": f"render {n} container definitions into a tmpfs",
        "n": n,
        "ours": ours_median,
        "reference": quadlet_median,
        "reference_tool": "Quadlet 5.4.2 generator",
        "ratio": ours_median / quadlet_median,
        "cpu_ratio": cpu_ratio,  # of the median CPU times (user + system)
        "target": TARGET,
        "runs": runs,
        "all": times,
        "load": f"{load_before} -> {load_average()}",
    }


def parse_sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or any(not 1 <= n <= 50000 for n in sizes):
        raise argparse.ArgumentTypeError(f"expected sizes like 10,100,1000, got {text!r}")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[10, 30, 100, 1000])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each (default 7)")
    parser.add_argument("--quadlet", help="the quadlet binary (default: fetch-quadlet's)")
    parser.add_argument("--json", action="store_true", help="print each row as a JSON line")
    args = parser.parse_args(argv)
    try:
        quadlet = find_quadlet(args.quadlet)
        with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
            for n in args.sizes:
                show(compare(n, args.runs, quadlet, Path(tmp)), args.json)
    except BenchError as exc:
        print(f"bench_render: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


def show(row: dict[str, object], as_json: bool) -> None:
    """A row as soon as it is measured: a JSON line, or a line for people."""
    if as_json:
        print(json.dumps(row), flush=True)
    else:
        print(f"{row['work']:<50} ours {row['ours']:.3f} s  Quadlet {row['reference']:.3f} s  "
              f"ratio {row['ratio']:.2f} (target <= {TARGET:g})  CPU ratio {row['cpu_ratio']:.2f}  "
              f"load {row['load']}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
