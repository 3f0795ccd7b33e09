"""How fast the index of paid results is (issue 16, point 5): looking up 100,000 keys
must take < 1 s, and recording a 100,000-job batch must add < 2 s to its run.

Builds the 100,000-job matrix manifest of bench_expand.py and the replayed ledger state
of a run in which every job succeeded with one file, in a fresh index (in a temporary
BATCHGEN_CACHE_DIR, never the user's), then times, in this process:

- recording the batch (what a run does when it ends: its succeeded keys as index rows,
  one transaction), into an empty index, again into one that has them, and another
  batch's 100,000 keys beside them;
- looking up the batch's 100,000 keys from a fresh connection in that 200,000-row index
  (each found once), and 100,000 keys it does not hold;
- the lookup a run makes (`from_index`, then only the results made on the run's API,
  `on_api`, which decodes every row found), each key found once;
- then, the batch recorded in a second folder, the lookup that finds each key twice
  (200,000 results; reported, no target).

    python benchmarks/bench_reuse.py [--keep DIR]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from batchgen.ledger.state import LedgerState, replay
from batchgen.manifest.load import load_batch
from batchgen.reuse.index import INDEX_NAME, Index, Result
from batchgen.reuse.sources import from_index, ledger_results, on_api

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_expand import write_matrix  # noqa: E402
from benchkit import add_keep, command_line, work_folder  # noqa: E402

LOOKUP_SECONDS = 1.0
API = "simulated"  # the API every row is recorded as made on
RECORD_SECONDS = 2.0


def succeeded_state(batch) -> LedgerState:
    """The replayed ledger of a run in which every job succeeded with one file."""
    def events():
        for job in batch.jobs:
            key, t = job.key, "2026-12-03T08:00:00.000Z"
            yield {"event": "intent", "t": t, "key": key, "id": job.id, "sample": job.sample}
            yield {"event": "submitted", "t": t, "key": key, "jobId": f"job_{key}", "cost": 30}
            yield {"event": "succeeded", "t": t, "key": key, "jobId": f"job_{key}",
                   "assetIds": [f"asset_{key}"], "cost": 30}
            yield {"event": "file", "t": t, "key": key, "assetId": f"asset_{key}",
                   "path": job.filename, "bytes": 48213, "sha256": "0" * 64}
    return replay(events())


def timed(action) -> tuple[float, float, object]:
    """(wall s, CPU s, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> int:
    parser = command_line(__doc__)
    add_keep(parser, "the manifest and index")
    args = parser.parse_args()
    with work_folder(args.keep) as folder:
        os.environ["BATCHGEN_CACHE_DIR"] = str(folder / "cache")  # never the user's index
        batch = load_batch(str(write_matrix(folder)))
        state = succeeded_state(batch)
        jobs = {job.key: job for job in batch.jobs}
        keys = list(jobs)
        path = folder / "cache" / INDEX_NAME
        n = len(keys)
        ok = True
        print(f"index of paid results, {n:,}-job batch (limits: record {RECORD_SECONDS} s, "
              f"lookup {LOOKUP_SECONDS} s):")

        def record(results):
            index = Index(path)
            count = index.record(results)
            index.close()
            assert count == n and index.problem is None, index.problem

        def lookup(wanted: list[str]):
            index = Index(path)
            found = index.lookup(wanted, exclude=[folder / "out-c"])
            index.close()
            return found

        def line(label: str, wall: float, cpu: float, limit: float | None) -> bool:
            verdict = "" if limit is None else "ok" if wall < limit else "TOO SLOW"
            print(f"  {label:<44} {wall:6.2f} s wall {cpu:6.2f} s CPU  {verdict}")
            return limit is None or wall < limit

        a, b = str(folder / "out-a"), str(folder / "out-b")
        other = [Result(key[::-1], str(folder / "other"), entry)  # another batch's keys
                 for key, _, entry in ledger_results(state, a, jobs, api=API)]
        for label, results in [
                ("record the batch, empty index", lambda: ledger_results(state, a, jobs, api=API)),
                ("record it again (rows known)", lambda: ledger_results(state, a, jobs, api=API)),
                ("record another batch (200,000 rows)", lambda: other)]:
            wall, cpu, _ = timed(lambda: record(results()))
            ok &= line(label, wall, cpu, RECORD_SECONDS)
        for label, wanted, hits in [("lookup, all found once", keys, n),
                                    ("lookup, none found", [k[::-1] + "x" for k in keys], 0)]:
            wall, cpu, found = timed(lambda: lookup(wanted))
            assert len(found) == hits
            ok &= line(label, wall, cpu, LOOKUP_SECONDS)
        def run_lookup():
            index = Index(path)
            found = on_api(from_index(index, keys, folder / "out-c"), API)
            index.close()
            return found

        wall, cpu, found = timed(run_lookup)
        assert len(found) == n
        ok &= line("a run's lookup (on its API), all found once", wall, cpu, LOOKUP_SECONDS)
        wall, cpu, _ = timed(lambda: record(ledger_results(state, b, jobs, api=API)))
        ok &= line("record the batch in a second folder", wall, cpu, RECORD_SECONDS)
        wall, cpu, found = timed(lambda: lookup(keys))
        assert all(len(r) == 2 for r in found.values())
        line("lookup, all found twice (200,000 results)", wall, cpu, None)
        size = sum(p.stat().st_size for p in path.parent.glob(INDEX_NAME + "*"))
        print(f"  index: 300,000 rows, {size / 1e6:.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
