"""Head to head in one sandbox: bringing N containers up and taking them down with
`orchestrator apply` and with podman-compose, and the floor, a raw `systemctl start`/`stop` of
the same units at once.

    python tests/benchmarks/bench_compose.py [--sizes 10,30,100] [--repeat 3] [--keep] [--json]

As root, under the integration lock (scripts/bench takes it). Boots ONE sandbox (name
bench-compose), imports the busybox test image and, for each N and each of --repeat rounds, runs
inside it, timed from the host as whole processes:

  ours:    `orchestrator apply DIR` of N new containers (until every one has stayed up for the
           settle time), then `systemctl stop` and `systemctl start` of the N units at once (the
           floor), then `orchestrator apply EMPTY` (stop, disable, remove, reload);
  compose: `podman-compose up -d` of the same N services (same image and command), then
           `podman-compose down`.

The rounds alternate which tool goes first, so that a shared machine's load falls on both
alike; each figure is the median of the rounds, printed with the load average. Every step is
checked (apply's JSON ok and N units active; podman ps shows N containers, then none), or the
benchmark stops with the output. podman-compose is the one beside this interpreter (the bench
extra pins it). Not a pytest test: run it by hand, or through scripts/bench.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sandboxed
from bench_apply import COMMAND, IMAGE, Bench, parse_sizes
from sandboxed import BenchError, load_average

from orchestrator.apply import SETTLE_SECONDS
from orchestrator.sandbox.machine import Sandbox

NAME = "bench-compose"
COMPOSE = Path(sys.executable).parent / "podman-compose"
PROJECT = "bench"
TIMEOUT = 900  # seconds for one step of 100 containers on a loaded machine
TARGETS = {"up": 0.50, "down": 0.55, "floor": 1.3}  # the issue's


def compose_file(n: int) -> str:
    """The same N containers as bench_apply's definitions, as a compose file (JSON is YAML)."""
    services = {
        f"c{i}": {"image": IMAGE, "command": COMMAND, "stop_grace_period": "1s"}
        for i in range(1, n + 1)
    }
    return json.dumps({"services": services}, indent=1)


class Compose:
    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.file = bench.box.share / "compose.yaml"

    def running(self) -> list[str]:
        _, out = self.bench.ok_inside(["podman", "ps", "-a", "--format", "{{.Names}}"])
        return out.split()

    def step(self, verb: list[str], n: int) -> float:
        argv = [str(COMPOSE), "-p", PROJECT, "-f", str(self.file), *verb]
        seconds, proc = self.bench.inside(argv, timeout=TIMEOUT)
        if proc.returncode != 0:
            raise BenchError(f"podman-compose {verb[0]} exited {proc.returncode}:\n"
                             f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}")  # fmt: skip
        return seconds

    def up(self, n: int) -> float:
        self.file.write_text(compose_file(n), encoding="utf-8")
        seconds = self.step(["up", "-d"], n)
        up = [c for c in self.running() if c.startswith(f"{PROJECT}_c")]
        if len(up) != n:
            raise BenchError(f"podman-compose up -d: {len(up)} of {n} containers: {up[:5]}...")
        return seconds

    def down(self, n: int) -> float:
        seconds = self.step(["down"], n)
        left = self.running()
        if left:
            raise BenchError(f"podman-compose down left containers: {left[:5]}...")
        return seconds


def compose_round(bench: Bench, compose: Compose, n: int) -> dict[str, float]:
    return {"compose up": compose.up(n), "compose down": compose.down(n)}


def ours_round(bench: Bench, compose: Compose, n: int) -> dict[str, float]:
    """apply up, the raw stop and start floor on the same units, apply down."""
    bench.declare(n)
    times = {"up": bench.create(n).wall["median"]}
    names = [f"c{i}.service" for i in range(1, n + 1)]
    times["raw stop"], _ = bench.ok_inside(["systemctl", "stop", *names])
    times["raw start"], _ = bench.ok_inside(["systemctl", "start", *names])
    _, out = bench.ok_inside(["systemctl", "show", "-p", "Id,ActiveState", *names])
    down = [b.split()[0] for b in out.strip().split("\n\n") if "ActiveState=active" not in b]
    if down:
        # the raw start, not apply: podman 4.3.1's flake (a container that dies right after its
        # start, exit 0, no kill of podman's in the events; or a start failing on its storage)
        log = bench.failed_units_journal()
        bench.remove_all(n)
        raise Flaked(f"after the raw systemctl start, not active: {' '.join(down)}{log}")
    times["down"] = bench.remove_all(n).wall["median"]
    return times


