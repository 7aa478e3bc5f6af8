"""The sandbox's own speed, as a user sees it: `orchestrator sandbox down` of a sandbox whose
container ignores SIGTERM, and `orchestrator sandbox run examples/offline --test-image` from
nothing to its report.

    python tests/benchmarks/bench_sandbox.py [--rounds 3] [--json]

As root, under the integration lock (scripts/bench takes it). Each figure is the wall clock of
the whole `orchestrator` process, run from the host as a user would run it (this checkout's code,
through PYTHONPATH), the median of --rounds rounds, checked:

  down: `sandbox up NAME --test-image`, an apply inside of one container whose PID 1 ignores
        SIGTERM (stop_timeout = 10: a graceful stop would take 10 s), then `sandbox down NAME`
        is timed; the sandbox must be gone and its container with it;
  run:  `sandbox run examples/offline --test-image --json` must report every unit up.

The issue's budgets: down under 1 s whatever the containers' stop timeouts, run under 4 s in all.
Each row is printed as ours against the budget (ratio = ours / budget, at most 1). Not a pytest
test: run it by hand, or through scripts/bench.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandboxed import ROOT, BenchError, load_average

REPO = Path(__file__).resolve().parents[2]
OFFLINE = REPO / "examples" / "offline"
NAME = "bench-sandbox"
IMAGE = "localhost/busybox:test"
# PID 1 ignores SIGTERM: only a SIGKILL (after the stop timeout, for a graceful stop) ends it
STUBBORN = (
    '[container.stubborn]\nimage = "localhost/busybox:test"\n'
    'command = ["sh", "-c", "trap \'\' TERM; while :; do sleep 1; done"]\n'
    "stop_timeout = 10\n"
)
BUDGETS = {"down": 1.0, "run": 4.0}  # seconds, the issue's


Completed = subprocess.CompletedProcess[str]


def orchestrator(*args: str, timeout: float = 300) -> tuple[float, Completed]:
    """One `orchestrator ARGS` process on the host, this checkout's code; (seconds, result)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "ORCHESTRATOR_SANDBOX_ROOT": ROOT}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )  # fmt: skip
    return time.monotonic() - start, done


def ok(what: str, done: Completed) -> str:
    if done.returncode != 0:
        raise BenchError(f"{what} exited {done.returncode}:\n{done.stdout[-3000:]}"
                         f"{done.stderr[-3000:]}")  # fmt: skip
    return done.stdout


def down_round(share: Path) -> float:
    ok("sandbox up", orchestrator("sandbox", "up", NAME, "--test-image")[1])
    defs = Path(ROOT) / NAME / "share" / "defs"
    defs.mkdir(parents=True, exist_ok=True)
    (defs / "stubborn.toml").write_text(STUBBORN, encoding="utf-8")
    inside = ["env", f"PYTHONPATH={REPO}", sys.executable, "-m", "orchestrator", "apply",
              str(defs), "--json"]  # fmt: skip
    report = json.loads(ok("apply inside", orchestrator("sandbox", "exec", NAME, "--", *inside)[1]))
    if report.get("ok") is not True:
        raise BenchError(f"apply of the stubborn container: {json.dumps(report)[:3000]}")
    seconds, done = orchestrator("sandbox", "down", NAME)
    ok("sandbox down", done)
    if (Path(ROOT) / NAME).exists():
        raise BenchError(f"sandbox down left {Path(ROOT) / NAME}")
    return seconds


def run_round() -> float:
    seconds, done = orchestrator("sandbox", "run", str(OFFLINE), "--test-image", "--json",
                                 "--name", NAME)  # fmt: skip
    report = json.loads(ok("sandbox run", done))
    if report.get("ok") is not True:
        raise BenchError(f"sandbox run examples/offline: not all up: {json.dumps(report)[:3000]}")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--json", action="store_true", help="print each row as a JSON line")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_sandbox: needs root (it boots sandboxes)", file=sys.stderr)
        return 1
    runs: dict[str, list[float]] = {"down": [], "run": []}
    load_before = load_average()
    try:
        for number in range(1, args.rounds + 1):
            runs["down"].append(down_round(Path(ROOT)))
            runs["run"].append(run_round())
            print(f"  round {number}: sandbox down {runs['down'][-1]:.2f} s, sandbox run "
                  f"{runs['run'][-1]:.2f} s", file=sys.stderr, flush=True)  # fmt: skip
    except BenchError as exc:
        print(f"bench_sandbox: FAILED: {exc}", file=sys.stderr)
        orchestrator("sandbox", "down", NAME)
        return 1
    load = f"{load_before} -> {load_average()}"
    works = {
        "down": "`sandbox down` of a sandbox whose container ignores SIGTERM (stop_timeout 10)",
        "run": "`sandbox run examples/offline --test-image`, boot to report",
    }
    for key, work in works.items():
        ours = statistics.median(runs[key])
        row: dict[str, Any] = {
            "work": work, "ours": ours, "reference": BUDGETS[key], "reference_tool": "budget",
            "ratio": ours / BUDGETS[key], "target": 1.0, "runs": len(runs[key]), "load": load,
            "all": runs[key],
        }  # fmt: skip
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(f"{work:<80} {ours:6.2f} s (budget {BUDGETS[key]:g} s)  load {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
