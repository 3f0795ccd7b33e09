"""Taking an earlier result into place instead of paying for it again.

A result is taken only when every file of it still has its recorded sha256 (`intact`),
and each is hard-linked (or copied, across filesystems) to the name this job's files
get, read back and checked before the `reused` event records it. Anything short of that
(a source gone or altered, a destination name holding another file) leaves the job to
be submitted as usual: a result is never taken on trust, and nothing is overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from batchgen.durable import link_or_copy
from batchgen.jobs import Job
from batchgen.reuse.index import Result
from batchgen.run.download import asset_filename, file_intact


def intact(result: Result) -> bool:
    """Every file of the result is there with its recorded size and sha256."""
    return bool(result.files) and all(file_intact(Path(path), f)
                                      for path, f in zip(result.paths(), result.files))


def take(job: Job, result: Result, output: Path) -> list[dict[str, Any]] | None:
    """Put the result's files in place as `job`'s (the caller holds the folder's lock);
    their file records (`assetId`, `path` relative to `output`, `bytes`, `sha256`, and
    `source`, the path taken from), or None when the result cannot be taken."""
    placed = []
    for index, (path, source) in enumerate(zip(result.paths(), result.files)):
        rel = asset_filename(job.filename, index)
        target = output / rel
        if os.path.lexists(target):
            if not file_intact(target, source):
                return None  # another file has that name: the usual download handles it
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                link_or_copy(Path(path), target)
            except OSError:
                return None
            if not file_intact(target, source):  # altered since it was checked
                target.unlink(missing_ok=True)
                return None
        placed.append({"assetId": source.get("assetId"), "path": rel, "bytes": source["bytes"],
                       "sha256": source["sha256"], "source": path})
    return placed or None


def reused_event(job: Job, result: Result, files: list[dict[str, Any]]) -> dict[str, Any]:
    """The ledger's `reused` event: the key done at no cost in this batch, from where."""
    return {"event": "reused", "key": job.key, "id": job.id, "sample": job.sample,
            "from": result.output, "jobId": result.job_id,
            "assetIds": [f["assetId"] for f in files], "files": files,
            "originalCost": result.cost}
