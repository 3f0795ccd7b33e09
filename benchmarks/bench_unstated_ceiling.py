"""A ceiling the API never states: does the limiter converge on it?

The simulator refuses generate calls past 8 jobs in flight and says nothing about the
limit: its 429s carry neither `details.actionLimit` nor Retry-After (`bare`), or only a
body `remainingSeconds` (`remaining`). No team id is given, so `GET /teams/{id}/limits`
is not read. A 100-job run (jobs of 20 to 40 simulated seconds, `--concurrency` left at
its default of 1000) must keep the 429 share of generate calls under 5 % and the jobs
in flight at or below 8 (issue 11, point 4).

    python benchmarks/bench_unstated_ceiling.py [--jobs 100] [--ceiling 8] [--scale 10]

Figures from the simulator's side: generate calls, 429s among them, their share, the
peak of jobs in flight, makespan against the ideal (max(longest job, sum of durations /
ceiling)). Exits 1 when a target is missed.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from benchkit import (KEY, SECRET, add_simulated_batch, command_line,  # noqa: E402
                      ideal_makespan, makespan, simulated_client)
from batchgen.run.runner import RunOptions, run_batch  # noqa: E402
from batchgen.run.submit import SubmitTiming  # noqa: E402
from batchgen.simulator import Simulator  # noqa: E402
from runkit import make_batch, make_job  # noqa: E402

TARGET_429_PCT = 5.0


async def one_run(style: str, jobs: int, ceiling: int, scale: float, folder: Path) -> dict:
    sim = Simulator(api_key=KEY, api_secret=SECRET, ceiling=ceiling, duration_range=(20.0, 40.0),
                    time_scale=scale, rate_limit_style=style, seed=11)
    batch = make_batch(folder / style, [make_job(f"a harbour at night, take {i}", duration="5s")
                                        for i in range(jobs)])
    options = RunOptions(poll_interval=5.0 / scale, progress=False, progress_stream=io.StringIO(),
                         submit=SubmitTiming(rate_limit_wait=2.0 / scale,
                                             rate_limit_max_wait=60.0 / scale,
                                             recovery_wait=150 / scale,
                                             recovery_interval=2.0 / scale))
    started = time.perf_counter()
    async with simulated_client(sim) as client:
        summary = await run_batch(batch, client, options=options)
    span, ideal = makespan(sim, scale), ideal_makespan(sim, options.concurrency)
    generated = sum(sim.counters.generate_calls.values())
    return {"style": style, "exit": summary.exit_code, "wall_s": time.perf_counter() - started,
            "generate_calls": generated, "rate_limited": sim.counters.rate_limited,
            "pct": 100 * sim.counters.rate_limited / max(1, generated),
            "peak": sim.peak_in_flight, "jobs_created": len(sim.jobs),
            "span": span, "ideal": ideal, "team_limit_calls":
                sim.counters.calls["GET /teams/{team_id}/limits"]}


def main() -> int:
    parser = command_line(__doc__)
    add_simulated_batch(parser, jobs=100, ceiling=8, scale=10.0, per_run="about 40 s per run")
    args = parser.parse_args()
    failed = []
    with tempfile.TemporaryDirectory(prefix="bench-ceiling-") as tmp:
        for style in ("bare", "remaining"):
            r = anyio.run(one_run, style, args.jobs, args.ceiling, args.scale, Path(tmp))
            print(f"unstated ceiling {args.ceiling} ({style} 429s), {args.jobs} jobs: "
                  f"{r['rate_limited']} of {r['generate_calls']} generate calls answered 429 "
                  f"({r['pct']:.1f} %), peak {r['peak']} in flight, {r['jobs_created']} jobs "
                  f"created, makespan {r['span']:.0f} sim s vs ideal {r['ideal']:.0f} "
                  f"({r['span'] / r['ideal']:.2f}x), {r['wall_s']:.1f} s wall, exit {r['exit']}")
            if not (r["pct"] < TARGET_429_PCT and r["peak"] <= args.ceiling and r["exit"] == 0
                    and r["jobs_created"] == args.jobs and r["team_limit_calls"] == 0):
                failed.append(style)
    if failed:
        print(f"missed a target (429 share < {TARGET_429_PCT} %, peak <= {args.ceiling}, one job "
              f"per key): {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