class Flaked(BenchError):
    """A round cut short by the machine, not by either tool: it is run again."""


def attempt(step: Callable[[Bench, Compose, int], dict[str, float]], bench: Bench,
            compose: Compose, n: int) -> dict[str, float]:  # fmt: skip
    for _ in range(3):
        try:
            return step(bench, compose, n)
        except Flaked as exc:
            print(f"  N={n}: {exc}\n  (the round is run again)", flush=True)
    raise BenchError(f"N={n}: three rounds in a row cut short")


def measure(
    box: Sandbox, sizes: list[int], repeat: int, done: Callable[[list[dict[str, Any]]], None]
) -> None:
    """done(rows) after each N: what was measured is kept when a later N is cut short."""
    print(f"booting sandbox {NAME} ...", flush=True)
    box.boot()
    box.import_test_image(IMAGE)
    bench = Bench(box)
    compose = Compose(bench)
    for n in sizes:
        runs: dict[str, list[float]] = {}
        load_before = load_average()
        for round_ in range(repeat):
            steps = [ours_round, compose_round]
            for step in steps if round_ % 2 == 0 else reversed(steps):
                for label, seconds in attempt(step, bench, compose, n).items():
                    runs.setdefault(label, []).append(seconds)
            print(f"  N={n} round {round_ + 1}: " + ", ".join(
                f"{k} {v[-1]:.2f}" for k, v in runs.items()), flush=True)  # fmt: skip
        done(rows_for(n, {k: statistics.median(v) for k, v in runs.items()}, runs,
                      f"{load_before} -> {load_average()}"))  # fmt: skip


def rows_for(
    n: int, m: dict[str, float], runs: dict[str, list[float]], load: str
) -> list[dict[str, Any]]:
    floor_up = m["raw start"] + SETTLE_SECONDS

    def row(work: str, ours: float, ref: float, tool: str, target: float) -> dict[str, Any]:
        return {"work": work, "n": n, "ours": ours, "reference": ref, "reference_tool": tool,
                "ratio": ours / ref, "target": target, "runs": len(runs["up"]), "load": load,
                "all": runs}  # fmt: skip

    return [
        row(f"bring up {n} containers (apply vs podman-compose up -d)", m["up"],
            m["compose up"], "podman-compose 1.6.0", TARGETS["up"]),
        row(f"take the {n} down (apply of nothing vs podman-compose down)", m["down"],
            m["compose down"], "podman-compose 1.6.0", TARGETS["down"]),
        row(f"bring up {n}: apply vs raw systemctl start + {SETTLE_SECONDS:g} s settle",
            m["up"], floor_up, "systemctl start (+settle)", TARGETS["floor"]),
        row(f"take {n} down: apply vs raw systemctl stop", m["down"], m["raw stop"],
            "systemctl stop", TARGETS["floor"]),
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[10, 30, 100])
    parser.add_argument("--repeat", type=int, default=3, help="rounds per N (default 3)")
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running")
    parser.add_argument("--json", action="store_true", help="print each row as a JSON line")
    args = parser.parse_args(argv)
    if not COMPOSE.is_file():
        print(f"bench_compose: no {COMPOSE}: pip install -e '.[bench]'", file=sys.stderr)
        return 1

    def done(rows: list[dict[str, Any]]) -> None:
        for r in rows:
            if args.json:  # a line each, as soon as measured
                print(json.dumps(r), flush=True)
                continue
            print(f"{r['work']:<60} ours {r['ours']:6.2f} s  ref {r['reference']:6.2f} s  "
                  f"ratio {r['ratio']:.2f} (<= {r['target']:g})  load {r['load']}")  # fmt: skip

    def work(box: Sandbox) -> None:
        measure(box, args.sizes, args.repeat, done)

    return sandboxed.run("bench_compose", NAME, args.keep, work)


if __name__ == "__main__":
    sys.exit(main())
