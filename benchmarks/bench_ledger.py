"""How fast a 100,000-job ledger is read: `status --json` and `plan --json` must take < 1.5 s.

Writes a synthetic but realistic ledger (about 6 events per job: half the jobs failed
once and were retried, a third had a file downloaded again) and the run's batch.json,
then times each stage in process and `batchgen status` end to end: after a run that
ended (the replay checkpoint, `.ledger.jsonl.checkpoint`, covers the whole ledger),
after a run was killed (the checkpoint it kept as the ledger grew is just under 5 %
behind) and with no checkpoint at all (a ledger batchgen's runner did not write).

    python benchmarks/bench_ledger.py [--jobs 100000] [--keep DIR]
"""

from __future__ import annotations

import gc
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import add_keep, command_line
from batchgen.ledger.checkpoint import checkpoint_path, load_state, save_checkpoint
from batchgen.ledger.events import encode_event, iter_events, ledger_path, read_events
from batchgen.ledger.state import replay
from batchgen.ledger.status import collect_records, ledger_states

STYLES = ["noir", "watercolor", "pastel", "neon"]
RESOLUTIONS = ["540p", "720p", "1080p"]


def _t(n: int) -> str:
    return f"2026-11-27T{10 + n // 360_000 % 10:02d}:{n // 6000 % 60:02d}:{n // 100 % 60:02d}.{n % 1000:03d}Z"


def write_ledger(output: Path, jobs: int) -> int:
    """Write the synthetic ledger and batch snapshot; returns the number of events."""
    output.mkdir(parents=True, exist_ok=True)
    snapshot_jobs = []
    n = 0
    with open(ledger_path(output), "wb") as out:
        out.write(encode_event({"event": "run", "t": _t(0), "pid": 1, "manifest": "sweep.yaml",
                                "shard": None}))
        for i in range(jobs):
            key = hashlib.sha256(str(i).encode()).hexdigest()[:16]
            prompt_id = f"prompt-{i // 24 + 1}"
            sample = i % 2 + 1
            style, resolution = STYLES[i % 4], RESOLUTIONS[i % 3]
            body = {"prompt": f"A knight walks through fog toward the camera, {style}, take {i}",
                    "duration": "5s", "aspectRatio": "16:9", "resolution": resolution,
                    "hdr": False, "loop": False}
            filename = f"{prompt_id}/{resolution}-{style}-{sample}.mp4"
            snapshot_jobs.append({"key": key, "id": prompt_id, "sample": sample,
                                  "prompt": body["prompt"],
                                  "params": {k: v for k, v in body.items() if k != "prompt"},
                                  "variables": {"style": style}, "filename": filename})
            events = []
            intent = {"event": "intent", "key": key, "id": prompt_id, "sample": sample, "body": body}
            if i % 2:
                events += [intent, {"event": "submitted", "key": key, "jobId": f"job_a{key}", "cost": 20},
                           {"event": "failed", "key": key, "jobId": f"job_a{key}",
                            "error": "The generation failed on the provider side", "hint": "retry later"}]
            events += [intent, {"event": "submitted", "key": key, "jobId": f"job_{key}", "cost": 20},
                       {"event": "succeeded", "key": key, "jobId": f"job_{key}",
                        "assetIds": [f"asset_{key}"], "cost": 20}]
            file = {"event": "file", "key": key, "assetId": f"asset_{key}", "path": filename,
                    "bytes": 48213, "sha256": hashlib.sha256(key.encode()).hexdigest()}
            events += [file, file] if i % 3 == 0 else [file]
            for event in events:
                n += 1
                out.write(encode_event({**event, "t": _t(n)}))
        out.write(encode_event({"event": "end", "t": _t(n + 1), "summary": {"succeeded": jobs}}))
    (output / "batch.json").write_text(json.dumps(
        {"name": "bench", "model": "model_luma-ray-3-2", "axes": {"style": STYLES},
         "jobs": snapshot_jobs}))
    return n + 2


def checkpoint_up_to(ledger: Path, offset: int) -> None:
    """The checkpoint a run would have saved when the ledger was `offset` bytes long."""
    data = ledger.read_bytes()
    ledger.write_bytes(data[:offset])
    state = load_state(ledger, save=False)
    save_checkpoint(ledger, state, offset, data[:offset].count(b"\n"))
    ledger.write_bytes(data)


def behind(ledger: Path, share: float = 0.0499) -> int:
    """The offset of the last line ending at least `share` of the ledger before its end."""
    data = ledger.read_bytes()
    return data.rfind(b"\n", 0, int(len(data) * (1 - share)) + 1) + 1


def timed(label: str, fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    print(f"  {label:<44} {time.perf_counter() - start:6.2f} s")
    return result


def command(label: str, argv: list[str], runs: int = 3) -> None:
    """Best wall and CPU (user+system) time of `runs` runs of a batchgen command: on a
    busy machine the CPU time is the figure that does not depend on the neighbours."""
    best_wall = best_cpu = float("inf")
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "batchgen", *argv], check=True,
                       stdout=subprocess.DEVNULL)
        best_wall = min(best_wall, time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(f"  {label:<44} {best_wall:6.2f} s wall, {best_cpu:5.2f} s CPU")


def main() -> int:
    parser = command_line(__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    add_keep(parser, "the ledger")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        output = args.keep or Path(tmp) / "out"
        events = write_ledger(output, args.jobs)
        ledger = ledger_path(output)
        checkpoint_path(ledger).unlink(missing_ok=True)
        print(f"ledger: {args.jobs:,} jobs, {events:,} events, {ledger.stat().st_size / 1e6:.1f} MB")
        print("in process:")
        timed("read_events (all events in memory)", read_events, ledger)
        timed("replay(iter_events) (streamed)", lambda: replay(iter_events(ledger)))
        timed("load_state, no checkpoint (writes one)", load_state, ledger)
        state = timed("load_state from the checkpoint", load_state, ledger)
        lines = ledger.read_bytes().count(b"\n")
        timed("save_checkpoint (a run's pause to save one)", save_checkpoint, ledger, state,
              ledger.stat().st_size, lines)
        timed("ledger_states (plan's ledger part)", ledger_states, output)
        timed("collect_records (status's whole work)", collect_records, [str(output)])
        del state
        gc.collect()  # a small parent forks its children faster
        print("end to end (best of 3):")
        command("batchgen status DIR --json", ["status", str(output), "--json"])
        command("batchgen status DIR", ["status", str(output)])
        checkpoint_up_to(ledger, behind(ledger))
        command("batchgen status DIR --json, after a kill", ["status", str(output), "--json"])
        checkpoint_path(ledger).unlink()
        command("batchgen status DIR --json, no checkpoint", ["status", str(output), "--json"], 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
