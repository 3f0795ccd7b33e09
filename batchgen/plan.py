"""The job records of a batch, as `plan --json` and `status --json` print them.

    {"counts": {state: n}, "jobs": [{key, id, sample, prompt, params, state, jobId,
                                      files, error, filename}]}

Without ledger information every job is "pending"; the ledger's replay passes what it
knows per key and the same records come out with real states.
"""

from __future__ import annotations

from typing import Any, Mapping

from batchgen.validate import Batch

STATES = ("pending", "running", "succeeded", "failed")


def plan_records(batch: Batch,
                 ledger_states: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """One record per job, and the count of jobs in each state.

    `ledger_states` maps a job key to what the ledger knows about it: any of `state`,
    `jobId`, `files` and `error`. Keys it does not hold are "pending". Every state in
    STATES appears in `counts`, zero or not, so scripts can rely on the shape.
    """
    known_states = ledger_states or {}
    counts = dict.fromkeys(STATES, 0)
    records = []
    for job in batch.jobs:
        known = known_states.get(job.key) or {}
        state = known.get("state") or "pending"
        counts[state] = counts.get(state, 0) + 1
        records.append({
            "key": job.key,
            "id": job.id,
            "sample": job.sample,
            "prompt": job.prompt,
            "params": dict(job.params),
            "state": state,
            "jobId": known.get("jobId"),
            "files": list(known.get("files") or []),
            "error": known.get("error"),
            "filename": job.filename,
        })
    return {"counts": counts, "jobs": records}
