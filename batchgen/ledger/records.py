"""The job records of a batch, as `plan --json` and `status --json` print them.

    {"counts": {state: n}, "jobs": [{key, id, sample, prompt, params, state, jobId,
                                      files, error, filename}]}

Without ledger information every job is "pending"; the ledger's replay passes what it
knows per key and the same records come out with real states.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping, TextIO

import msgspec

from batchgen.ledger.checkpoint import Brief
from batchgen.durable import paused_gc
from batchgen.ledger.state import KeyState
from batchgen.ledger.status import ledger_view
from batchgen.manifest.load import Batch

Found = tuple[KeyState | Brief, str]  # a key's state, and the folder of the ledger saying so

STATES = ("pending", "running", "succeeded", "failed")

_NOTHING: Mapping[str, Found] = {}


def plan_states(batch: Batch, ledger: Mapping[str, Found] | None = None
                ) -> tuple[list[str], dict[str, int]]:
    """Each job's state in job order, and the count of jobs in each state.

    `ledger` is `status.ledger_states(batch.output)` (keys it lacks are "pending").
    Every state in STATES appears in the counts, zero or not, so scripts can rely on the shape.
    """
    known = ledger or _NOTHING
    states = [found[0].state if (found := known.get(job.key)) else "pending"
              for job in batch.jobs]
    counts = dict.fromkeys(STATES, 0)
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return states, counts


def plan_records(batch: Batch, ledger: Mapping[str, Found] | None = None) -> dict[str, Any]:
    """One record per job, and the count of jobs in each state.

    `ledger` is `status.ledger_states(batch.output)`: per key, its state and the folder
    of the ledger saying so. Keys it lacks are "pending". The records are the caller's
    own (nothing in them is shared with the batch or with each other).
    """
    counts = dict.fromkeys(STATES, 0)
    with paused_gc():  # 100,000 small acyclic dicts: collections here find nothing to free
        records = [{**record, "params": dict(record["params"])}
                   for record in _records(batch, ledger or _NOTHING, counts)]
    return {"counts": counts, "jobs": records}


def write_plan_json(batch: Batch, ledger: Mapping[str, Found] | None, out: TextIO) -> None:
    """Write `plan_records(batch, ledger)` as JSON, one job per line.

    json.dump with `indent` uses the pure-Python encoder (4 s for 100,000 jobs); each job
    encoded compactly by msgspec (about 10x faster than the json module's C encoder)
    keeps the output readable line by line. Records are encoded as they are made, and
    share the batch's dicts, since nothing keeps them.
    """
    counts = dict.fromkeys(STATES, 0)
    encode = msgspec.json.Encoder().encode
    with paused_gc():
        body = b",".join([b"\n    " + encode(record) for record in
                          _records(batch, ledger or _NOTHING, counts)])
    out.write('{\n  "counts": ' + json.dumps(counts) + ',\n  "jobs": [')
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        out.write(body.decode("utf-8"))
    else:  # 50 MB for 100,000 jobs: skip decoding and re-encoding it
        out.flush()
        buffer.write(body)
        buffer.flush()
    out.write("\n  ]\n}\n" if batch.jobs else "]\n}\n")


def _records(batch: Batch, ledger: Mapping[str, Found],
             counts: dict[str, int]) -> Iterator[dict[str, Any]]:
    """The records, counting each job's state into `counts` as it goes."""
    for job in batch.jobs:
        found = ledger.get(job.key)
        if found is None:
            state, job_id, files, error = "pending", None, [], None
        else:
            state, job_id, files, error = ledger_view(*found)
        counts[state] = counts.get(state, 0) + 1
        yield {"key": job.key, "id": job.id, "sample": job.sample, "prompt": job.prompt,
               "params": job.params, "state": state, "jobId": job_id, "files": files,
               "error": error, "filename": job.filename}
