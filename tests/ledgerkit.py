"""A small sweep manifest and the ledger events of one job's life, for status tests."""

from __future__ import annotations

MANIFEST = """\
version: 1
name: knight-sweep
output: out
defaults:
  duration: 5s
prompts:
  - id: knight
    prompt: "A knight walks through fog, {style}"
matrix:
  resolution: [720p, 1080p]
  style: [noir, watercolor]
"""


def lifecycle(job, *, outcome="succeeded", job_id=None):
    """The events of one job run to `outcome` (running, succeeded or failed)."""
    job_id = job_id or f"job_{job.key}"
    events = [{"event": "intent", "key": job.key, "id": job.id, "sample": job.sample,
               "body": {"prompt": job.prompt, **job.params}},
              {"event": "submitted", "key": job.key, "jobId": job_id, "cost": 20}]
    if outcome == "succeeded":
        events += [{"event": "succeeded", "key": job.key, "jobId": job_id,
                    "assetIds": [f"asset_{job.key}"], "cost": 20},
                   {"event": "file", "key": job.key, "assetId": f"asset_{job.key}",
                    "path": job.filename, "bytes": 3, "sha256": "c" * 64}]
    elif outcome == "failed":
        events.append({"event": "failed", "key": job.key, "jobId": job_id,
                       "error": "The prompt was refused", "hint": "rephrase it"})
    return events
