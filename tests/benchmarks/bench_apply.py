"""Wall-clock benchmark of `orchestrator apply` on N containers, in one throw-away sandbox.

    python tests/benchmarks/bench_apply.py [--sizes 10,50] [--repeat 7] [--change-repeat 5]
                                           [--keep] [--json]

As root. Boots ONE sandbox (name bench-apply, state under /var/lib/orchestrator-sandboxes-bench),
imports the busybox test image into it and, for each N of --sizes, runs `orchestrator apply DIR
--json` inside it as an operator would, timed from the host as a whole process:

  1. create: N new containers from nothing, until all are active (apply returns once every
     started unit has stayed active for its settle time, which is included);
  2. no-op: the same N declared again, 1 warm-up + --repeat runs (the issue: well under 1 s);
  3. one change: the environment of one container changes, --change-repeat runs; the JSON must
     show exactly that one unit restarted;
  4. references, same sandbox, same N: `systemctl show -p ActiveState` of the N units in one call,
     `systemctl daemon-reload` alone, the orchestrator's start-up and nsenter's own cost;
  5. remove: apply of an empty directory, so the next N starts clean.

Every apply must exit 0 with "ok": true, or the benchmark stops and prints its output. The
sandbox is destroyed at the end (also on Ctrl-C or SIGTERM) unless --keep. Not a pytest test (no
test_ prefix): run it by hand. Exit 1 if something misbehaves.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sandboxed
from sandboxed import BenchError, load_average

from orchestrator.apply import SETTLE_SECONDS
from orchestrator.sandbox.machine import Sandbox
from orchestrator.sandbox.testimage import DEFAULT_REF

NAME = "bench-apply"
REPO = Path(__file__).resolve().parents[2]
IMAGE = DEFAULT_REF
# PID 1 of each container is a shell that exits on SIGTERM: a stop takes no stop timeout.
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait; done"]
NOOP_BUDGET = 1.0  # seconds: the issue says a no-op apply should take well under a second
APPLY_TIMEOUT = 600  # seconds for one apply process, from the host

Stats = dict[str, float]


def stats(values: Sequence[float]) -> Stats:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
    }


@dataclass
class Row:
    label: str
    n: int
    wall: Stats  # host wall clock of the whole process, seconds
    reported: Stats | None = None  # apply's own "seconds" field, when it is an apply
    note: str = ""


@dataclass
class Result:
    sizes: list[int]
    repeat: int
    change_repeat: int
    settle_seconds: float
    python: str
    versions: dict[str, str]
    boot_seconds: float
    image_seconds: float
    load_before: str
    load_after: str = ""
    rows: list[Row] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)  # "noop/reload N=50" -> x


def definition(index: int, value: str | None = None) -> str:
    lines = [
        f"[container.c{index}]",
        f'image = "{IMAGE}"',
        f"command = {json.dumps(COMMAND)}",
        "stop_timeout = 1",
    ]
    if value is not None:
        lines.append(f'environment = {{ V = "{value}" }}')
    return "\n".join(lines) + "\n"


def condensed(data: dict[str, Any]) -> str:
    """apply's JSON without the plan's diffs, a line per unit, then the journal of each unit
    that has one (apply attaches it to the failures)."""
    units: list[dict[str, Any]] = data.get("units") or []
    plan = {k: v for k, v in (data.get("plan") or {}).items() if k != "units"}
    lines = [json.dumps({k: v for k, v in data.items() if k not in ("plan", "units")})]
    lines.append(f"plan: {json.dumps(plan)}")
    lines += [json.dumps({k: v for k, v in u.items() if k != "journal"}) for u in units]
    lines += [f"--- journal of {u['unit']} ---\n{u['journal']}" for u in units if u.get("journal")]
    return "\n".join(lines)


class Bench:
    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.defs = box.share / "defs"
        self.empty = box.share / "empty"

    # ----- definitions ---------------------------------------------------------------------
    def declare(self, n: int) -> None:
        """Make the definitions directory hold exactly c1.toml .. cN.toml."""
        if self.defs.exists():
            shutil.rmtree(self.defs)
        self.defs.mkdir(parents=True)
        for index in range(1, n + 1):
            (self.defs / f"c{index}.toml").write_text(definition(index), encoding="utf-8")
        self.empty.mkdir(parents=True, exist_ok=True)

    # ----- inside the sandbox --------------------------------------------------------------
    def inside(
        self, argv: list[str], timeout: float = 120
    ) -> tuple[float, subprocess.CompletedProcess[str]]:
        start = time.monotonic()
        proc = self.box.run(argv, check=False, timeout=timeout)
        return time.monotonic() - start, proc

    def apply(self, directory: Path, what: str) -> tuple[float, dict[str, Any]]:
        """One `orchestrator apply DIR --json` inside the sandbox: (host seconds, its JSON)."""
        argv = [
            "env",
            f"PYTHONPATH={REPO}",  # this checkout's orchestrator, whatever is installed
            sys.executable,
            "-m",
            "orchestrator",
            "apply",
            str(directory),
            "--json",
            "--allow-empty",
        ]
        seconds, proc = self.inside(argv, timeout=APPLY_TIMEOUT)
        try:
            data: dict[str, Any] = json.loads(proc.stdout)
        except ValueError:
            data = {}
        if proc.returncode != 0 or data.get("ok") is not True:
            stdout = proc.stdout
            if data:
                stdout = "(its JSON, condensed: plan diffs left out, a line per unit)\n"
                stdout += condensed(data)
            raise BenchError(
                f"apply ({what}) exited {proc.returncode}, ok={data.get('ok')!r} after "
                f"{seconds:.2f} s\n--- stdout ---\n{stdout}\n--- stderr ---\n{proc.stderr}"
            )
        return seconds, data

    def ok_inside(self, argv: list[str]) -> tuple[float, str]:
        seconds, proc = self.inside(argv)
        if proc.returncode != 0:
            raise BenchError(
                f"{' '.join(argv[:3])} ... exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
                + self.failed_units_journal()
            )
        return seconds, proc.stdout

    def failed_units_journal(self) -> str:
        """The journal's last words on the failed units, to tell a benchmark's flake from ours."""
        _, failed = self.inside(["systemctl", "list-units", "--failed", "--plain", "--no-legend"])
        units = [line.split()[0] for line in failed.stdout.splitlines() if line.strip()][:3]
        if not units:
            return ""
        args = [arg for unit in units for arg in ("-u", unit)]
        _, log = self.inside(["journalctl", "--no-pager", "-n", "40", "-o", "cat", *args])
        return f"\njournal of {', '.join(units)}:\n{log.stdout}"

    # ----- the scenarios -------------------------------------------------------------------
    def create(self, n: int) -> Row:
        self.declare(n)
        wall, data = self.apply(self.defs, f"create {n}")
        units = {u["unit"]: u for u in data["units"]}
        expected = {f"c{i}.service" for i in range(1, n + 1)}
        if set(units) != expected:
            raise BenchError(f"create {n}: the JSON lists {sorted(units)}, not c1..c{n}")
        bad = [
            name
            for name, u in units.items()
            if u["change"] != "create" or "start" not in u["done"] or u["active"] != "active"
        ]
        if bad:
            raise BenchError(
                f"create {n}: not created, started and active: {bad}\n{condensed(data)}"
            )
        return Row(
            f"create {n} from nothing", n, stats([wall]), stats([data["seconds"]]),
            f"until all active, settle {SETTLE_SECONDS:g} s included",
        )  # fmt: skip

    def noop(self, n: int, repeat: int) -> Row:
        walls, reported = [], []
        for run in range(repeat + 1):  # run 0 warms up and is not counted
            wall, data = self.apply(self.defs, f"no-op {n}, run {run}")
            busy = [u["unit"] for u in data["units"] if u["done"] or u["change"] != "unchanged"]
            if data["changed"] or data["reloaded"] or data["wrote"] or busy:
                raise BenchError(f"no-op {n}: apply did something: {busy}\n{condensed(data)}")
            if len(data["units"]) != n or any(u["active"] != "active" for u in data["units"]):
                raise BenchError(f"no-op {n}: not all {n} units active\n{condensed(data)}")
            if run:
                walls.append(wall)
                reported.append(data["seconds"])
        return Row(
            f"no-op, {n} declared", n, stats(walls), stats(reported), "1 warm-up not counted"
        )

    def change_one(self, n: int, repeat: int) -> Row:
        walls, reported = [], []
        target = "c1.service"
        for run in range(1, repeat + 1):
            (self.defs / "c1.toml").write_text(definition(1, str(run)), encoding="utf-8")
            wall, data = self.apply(self.defs, f"change one of {n}, run {run}")
            restarted = [u["unit"] for u in data["units"] if "restart" in u["done"]]
            touched = {u["unit"]: u["done"] for u in data["units"] if u["done"]}
            if restarted != [target]:
                raise BenchError(
                    f"change one of {n}, run {run}: restarted {restarted}, expected exactly "
                    f"[{target!r}]; units acted on: {touched}\n{condensed(data)}"
                )
            if any(u["active"] != "active" for u in data["units"]):
                raise BenchError(f"change one of {n}: not all units active\n{condensed(data)}")
            walls.append(wall)
            reported.append(data["seconds"])
        return Row(
            f"one changed, {n} declared", n, stats(walls), stats(reported),
            f"exactly 1 restart checked, settle {SETTLE_SECONDS:g} s included",
        )  # fmt: skip

    def references(self, n: int, repeat: int) -> list[Row]:
        names = [f"c{i}.service" for i in range(1, n + 1)]

        def series(argv: list[str]) -> tuple[Stats, str]:
            times, out = [], ""
            for run in range(repeat + 1):
                seconds, out = self.ok_inside(argv)
                if run:
                    times.append(seconds)
            return stats(times), out

        show, out = series(["systemctl", "show", "-p", "ActiveState", *names])
        active = out.split().count("ActiveState=active")
        if active != n:
            raise BenchError(f"systemctl show: {active} of {n} units active:\n{out}")
        reload, _ = series(["systemctl", "daemon-reload"])
        start_up, _ = series([sys.executable, "-m", "orchestrator", "--version"])
        nsenter, _ = series(["true"])
        return [
            Row(f"ref: systemctl show -p ActiveState, {n} units", n, show, None, "one call"),
            Row("ref: systemctl daemon-reload", n, reload, None, f"{n} units loaded"),
            Row("ref: orchestrator --version", n, start_up, None, "interpreter start-up"),
            Row("ref: nsenter ... true", n, nsenter, None, "cost of entering the sandbox"),
        ]

    def remove_all(self, n: int) -> Row:
        wall, data = self.apply(self.empty, f"remove {n}")
        if len(data["removed"]) != n:
            raise BenchError(f"remove {n}: removed {data['removed']}\n{condensed(data)}")
        _, left = self.ok_inside(["podman", "ps", "-a", "--format", "{{.Names}}"])
        if left.strip():
            raise BenchError(f"remove {n}: containers left behind: {left.split()}")
        return Row(
            f"remove {n} (apply of an empty dir)", n, stats([wall]), stats([data["seconds"]]),
            "stop, disable, delete, reload",
        )  # fmt: skip


def run_all(box: Sandbox, sizes: list[int], repeat: int, change_repeat: int) -> Result:
    def inside_text(argv: list[str]) -> str:
        proc = box.run(argv, check=False)
        return (proc.stdout.splitlines() or ["?"])[0].strip()

    load_before = load_average()
    print(f"booting sandbox {NAME} in {box.root} ...", flush=True)
    boot = box.boot()
    start = time.monotonic()
    box.import_test_image(IMAGE)
    image = time.monotonic() - start
    print(f"  booted in {boot:.2f} s, {IMAGE} imported in {image:.2f} s", flush=True)
    result = Result(
        sizes, repeat, change_repeat, SETTLE_SECONDS, sys.executable,
        {
            "systemd": inside_text(["systemctl", "--version"]),
            "podman": inside_text(["podman", "--version"]),
        },
        boot, image, load_before,
    )  # fmt: skip
    bench = Bench(box)

    def add(row: Row) -> Row:
        result.rows.append(row)
        line = f"  {row.label:<44} {row.wall['median']:7.3f} s"
        if row.wall["runs"] > 1:
            line += f" (median of {row.wall['runs']:g})"
        if row.reported is not None:
            line += f"   apply's own: {row.reported['median']:.3f} s"
        print(line, flush=True)
        return row

    for n in sizes:
        print(f"N = {n}", flush=True)
        add(bench.create(n))
        noop = add(bench.noop(n, repeat))
        add(bench.change_one(n, change_repeat))
        refs = [add(row) for row in bench.references(n, repeat)]
        add(bench.remove_all(n))
        reload = refs[1].wall["median"]
        result.ratios[f"no-op apply / daemon-reload, N={n}"] = noop.wall["median"] / reload
        result.ratios[f"no-op apply / systemctl show, N={n}"] = (
            noop.wall["median"] / refs[0].wall["median"]
        )
    result.load_after = load_average()
    return result


def report(r: Result) -> None:
    print()
    print(f"orchestrator apply, run inside one sandbox; {r.versions['systemd']}; "
          f"{r.versions['podman']}")  # fmt: skip
    print(f"python: {r.python}; host load average before: {r.load_before}, after: {r.load_after}")
    print(f"sandbox boot {r.boot_seconds:.2f} s, test image import {r.image_seconds:.2f} s")
    print("wall = host wall clock of the whole process (nsenter + interpreter start-up + apply);")
    print(f"apply = the \"seconds\" field of apply's JSON. A start or restart includes apply's "
          f"{r.settle_seconds:g} s settle")  # fmt: skip
    print("(every started unit must stay active that long before apply returns).\n")
    head = f"{'scenario':<44} {'runs':>4} {'median':>8} {'min':>8} {'max':>8} {'apply':>8}  note"
    print(head)
    print("-" * len(head))
    for n in r.sizes:
        for row in (x for x in r.rows if x.n == n):
            w = row.wall
            apply = f"{row.reported['median']:8.3f}" if row.reported else f"{'-':>8}"
            print(f"{row.label:<44} {w['runs']:4g} {w['median']:8.3f} {w['min']:8.3f} "
                  f"{w['max']:8.3f} {apply}  {row.note}")  # fmt: skip
        print()
    for label, ratio in r.ratios.items():
        print(f"{label:<44} {ratio:6.2f}x")
    for row in r.rows:
        if row.label.startswith("no-op"):
            verdict = "PASS" if row.wall["median"] < NOOP_BUDGET else "OVER"
            print(f"no-op apply, N={row.n}: median {row.wall['median']:.3f} s vs budget "
                  f"{NOOP_BUDGET:g} s: {verdict}")  # fmt: skip


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 10,50, got {text!r}") from None
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"expected positive numbers like 10,50, got {text!r}")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", type=parse_sizes, default=[10, 50], help="numbers of containers (default 10,50)"
    )
    parser.add_argument(
        "--repeat", type=int, default=7, help="timed no-op applies and reference runs (default 7)"
    )
    parser.add_argument(
        "--change-repeat", type=int, default=5, help="timed one-change applies (default 5)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.change_repeat < 1:
        parser.error("--repeat and --change-repeat must be at least 1")

    def work(box: Sandbox) -> None:
        result = run_all(box, args.sizes, args.repeat, args.change_repeat)
        report(result)
        if args.json:
            print(json.dumps(asdict(result), indent=2))

    return sandboxed.run("bench_apply", NAME, args.keep, work)


if __name__ == "__main__":
    sys.exit(main())
