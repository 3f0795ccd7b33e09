"""How fast `batchgen plan` reads a 100,000-job manifest whose output folder holds a
100,000-job ledger: table and `--json` must each take < 1.5 s wall (issue 4, point 9).

Writes the matrix manifest of bench_expand.py and a ledger whose keys are the manifest's
own job keys (so every state joins), then times `plan` and `plan --json` end to end
(best of 3) in the two states a run leaves its ledger in:

- after a run that ended: the replay checkpoint covers the whole ledger;
- after a run was killed: the checkpoint it saved as the ledger grew is up to 5 % of
  the ledger behind (`checkpoint.due`); here, just under 5 %.

    python benchmarks/bench_plan.py [--keep DIR]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from batchgen.ledger.events import encode_event, ledger_path
from batchgen.manifest.load import load_batch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_expand import write_matrix  # noqa: E402
from benchkit import add_keep, command_line, work_folder  # noqa: E402
from bench_ledger import behind, checkpoint_up_to  # noqa: E402

MAX_SECONDS = 1.5


def write_ledger_for(manifest: Path) -> tuple[Path, int]:
    """A ledger in the manifest's output folder: every job submitted, most succeeded
    with a file, every tenth failed, every seventh still running. Returns (output, jobs)."""
    batch = load_batch(str(manifest))
    output = Path(batch.output)
    output.mkdir(parents=True, exist_ok=True)
    lines = [encode_event({"event": "run", "t": "2026-11-27T10:00:00.000Z", "pid": 1,
                           "manifest": str(manifest), "shard": None})]
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
        lines += [encode_event({**event, "t": t}) for event in events]
    ledger_path(output).write_bytes(b"".join(lines))
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
    parser = command_line(__doc__)
    add_keep(parser, "the manifest and ledger")
    args = parser.parse_args()
    with work_folder(args.keep) as folder:
        manifest = write_matrix(folder)
        output, jobs = write_ledger_for(manifest)
        ledger = ledger_path(output)
        size = ledger.stat().st_size
        print(f"plan of {jobs:,} jobs with a {jobs:,}-job ledger ({size / 1e6:.0f} MB; "
              f"best of 3, limit {MAX_SECONDS} s):")
        ok = True
        for when, offset in [("after a run", size), ("after a kill", behind(ledger))]:
            checkpoint_up_to(ledger, offset)
            for label, argv in [("plan M", ["plan", str(manifest)]),
                                ("plan M --json", ["plan", str(manifest), "--json"])]:
                wall = best_wall(argv)
                ok &= wall < MAX_SECONDS
                print(f"  {when:<13} {label:<15} {wall:6.2f} s wall  "
                      f"{'ok' if wall < MAX_SECONDS else 'TOO SLOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
