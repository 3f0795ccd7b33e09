"""What a run decides about a job, as plain functions of facts: no I/O, no clock.

- `next_step(job, ks)`: from the key's ledger state, submit, recover, poll, download,
  leave done or skip as failed;
- `final_event(key, job_id, job)` and `rejected_event`: a final job as the API shows
  it (or its 400/422), read into the ledger event that records it;
- the recovery verdict (`claim`): which listed job a lost answer is, if any.
Budget arithmetic, the other decision of a run, is `run/budget.py`'s `Budget` (its
holds during a run: `run/holds.py`). The I/O around them is in `drive.py`/`submit.py`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from batchgen.errors import JobRejected
from batchgen.jobs import Job
from batchgen.ledger.state import FAILED, PENDING, SUCCEEDED, KeyState


class Step(str, Enum):
    """What a run does next with one job."""

    SUBMIT = "submit"  # nothing sent yet (or --retry-failed): upload frames, write intent, generate
    RECOVER = "recover"  # intent written, answer lost: find the job by listing before resending
    POLL = "poll"  # the API has the job: wait for it to finish
    DOWNLOAD = "download"  # generated, but some file is missing or unverified
    DONE = "done"  # succeeded and every file in place
    SKIP_FAILED = "skip-failed"  # failed before; only --retry-failed submits it again


SUBMIT, RECOVER, POLL, DOWNLOAD, DONE, SKIP_FAILED = Step


def next_step(job: Job, ks: KeyState | None, *, retry_failed: bool) -> Step:
    """The next step for `job` given its ledger state `ks` (None: never seen).

    DONE trusts the ledger; whether the recorded files are still intact on disk is
    I/O, checked by the runner at the edge (`Downloader.missing`).
    """
    if ks is not None and ks.key != job.key:
        raise ValueError(f"ledger state of key {ks.key} given for job {job.label()} "
                         f"(key {job.key})")
    if ks is None or ks.state == PENDING:
        return SUBMIT
    if ks.state == FAILED:
        return SUBMIT if retry_failed else SKIP_FAILED
    if ks.state == SUCCEEDED:
        return DONE
    if ks.generated:
        return DOWNLOAD
    if ks.job_id is None:
        return RECOVER
    return POLL


def final_event(key: str, job_id: str, job: dict[str, Any]) -> dict[str, Any]:
    """The ledger event a final job reads as: `succeeded` with its asset ids and what it
    cost, else `failed` with the API's error and hint (or its status)."""
    meta = job.get("metadata") or {}
    cost = (job.get("billing") or {}).get("cuCost")
    status = job.get("status")
    if status == "success":
        return {"event": "succeeded", "key": key, "jobId": job_id,
                "assetIds": list(meta.get("assetIds") or []), "cost": cost}
    return {"event": "failed", "key": key, "jobId": job_id,
            "error": meta.get("error") or f"the job ended with status {status}",
            "hint": meta.get("hint"), "jobStatus": status}


def rejected_event(key: str, job_id: str, exc: JobRejected) -> dict[str, Any]:
    """The `failed` event of a job the API refuses to show (400/422 on reading it)."""
    return {"event": "failed", "key": key, "jobId": job_id, "error": exc.message,
            "hint": exc.hint, "status": exc.status}
