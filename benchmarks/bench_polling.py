"""Polling beside the official SDK: makespan, API calls, 429s and download latency on four timelines.

Both clients run in the same invocation, one after the other, each in its own process,
against a fresh simulator served over loopback (in this process) with the documented
job-list rules:

- batchgen: `batchgen run MANIFEST --base-url URL --yes --no-progress`, no tuning flag;
- sdk: the official SDK (scenario-sdk 2.4.0, its `AsyncScenario`) used naively: a
  semaphore of as many jobs as the ceiling, `generate.run_model`, `jobs.retrieve` every
  simulated second, then `assets.retrieve` and the CDN download; a 429 the SDK's own
  retries do not absorb is waited out for a second and sent again.

Timelines (simulated seconds; every job waits 0.2 to 1.2 s before `in-progress`, drawn
independently of its duration, so no status starts at a fixed share of a job's life):
- `uniform`: 200 jobs of 2 to 4 s, ceiling 16 stated in the 429s;
- `unstated`: the same, the ceiling never stated (bare 429s);
- `spread`: 200 jobs of 2 to 20 s, ceiling 16;
- `stalls`: 200 jobs of 2 to 4 s that also stall in `queued` for 0 to 10 s, ceiling 16;
- `scale`: 5,000 jobs of 2 to 4 s at ceiling 200, at time scale 2.

Figures, from the simulator's side unless said:
- makespan / ideal: first creation to last end, beside the list-scheduling bound of the
  drawn job lives, max(longest, sum / ceiling) (`bench_e2e.ideal_makespan`);
- API calls per job: every call but CDN downloads (get-bulk, dry runs and 429s included);
- 429 share: generate calls answered 429;
- success to file: median seconds from a job's success on the server to its file on
  disk (the ledger's `file` event for batchgen, the file's write for the SDK);
- idle slots: unused share of ceiling x time while jobs still waited
  (`bench_e2e.idle_share`);
- client CPU ms per job and peak RSS (VmHWM) of the client's process.

    python benchmarks/bench_polling.py [--only uniform,spread] [--clients batchgen,sdk] [--json]

Exits 1 when batchgen misses a target of the polling issue.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_e2e import idle_share, makespan  # noqa: E402

KEY, SECRET = "bench-key", "bench-secret"
MODEL = "model_luma-ray-3-2"
FINAL = ("success", "failure", "canceled")
QUEUE = (0.2, 1.2)


@dataclass(frozen=True)
class Timeline:
    name: str
    jobs: int
    ceiling: int
    duration: tuple[float, float]
    stall: tuple[float, float] | None = None
    stated: bool = True
    time_scale: float = 1.0


TIMELINES = {t.name: t for t in (
    Timeline("uniform", 200, 16, (2.0, 4.0)),
    Timeline("unstated", 200, 16, (2.0, 4.0), stated=False),
    Timeline("spread", 200, 16, (2.0, 20.0)),
    Timeline("stalls", 200, 16, (2.0, 4.0), stall=(0.0, 10.0)),
    Timeline("scale", 5000, 200, (2.0, 4.0), time_scale=2.0),
)}
# The polling issue's targets for batchgen (all but the scale run's CPU, RSS and makespan).
TARGETS = {"makespan_ratio": 1.15, "calls_per_job": 1.5, "rate_limited_pct": 5.0,
           "median_file_s": 2.0, "idle_pct": 3.0}
SCALE_TARGETS = {"makespan_ratio": 1.15, "cpu_ms_per_job": 5.0, "peak_rss_mb": 150.0}


@dataclass
class Figures:
    timeline: str
    client: str
    jobs: int
    wall_s: float
    makespan_s: float
    ideal_s: float
    makespan_ratio: float
    calls_per_job: float
    rate_limited_pct: float
    median_file_s: float
    idle_pct: float
    cpu_ms_per_job: float
    peak_rss_mb: float
    peak_in_flight: int
    calls: dict[str, int]  # route -> calls, CDN downloads apart
    exit_code: int


def simulator(timeline: Timeline) -> Any:
    from batchgen.simulator import Simulator

    return Simulator(api_key=KEY, api_secret=SECRET, ceiling=timeline.ceiling,
                     duration_range=timeline.duration, queue_range=QUEUE,
                     stall_range=timeline.stall, time_scale=timeline.time_scale,
                     retry_after=1.0, seed=13,
                     **({} if timeline.stated else {"rate_limit_style": "bare"}))


def prompts(jobs: int) -> list[str]:
    return [f"A lighthouse in a storm, shot {i}" for i in range(jobs)]


def write_manifest(folder: Path, jobs: int) -> Path:
    path = folder / "bench.yaml"
    lines = ["version: 1", "name: bench-polling", "output: out", "prompts:"]
    path.write_text("\n".join(lines + [f"  - {p}" for p in prompts(jobs)]) + "\n")
    return path


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program (VmHWM: unlike
    getrusage's maxrss, it does not count the forking parent's memory before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def batchgen_worker(rss_file: str, argv: list[str]) -> int:
    """`batchgen ARGV` in this process, then its peak RSS written to `rss_file`."""
    from batchgen.cli import main as batchgen_main

    try:
        code = batchgen_main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    Path(rss_file).write_text(str(peak_rss_mb()))
    return code or 0


def run_child(command: list[str], rss_file: Path) -> tuple[int, float, float, float]:
    """Run a client process; (exit code, wall s, CPU s, peak RSS MB) of that process alone."""
    env = dict(os.environ, SCENARIO_SDK_API_KEY=KEY, SCENARIO_SDK_API_SECRET=SECRET)
    # The child's messages go to a file: a pipe nobody reads until the child ends fills
    # up (64 KiB) on a long run and blocks the child for good.
    errors = rss_file.with_name("stderr.txt")
    started = time.perf_counter()
    with errors.open("wb") as err:
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.stderr.write(errors.read_text(errors="replace")[-2000:])
    rss = float(rss_file.read_text()) if rss_file.exists() else float("nan")
    return child.returncode, wall, usage.ru_utime + usage.ru_stime, rss


def file_times_batchgen(out: Path) -> dict[str, float]:
    """asset id -> when its file was recorded on disk, from batchgen's ledger."""
    from batchgen.ledger.events import read_events
    from batchgen.timestamps import parse as parse_iso

    return {e["assetId"]: parse_iso(e["t"]) for e in read_events(out / "ledger.jsonl")
            if e.get("event") == "file"}


