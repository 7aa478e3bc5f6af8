"""python -m tests.hostile [--full] [--class NAME]... [--limit N]: run the corpus, print each
failing case and a count per class."""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.hostile.cases import CLASSES, all_cases
from tests.hostile.check import run_case, verify_batches


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hostile")
    parser.add_argument("--full", action="store_true", help="every hostile string, every value")
    parser.add_argument("--class", dest="classes", action="append", choices=sorted(CLASSES))
    parser.add_argument("--limit", type=int, default=0, help="at most N cases")
    parser.add_argument("--no-verify", action="store_true", help="skip systemd-analyze verify")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hostile-"))
    started = time.monotonic()
    outcomes = []
    try:
        for number, case in enumerate(all_cases(args.full, args.classes)):
            if args.limit and number >= args.limit:
                break
            outcome = run_case(case, workdir)
            outcomes.append(outcome)
            if outcome.failures:  # as they come: a long run shows its findings early
                print(f"FAIL [{case.klass}] {case.name}: {outcome.failures[0]}", flush=True)
        if not args.no_verify:
            verify_batches(outcomes, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    counts: collections.Counter[str] = collections.Counter()
    failed: collections.Counter[str] = collections.Counter()
    for outcome in outcomes:
        counts[outcome.case.klass] += 1
        if outcome.failures:
            failed[outcome.case.klass] += 1
            print(f"FAIL [{outcome.case.klass}] {outcome.case.name}")
            for failure in outcome.failures:
                print(f"    {failure}")
    for klass, count in counts.items():
        print(f"{klass}: {count} case(s), {failed[klass]} failing")
    print(f"{len(outcomes)} case(s) in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
