"""What a run decides about a job, as plain functions of facts: no I/O, no clock.

- `next_step(job, ks)`: from the key's ledger state, submit, recover, poll, download,
  leave done or skip as failed;
- `final_event(key, job_id, job)` and `rejected_event`: a final job as the API shows
  it (or its 400/422), read into the ledger event that records it;
- the recovery verdict: which listed job a lost answer is (`claim`), and what the
  listing proves (`recovery_verdict`: recovered, never sent, or not known yet).
Budget arithmetic, the other decision of a run, is `run/budget.py`'s `Budget` (its
holds during a run: `run/holds.py`). The I/O around them is in `drive.py`/`submit.py`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Callable

from batchgen.errors import JobRejected
from batchgen.jobs import Job, canonical_json
from batchgen.ledger.state import FAILED, PENDING, SUCCEEDED, KeyState
from batchgen.run.echo import echo_match


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
    I/O, checked by the runner at the edge (`OutputFolder.missing`).
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


def claim(body: dict[str, Any], jobs: list[dict[str, Any]], *, known: set[str],
          others: set[str], could_be: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """The listed job (newest first, as the API lists) that a lost answer of `body` is, or
    None: an unclaimed job whose input is this body; samples of one body are
    interchangeable, so the oldest is claimed first.

    An exact match wins; failing that, the echo confirming most of the body's fields
    (`echo.echo_match`: one the API added a default to, or left a field out of), unless
    it is exactly another lost body (`others`, canonical JSON) or could be a body still
    in flight (`could_be`). Jobs in `known` (ids some ledger holds) are never claimed.
    """
    body_id = canonical_json(body)
    fallback, best = None, -1
    for job in reversed(jobs):
        job_id = str(job.get("jobId"))
        sent = (job.get("metadata") or {}).get("input")
        if job_id in known or not isinstance(sent, dict):
            continue
        sent_id = canonical_json(sent)
        if sent_id == body_id:
            return job
        confirmed = echo_match(body, sent)
        if (confirmed is not None and confirmed > best and sent_id not in others
                and not could_be(sent)):
            fallback, best = job, confirmed
    return fallback


def recovery_verdict(key: str, found: dict[str, Any] | None, *, listed_at: float,
                     intent_at: float, wait: float) -> dict[str, Any] | None:
    """What one listing proves about a lost answer: `recovered` (the claimed job `found`,
    its cost counted as spent: it was charged when created), `unsent` (not listed by a
    listing started `wait` seconds or more after the intent: it never reached the API),
    or None (not known yet: list again)."""
    if found is not None:
        cost = (found.get("billing") or {}).get("cuCost")
        return {"event": "recovered", "key": key, "jobId": str(found.get("jobId")),
                **({"cost": cost} if cost is not None else {})}
    if listed_at >= intent_at + wait:
        return {"event": "unsent", "key": key}
    return None