def measure(timeline: Timeline, client: str, tmp: Path) -> Figures:
    from batchgen.simulator.server import serve_in_thread

    sim = simulator(timeline)
    out = tmp / f"out-{timeline.name}-{client}"
    out.mkdir()
    with serve_in_thread(sim) as url:
        if client == "batchgen":
            command = [sys.executable, __file__, "--batchgen-worker", str(out / "rss"), "run",
                       str(write_manifest(tmp, timeline.jobs)), "--base-url", url,
                       "--out", str(out), "--yes", "--no-progress"]
        else:
            command = [sys.executable, __file__, "--sdk-worker", url, str(out), str(timeline.jobs),
                       str(timeline.ceiling), str(1.0 / timeline.time_scale)]
        code, wall, cpu, rss = run_child(command, out / "rss")
    if client == "batchgen":
        written = file_times_batchgen(out)
    else:
        written = json.loads((out / "files.json").read_text())
    ends = {job.asset_ids[0]: job.end for job in sim.jobs.values()}
    delays = [(t - ends[a]) * timeline.time_scale for a, t in written.items() if a in ends]
    calls = sum(n for route, n in sim.counters.calls.items() if not route.startswith("GET /cdn"))
    generated = sum(sim.counters.generate_calls.values())
    span = makespan(sim, timeline.time_scale)
    lives = [t.duration for t in sim.timings()]
    ideal = max(max(lives), sum(lives) / timeline.ceiling)
    return Figures(
        timeline=timeline.name, client=client, jobs=timeline.jobs, wall_s=round(wall, 1),
        makespan_s=round(span, 1), ideal_s=round(ideal, 1), makespan_ratio=round(span / ideal, 3),
        calls_per_job=round(calls / timeline.jobs, 3),
        rate_limited_pct=round(100 * sim.counters.rate_limited / max(1, generated), 2),
        median_file_s=round(statistics.median(delays), 2) if delays else float("nan"),
        idle_pct=round(100 * idle_share(sim, timeline.ceiling), 2),
        cpu_ms_per_job=round(1000 * cpu / timeline.jobs, 2), peak_rss_mb=round(rss, 1),
        peak_in_flight=sim.peak_in_flight, exit_code=code,
        calls={route: n for route, n in sim.counters.calls.items() if n})


