"""A finished sweep on disk, as the runner leaves it, for the report's tests.

Two prompts x resolution (3 values) x style (a prompt variable, 2 values) x 2 samples:
24 jobs, one failed and one still running; every succeeded job has the real small MP4
the simulator makes for it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from batchgen.simulator.media import video_for

AXES = {"resolution": ["540p", "720p", "1080p"], "style": ["noir", "watercolor"]}
PROMPTS = {
    "knight": "A knight walks through fog toward the camera, {style}",
    "valley": "Slow aerial push-in over misty valleys, {style}",
}
FAILED = ("valley", "1080p", "watercolor", 2)
RUNNING = ("knight", "540p", "noir", 2)


def make_sweep(output: Path) -> tuple[list[dict[str, Any]], dict[str, list[Any]], str]:
    """Lay out the sweep's files under `output`; return (records, axes, name)."""
    records = []
    n = 0
    for prompt_id, template in PROMPTS.items():
        for resolution in AXES["resolution"]:
            for style in AXES["style"]:
                for sample in (1, 2):
                    n += 1
                    records.append(_record(output, n, prompt_id, template, resolution, style, sample))
    return records, AXES, "knight-sweep"


def _record(output: Path, n: int, prompt_id: str, template: str, resolution: str, style: str,
            sample: int) -> dict[str, Any]:
    where = (prompt_id, resolution, style, sample)
    record: dict[str, Any] = {
        "key": hashlib.sha256(repr(where).encode()).hexdigest()[:16],
        "id": prompt_id,
        "sample": sample,
        "prompt": template.format(style=style),
        "params": {"duration": "5s", "aspectRatio": "16:9", "resolution": resolution},
        "variables": {"style": style},
        "state": "succeeded",
        "jobId": f"job_{n:04d}",
        "files": [],
        "error": None,
        "cost": {"540p": 8, "720p": 12, "1080p": 20}[resolution],
        "submittedAt": "2026-11-27T10:00:00Z",
        "finishedAt": f"2026-11-27T10:00:{10 + n:02d}Z",
    }
    if where == FAILED:
        record.update(state="failed", error="The model rejected the request: content policy",
                      finishedAt=None, cost=None)
    elif where == RUNNING:
        record.update(state="running", finishedAt=None)
    else:
        relative = f"{prompt_id}/{resolution}-{style}-{sample}.mp4"
        target = output / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        data = video_for(record["jobId"], body={"prompt": record["prompt"], **record["params"]})
        target.write_bytes(data)
        record["files"] = [{"path": relative, "sha256": hashlib.sha256(data).hexdigest(),
                            "bytes": len(data)}]
    return record


def make_finished_run(output: Path) -> list[dict[str, Any]]:
    """`make_sweep`, with the batch.json and ledger a run leaves, so `batchgen report`
    reads the folder; returns the records."""
    from types import SimpleNamespace

    from batchgen.jobs import Job
    from batchgen.ledger.events import LedgerWriter, ledger_path
    from batchgen.ledger.status import write_batch_snapshot

    records, axes, name = make_sweep(output)
    jobs = [Job(key=r["key"], id=r["id"], index=1 + list(PROMPTS).index(r["id"]), sample=r["sample"],
                model="model_luma-ray-3-2", prompt=r["prompt"], params=r["params"],
                variables=r["variables"], filename=(r["files"] or [{"path": f"{r['key']}.mp4"}])[0]["path"])
            for r in records]
    write_batch_snapshot(SimpleNamespace(name=name, model="model_luma-ray-3-2", axes=axes, jobs=jobs), output)
    with LedgerWriter(ledger_path(output)) as ledger:
        for job, record in zip(jobs, records):
            ledger.append({"event": "intent", "key": job.key, "id": job.id, "sample": job.sample,
                           "body": job.body()})
            ledger.append({"event": "submitted", "key": job.key, "jobId": record["jobId"], "cost": 12})
            if record["state"] == "failed":
                ledger.append({"event": "failed", "key": job.key, "jobId": record["jobId"],
                               "error": record["error"]})
            elif record["state"] == "succeeded":
                ledger.append({"event": "succeeded", "key": job.key, "jobId": record["jobId"],
                               "assetIds": [f"asset_{job.key}"], "cost": record["cost"]})
                ledger.append({"event": "file", "key": job.key, "assetId": f"asset_{job.key}",
                               **record["files"][0]})
    return records
