"""End to end: API calls, download latency and idle slots of a 200-job run, beside a naive client.

The simulator runs with a concurrency ceiling of 16 (stated in its 429s), jobs of 20 to
40 simulated seconds, and a time scale chosen so each run takes about a minute. Both
clients run the same manifest against a fresh simulator, one after the other, with
`--concurrency 32` (above the ceiling):

- batchgen: the real runner (job-list polling, get-bulk URLs, adaptive concurrency);
- naive: the same runner polling each job with its own GET every 5 simulated seconds and
  asking for each asset alone, the pattern of the official SDK's examples.

Figures, all from the simulator's side:
- API calls per job, downloads not counted: every call to the API (generate, 429s,
  dry runs, job list, job GETs, model) except asset-URL look-ups and CDN downloads,
  divided by the jobs; the asset-URL look-ups are shown beside it;
- 429 share: generate calls answered 429;
- success to download: median simulated seconds from a job's success on the server to
  the first byte request of its video;
- idle slots: share of slot time (ceiling x time) left unused while jobs still waited
  to be submitted (from the first submission to the last);
- makespan against the ideal: simulated seconds from the first job's creation to the
  last job's end, beside the least any client could take with the durations the
  simulator drew, max(longest job, sum of durations / min(ceiling, concurrency)) (a
  lower bound of list scheduling), and their ratio.

    python benchmarks/bench_e2e.py [--jobs 200] [--ceiling 16] [--scale 7] [--json]

Exits 1 when batchgen misses a target (calls/job <= 1.5, median < 2 s, idle < 3 %,
429 share < 5 %).
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import (KEY, SECRET, add_simulated_batch, command_line,  # noqa: E402
                      ideal_makespan, makespan, simulated_client)
from batchgen.run.polling.single import PerJobPoller  # noqa: E402
from batchgen.run.runner import RunOptions, run_batch  # noqa: E402
from batchgen.simulator import Simulator  # noqa: E402
from batchgen.run.submit import SubmitTiming  # noqa: E402
from batchgen.manifest.load import load_batch  # noqa: E402

DOWNLOAD_ROUTES = ("POST /assets/get-bulk", "GET /assets/{asset_id}")
TARGETS = {"calls_per_job": 1.5, "median_download_s": 2.0, "idle_pct": 3.0, "rate_limited_pct": 5.0}


@dataclass
class Figures:
    client: str
    jobs: int
    wall_s: float
    calls_per_job: float
    asset_calls_per_job: float
    rate_limited_pct: float
    median_download_s: float
    idle_pct: float
    makespan_s: float
    ideal_s: float
    makespan_ratio: float
    list_calls: int
    job_gets: int
    exit_code: int


def manifest(folder: Path, jobs: int) -> Path:
    """A manifest of `jobs` jobs: 20 prompts (or fewer) with enough samples each."""
    prompts = min(20, jobs)
    samples = -(-jobs // prompts)
    lines = ["version: 1", "name: bench-e2e", "output: out", f"samples: {samples}", "prompts:"]
    lines += [f"  - A lighthouse in a storm, shot {i}" for i in range(prompts)]
    path = folder / "bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def idle_share(sim: Simulator, ceiling: int) -> float:
    """Unused slot time while jobs waited: from the first creation to the last."""
    timings = sim.timings()
    first, last = min(t.created for t in timings), max(t.created for t in timings)
    if last <= first:
        return 0.0
    edges = sorted([(t.created, 1) for t in timings] + [(t.finished, -1) for t in timings])
    busy, running, previous = 0.0, 0, first
    for moment, delta in edges:
        moment = min(moment, last)
        busy += min(running, ceiling) * (moment - previous)
        previous = moment
        if moment >= last:
            break
        running += delta
    return 1 - busy / (ceiling * (last - first))


async def run_client(kind: str, path: Path, *, jobs: int, ceiling: int, scale: float,
                     concurrency: int) -> Figures:
    sim = Simulator(api_key=KEY, api_secret=SECRET, ceiling=ceiling, duration_range=(20.0, 40.0),
                    time_scale=scale, retry_after=2.0, seed=7)
    batch = load_batch(path)
    assert len(batch.jobs) >= jobs
    batch.jobs = batch.jobs[:jobs]
    options = RunOptions(concurrency=concurrency, poll_interval=5.0 / scale, progress=False,
                         progress_stream=io.StringIO(), output=path.parent / f"out-{kind}",
                         max_cu=10**9,  # the estimate (dry runs) is part of every capped run
                         submit=SubmitTiming(rate_limit_wait=1.0 / scale, recovery_wait=150 / scale,
                                             recovery_interval=2.0 / scale))
    if kind == "naive":
        options.poller = lambda client: PerJobPoller(client, interval=5.0 / scale)
    started = time.perf_counter()
    async with simulated_client(sim) as client:
        summary = await run_batch(batch, client, options=options)
    wall = time.perf_counter() - started
    calls = sim.counters.calls
    api_calls = sum(n for route, n in calls.items() if not route.startswith("GET /cdn"))
    asset_calls = sum(calls[r] for r in DOWNLOAD_ROUTES)
    generated = sum(sim.counters.generate_calls.values())
    delays = [(t.first_download - t.finished) * scale for t in sim.timings()
              if t.first_download is not None]
    span, ideal = makespan(sim, scale), ideal_makespan(sim, concurrency)
    return Figures(
        client=kind, jobs=jobs, wall_s=round(wall, 1),
        calls_per_job=round((api_calls - asset_calls) / jobs, 3),
        asset_calls_per_job=round(asset_calls / jobs, 3),
        rate_limited_pct=round(100 * sim.counters.rate_limited / max(1, generated), 2),
        median_download_s=round(statistics.median(delays), 2) if delays else float("nan"),
        idle_pct=round(100 * idle_share(sim, ceiling), 2),
        makespan_s=round(span, 1), ideal_s=round(ideal, 1), makespan_ratio=round(span / ideal, 3),
        list_calls=calls["GET /jobs"], job_gets=calls["GET /jobs/{job_id}"],
        exit_code=summary.exit_code)


def table(rows: list[Figures]) -> str:
    header = ("client", "jobs", "wall s", "API calls/job (no downloads)", "asset-URL calls/job",
              "429 share %", "success->download median (sim s)", "idle slots %",
              "makespan (sim s)", "ideal (sim s)", "makespan/ideal", "job-list calls", "job GETs")
    lines = [header] + [(r.client, str(r.jobs), f"{r.wall_s:.1f}", f"{r.calls_per_job:.2f}",
                         f"{r.asset_calls_per_job:.2f}", f"{r.rate_limited_pct:.1f}",
                         f"{r.median_download_s:.2f}", f"{r.idle_pct:.2f}", f"{r.makespan_s:.1f}",
                         f"{r.ideal_s:.1f}", f"{r.makespan_ratio:.3f}", str(r.list_calls),
                         str(r.job_gets)) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def misses(row: Figures) -> list[str]:
    found = []
    for name, limit in TARGETS.items():
        value = getattr(row, name)
        if not value < limit and not (name == "calls_per_job" and value == limit):
            found.append(f"{name} {value} (target {'<=' if name == 'calls_per_job' else '<'} {limit})")
    if row.exit_code != 0:
        found.append(f"the run exited {row.exit_code}")
    return found


def main() -> int:
    parser = command_line(__doc__)
    add_simulated_batch(parser, jobs=200, ceiling=16, scale=7.0, per_run="about a minute per run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--only", choices=("batchgen", "naive"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        path = manifest(Path(tmp), args.jobs)
        for kind in ("batchgen", "naive"):
            if args.only and kind != args.only:
                continue
            rows.append(anyio.run(lambda: run_client(kind, path, jobs=args.jobs,
                                                     ceiling=args.ceiling, scale=args.scale,
                                                     concurrency=args.concurrency)))
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print(f"{args.jobs} jobs, simulator ceiling {args.ceiling}, job durations 20-40 s, "
              f"time scale {args.scale:g}, --concurrency {args.concurrency}")
        print(table(rows))
    problems = [f"{r.client}: {m}" for r in rows if r.client == "batchgen" for m in misses(r)]
    for problem in problems:
        print(f"MISSED {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
