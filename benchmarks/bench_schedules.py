"""Thousands of seeded schedules (tests/schedulekit.py) checked against I1-I6.

    python benchmarks/bench_schedules.py                      # 5,000 schedules, seeds 0-4999
    python benchmarks/bench_schedules.py --schedules 500 --first 10000 --workers 1

Each schedule is drawn from its seed alone (`Schedule.from_seed`): faults, crashes at
random ledger appends (about 2 % of them real SIGKILLs of `batchgen run` subprocesses),
manifest edits, shards side by side, budgets. Prints the count, the violations (each
with the line that replays its schedule, and how many broke each of I1-I6), the wall
and CPU time and the load average the run saw; exits 1 if any
schedule broke an invariant.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import schedulekit  # noqa: E402  (the harness lives with the tests that use it)


def play(seed: int) -> schedulekit.Outcome:
    return schedulekit.run_schedule(schedulekit.Schedule.from_seed(seed))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=5000)
    parser.add_argument("--first", type=int, default=0, help="the first seed")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes playing schedules (one per CPU)")
    args = parser.parse_args()
    seeds = range(args.first, args.first + args.schedules)
    start = time.perf_counter()
    tally: Counter = Counter()
    seconds, broken = [], []
    with multiprocessing.Pool(args.workers) if args.workers > 1 else _Serial() as pool:
        for done, outcome in enumerate(pool.imap_unordered(play, seeds, chunksize=4), 1):
            seconds.append(outcome.seconds)
            tally.update(runs=outcome.runs, crashes=outcome.crashes, kills=outcome.kills,
                         server_jobs=outcome.server_jobs, sigkill=outcome.schedule.sigkill,
                         sharded=outcome.schedule.shards > 0)
            if outcome.violations:
                broken.append(outcome)
                print(outcome.report(), flush=True)
            if done % 500 == 0:
                print(f"  {done} schedules, {len(broken)} broken, "
                      f"{time.perf_counter() - start:.0f} s", flush=True)
    wall = time.perf_counter() - start
    load = os.getloadavg()
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    seconds.sort()
    print(f"schedules: {len(seconds)} (seeds {seeds.start}-{seeds.stop - 1}), "
          f"{tally['sharded']} with shards side by side, {tally['sigkill']} with real SIGKILLs")
    print(f"runs: {tally['runs']}, in-process crashes: {tally['crashes']}, "
          f"SIGKILLs: {tally['kills']}, generations on the server: {tally['server_jobs']}")
    per = Counter(m.group(1) for o in broken for v in o.violations
                  if (m := re.search(r": (I[1-6]) ", v)))
    print(f"violations: {sum(len(o.violations) for o in broken)} in {len(broken)} schedules ("
          + ", ".join(f"I{i} {per[f'I{i}']}" for i in range(1, 7)) + ")")
    print(f"wall {wall:.0f} s, CPU {cpu:.0f} s, per schedule median {seconds[len(seconds) // 2]:.2f} s, "
          f"slowest {seconds[-1]:.1f} s")
    print(f"load average at the end: {load[0]:.2f} (1 min), {load[2]:.2f} (15 min) on "
          f"{os.cpu_count()} cores, {args.workers} worker(s)")
    return 1 if broken else 0


class _Serial:
    """The Pool interface, in this process."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap_unordered(self, fn, items, chunksize: int = 1):
        return map(fn, items)


if __name__ == "__main__":
    sys.exit(main())
