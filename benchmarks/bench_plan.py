"""How fast `batchgen plan` reads a 100,000-job manifest whose output folder holds a
100,000-job ledger: table and `--json` must each take < 1.5 s wall (issue 4, point 9).

Writes the matrix manifest of bench_expand.py, a ledger whose keys are the manifest's
own job keys (so every state joins), reads it once with `status` so the replay
checkpoint exists, then times `plan` and `plan --json` end to end (best of 3).

    python benchmarks/bench_plan.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from batchgen.ledger import encode_event, ledger_path
from batchgen.validate import load_batch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_expand import write_matrix  # noqa: E402

MAX_SECONDS = 1.5


def write_ledger_for(manifest: Path) -> tuple[Path, int]:
    """A ledger in the manifest's output folder: every job submitted, most succeeded
    with a file, every tenth failed, every seventh still running. Returns (output, jobs)."""
    batch = load_batch(str(manifest))
    output = Path(batch.output)
    output.mkdir(parents=True, exist_ok=True)
    with open(ledger_path(output), "wb") as out:
        out.write(encode_event({"event": "run", "t": "2026-11-27T10:00:00.000Z", "pid": 1,
                                "manifest": str(manifest), "shard": None}))
        for i, job in enumerate(batch.jobs):
            t = f"2026-11-27T10:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 1000:03d}Z"
            key = job.key
            events = [{"event": "intent", "key": key, "id": job.id, "sample": job.sample,
                       "body": {"prompt": job.prompt, **job.params}},
                      {"event": "submitted", "key": key, "jobId": f"job_{key}", "cost": 20}]
            if i % 10 == 0:
                events.append({"event": "failed", "key": key, "jobId": f"job_{key}",
                               "error": "The generation failed on the provider side"})
            elif i % 7:
                events += [{"event": "succeeded", "key": key, "jobId": f"job_{key}",
                            "assetIds": [f"asset_{key}"], "cost": 20},
                           {"event": "file", "key": key, "assetId": f"asset_{key}",
                            "path": job.filename, "bytes": 48213, "sha256": "0" * 64}]
            for event in events:
                out.write(encode_event({**event, "t": t}))
    return output, len(batch.jobs)


def best_wall(argv: list[str], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "batchgen", *argv], check=True,
                       stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the manifest and ledger here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = write_matrix(folder)
        output, jobs = write_ledger_for(manifest)
        subprocess.run([sys.executable, "-m", "batchgen", "status", str(output)], check=True,
                       stdout=subprocess.DEVNULL)  # writes the replay checkpoint
        print(f"plan of {jobs:,} jobs with a {jobs:,}-job ledger (best of 3, limit {MAX_SECONDS} s):")
        ok = True
        for label, argv in [("batchgen plan M", ["plan", str(manifest)]),
                            ("batchgen plan M --json", ["plan", str(manifest), "--json"])]:
            wall = best_wall(argv)
            ok &= wall < MAX_SECONDS
            print(f"  {label:<28} {wall:6.2f} s wall  {'ok' if wall < MAX_SECONDS else 'TOO SLOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