# -- the peer: the official SDK used naively, in its own process ------------------------------

async def sdk_worker(url: str, out: Path, jobs: int, at_once: int, poll: float) -> int:
    import httpx
    from scenario_sdk import AsyncScenario, RateLimitError

    written: dict[str, float] = {}
    semaphore = asyncio.Semaphore(at_once)
    async with AsyncScenario(api_key=KEY, api_secret=SECRET, base_url=url) as client, \
            httpx.AsyncClient() as cdn:
        async def one(prompt: str) -> None:
            async with semaphore:
                while True:
                    try:
                        answer = await client.generate.run_model(MODEL, body={"prompt": prompt})
                        break
                    except RateLimitError:
                        await asyncio.sleep(1.0)
                job_id = answer.job.job_id
                while True:
                    await asyncio.sleep(poll)
                    job = (await client.jobs.retrieve(job_id)).job
                    if job.status in FINAL:
                        break
            if job.status != "success" or not job.metadata or not job.metadata.asset_ids:
                return
            asset_id = job.metadata.asset_ids[0]
            asset = (await client.assets.retrieve(asset_id)).asset
            response = await cdn.get(asset.url)
            (out / f"{job_id}.mp4").write_bytes(response.content)
            written[asset_id] = time.time()

        await asyncio.gather(*(one(p) for p in prompts(jobs)))
    (out / "files.json").write_text(json.dumps(written))
    (out / "rss").write_text(str(peak_rss_mb()))
    return 0


# -- the table ------------------------------------------------------------------------------

def table(rows: list[Figures]) -> str:
    header = ("timeline", "client", "jobs", "makespan / ideal (s)", "API calls/job", "429 %",
              "success->file median s", "idle slots %", "CPU ms/job", "peak RSS MB",
              "peak in flight", "wall s")
    lines = [header] + [(r.timeline, r.client, str(r.jobs),
                         f"{r.makespan_s:.1f} / {r.ideal_s:.1f} = {r.makespan_ratio:.2f}",
                         f"{r.calls_per_job:.2f}", f"{r.rate_limited_pct:.1f}",
                         f"{r.median_file_s:.2f}", f"{r.idle_pct:.1f}", f"{r.cpu_ms_per_job:.1f}",
                         f"{r.peak_rss_mb:.0f}", str(r.peak_in_flight), f"{r.wall_s:.0f}")
                        for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def misses(row: Figures, peer: Figures | None) -> list[str]:
    targets = SCALE_TARGETS if row.timeline == "scale" else TARGETS
    found = [f"{name} {getattr(row, name)} (target {limit})" for name, limit in targets.items()
             if getattr(row, name) > limit or (getattr(row, name) == limit and name != "calls_per_job")]
    if peer is not None and row.timeline != "scale" and row.makespan_s >= peer.makespan_s:
        found.append(f"makespan {row.makespan_s} s not below the SDK's {peer.makespan_s} s")
    if row.exit_code != 0:
        found.append(f"the run exited {row.exit_code}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(TIMELINES),
                        help="comma-separated timelines (default: all of " + ", ".join(TIMELINES) + ")")
    parser.add_argument("--clients", default="batchgen,sdk")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sdk-worker", nargs=5, metavar=("URL", "OUT", "JOBS", "AT_ONCE", "POLL"),
                        help=argparse.SUPPRESS)
    if sys.argv[1:2] == ["--batchgen-worker"]:
        return batchgen_worker(sys.argv[2], sys.argv[3:])
    args = parser.parse_args()
    if args.sdk_worker:
        url, out, jobs, at_once, poll = args.sdk_worker
        return asyncio.run(sdk_worker(url, Path(out), int(jobs), int(at_once), float(poll)))
    rows: list[Figures] = []
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-polling-") as tmp:
        for name in args.only.split(","):
            for client in args.clients.split(","):
                rows.append(measure(TIMELINES[name], client, Path(tmp)))
                print(table(rows[-1:]).splitlines()[-1], f"load {os.getloadavg()[0]:.2f}",
                      rows[-1].calls, file=sys.stderr)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print(table(rows))
    peers = {r.timeline: r for r in rows if r.client == "sdk"}
    problems = [f"{r.timeline}: {m}" for r in rows if r.client == "batchgen"
                for m in misses(r, peers.get(r.timeline))]
    for problem in problems:
        print(f"MISSED {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
