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
        data = video_for(record["jobId"])
        target.write_bytes(data)
        record["files"] = [{"path": relative, "sha256": hashlib.sha256(data).hexdigest(),
                            "bytes": len(data)}]
    return record
