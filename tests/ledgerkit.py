"""Ledger events written by hand: one key's events one by one (replay and decision
tests), a small sweep manifest and the events of one job's whole life (status tests)."""

from __future__ import annotations

import pytest

from batchgen.jobs import Job
from batchgen.ledger.state import replay
from batchgen.ledger.status import ledger_states, ledger_view

KEY = "0123456789abcdef"
BODY = {"prompt": "a knight", "duration": "5s"}


def intent(key=KEY, t="2026-01-01T00:00:00.000Z", **extra):
    return {"event": "intent", "t": t, "key": key, "id": "knight", "sample": 1, "body": BODY, **extra}


def submitted(key=KEY, job_id="job_1", cost=20, t="2026-01-01T00:00:01.000Z"):
    return {"event": "submitted", "t": t, "key": key, "jobId": job_id, "cost": cost}


def succeeded(key=KEY, job_id="job_1", assets=("asset_1",), t="2026-01-01T00:01:00.000Z"):
    return {"event": "succeeded", "t": t, "key": key, "jobId": job_id, "assetIds": list(assets),
            "cost": 20}


def file(key=KEY, asset="asset_1", path="knight/1.mp4", sha="a" * 64):
    return {"event": "file", "t": "2026-01-01T00:01:05.000Z", "key": key, "assetId": asset,
            "path": path, "bytes": 10, "sha256": sha}


def failed(key=KEY, job_id="job_1", error="provider failure", hint="try again"):
    return {"event": "failed", "t": "2026-01-01T00:02:00.000Z", "key": key, "jobId": job_id,
            "error": error, "hint": hint}


def job(key=KEY) -> Job:
    return Job(key=key, id="knight", index=1, sample=1, model="model_luma-ray-3-2",
               prompt="a knight", params={"duration": "5s"})


def state_of(*events):
    return replay(events).jobs[KEY]


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


@pytest.fixture
def manifest(tmp_path):
    """MANIFEST as sweep.yaml in a fresh folder."""
    path = tmp_path / "sweep.yaml"
    path.write_text(MANIFEST)
    return path


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


def job_states(output_dir):
    """What `plan` shows per key of an output folder's ledgers (`ledger_states` read
    through `ledger_view`), as {key: {state, jobId, files, error}}."""
    return {key: dict(zip(("state", "jobId", "files", "error"), ledger_view(*found)))
            for key, found in ledger_states(output_dir).items()}
