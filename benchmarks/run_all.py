"""Every benchmark in one command, and one summary table at the end.

    python benchmarks/run_all.py                  # everything: a few minutes on 2 cores
    python benchmarks/run_all.py --kills 60 --skip bench_report

Runs each benchmarks/bench_*.py in a fresh process (its output shown as it comes),
then the full crash harness (tests/crashkit.py: SIGKILL `batchgen run` of 40-job
batches over loopback at random moments, resuming after each, checking after each,
until 50 kills have landed inside a running run) and measures the client's CPU time
per job on a simulated run. Exits 1 if any part failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import crashkit  # noqa: E402  (the crash harness lives with the tests that use it)
from batchgen.simulator import Simulator  # noqa: E402
from batchgen.simulator.server import serve_in_thread  # noqa: E402

CRASH_PROMPTS, CRASH_SAMPLES = 20, 2  # the 40-job batch of the crash harness


@dataclass
class Row:
    """One line of the summary: a part, whether it passed, how long it took, its figures."""

    name: str
    ok: bool
    seconds: float
    figures: list[str] = field(default_factory=list)


def run_bench(script: Path) -> Row:
    """Run one bench_*.py in a fresh process, echoing its output; its lines are the figures."""
    print(f"\n== {script.name}", flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    for line in proc.stdout:
        print("  " + line, end="", flush=True)
        if line.strip():
            lines.append(line.rstrip())
    code = proc.wait()
    figures = lines if code == 0 else lines + [f"exit code {code}"]
    return Row(script.stem, code == 0, time.perf_counter() - start, figures)


def run_crash(kills: int, seed: int, per_batch: int) -> Row:
    """The crash harness: 40-job batches, `per_batch` kills each, checked after every
    kill, until `kills` SIGKILLs have landed inside a running run."""
    print(f"\n== crash harness: SIGKILL `batchgen run` of 40-job batches until {kills} kills "
          "have landed inside a run", flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="batchgen-crash-") as tmp:
        report = crashkit.crash_campaign(Path(tmp), kills=kills, seed=seed,
                                         prompts=CRASH_PROMPTS, samples=CRASH_SAMPLES,
                                         kills_per_batch=per_batch)
    problems = report.duplicates + report.bad_files + report.unreadable_ledger
    problems += [f"left behind: {p}" for p in report.leftovers]
    problems += report.bad_checkpoints
    problems += [f"a last run exited {code}" for code in report.final_exit_codes if code != 0]
    if set(report.final_counts) != {"succeeded"}:
        problems.append(f"jobs after the last runs: {dict(report.final_counts)}")
    ok = report.kills_inside_run >= kills and not problems
    figures = [
        f"{report.kills} SIGKILLs over {report.batches} batches of {CRASH_PROMPTS * CRASH_SAMPLES} "
        f"jobs: {report.kills_inside_run} landed inside a run, {report.killed_right_after_intent} "
        f"left an intent unanswered ({report.aimed_after_intent} were aimed right after one)",
        "duplicate generations, missing/corrupt files, unreadable ledgers, leftovers, "
        f"checkpoints disagreeing with a full replay, unfinished batches: {len(problems)} "
        f"(checkpoints left by killed runs compared: {report.checkpoints_checked})",
        f"lost answers recovered {report.recovered}, intents proved unsent (then sent) {report.unsent}",
    ] + [f"  {problem}" for problem in problems[:10]]
    print("  " + "\n  ".join(figures), flush=True)
    return Row("crash harness", ok, time.perf_counter() - start, figures)


def child_cpu(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """CPU seconds (user + system) and wall seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=crashkit.run_env(), capture_output=True, text=True,
                          timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall, done


def run_cpu(jobs: int) -> Row:
    """Client CPU per job: `batchgen run` of `jobs` jobs (a subprocess) against a loopback
    simulator in this process, so the server's work is not counted. `batchgen validate`
    of the same manifest is the fixed cost (interpreter, imports, loading), taken off."""
    print(f"\n== client CPU time: a {jobs}-job run over loopback", flush=True)
    samples = 4
    prompts = -(-jobs // samples)
    total = prompts * samples
    with tempfile.TemporaryDirectory(prefix="batchgen-cpu-") as tmp:
        manifest = Path(tmp) / "cpu.yaml"
        manifest.write_text(
            "version: 1\nname: cpu\nprompts:\n"
            + "".join(f"  - A paper lantern drifting over a lake, shot {i}\n" for i in range(prompts))
            + f"samples: {samples}\n", encoding="utf-8")
        fixed, _, _ = child_cpu([*crashkit.BATCHGEN, "validate", str(manifest)])
        sim = Simulator(api_key=crashkit.KEY, api_secret=crashkit.SECRET, seed=3,
                        duration_range=(40.0, 120.0), time_scale=100.0, ceiling=50)
        with serve_in_thread(sim) as url:
            cpu, wall, done = child_cpu(
                [*crashkit.BATCHGEN, "run", str(manifest), "--base-url", url, "--yes",
                 "--no-progress", "--concurrency", "40", "--poll-interval", "0.25"])
    calls = sum(sim.counters.calls.values())
    figures = [f"{total} jobs in {wall:.1f} s wall (40 at once, jobs of 0.4-1.2 s, polls every 0.25 s)",
               f"client CPU {cpu:.2f} s: {(cpu - fixed) / total * 1000:.1f} ms per job after "
               f"{fixed:.2f} s of start-up and validation; {calls / total:.1f} HTTP requests per job"]
    if done.returncode != 0:
        figures.append(f"exit code {done.returncode}: {done.stderr.strip()[-300:]}")
    print("  " + "\n  ".join(figures), flush=True)
    return Row("client CPU per job", done.returncode == 0, wall, figures)


def print_table(rows: list[Row]) -> None:
    width = max(len(r.name) for r in rows)
    print("\n" + "=" * 100)
    print(f"batchgen benchmarks on {platform.node()}: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("=" * 100)
    print(f"{'part':<{width}}  {'result':<6}  {'time':>7}  figures")
    for row in rows:
        figures = row.figures or [""]
        print(f"{row.name:<{width}}  {'PASS' if row.ok else 'FAIL':<6}  {row.seconds:6.1f}s  {figures[0]}")
        for line in figures[1:]:
            print(f"{'':<{width}}  {'':<6}  {'':>7}  {line.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50,
                        help="SIGKILLs that must land inside a running `batchgen run` (50)")
    parser.add_argument("--kills-per-batch", type=int, default=10,
                        help="SIGKILLs per 40-job batch before it is let finish (10)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the crash harness (7)")
    parser.add_argument("--cpu-jobs", type=int, default=200, help="jobs of the CPU run (200)")
    parser.add_argument("--skip", nargs="*", default=[], metavar="NAME",
                        help="parts to leave out: bench_* names, crash, cpu")
    args = parser.parse_args(argv)
    rows = [run_bench(script) for script in sorted((ROOT / "benchmarks").glob("bench_*.py"))
            if script.stem not in args.skip]
    if "crash" not in args.skip:
        rows.append(run_crash(args.kills, args.seed, args.kills_per_batch))
    if "cpu" not in args.skip:
        rows.append(run_cpu(args.cpu_jobs))
    print_table(rows)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
