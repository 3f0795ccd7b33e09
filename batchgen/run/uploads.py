"""Local frames (startFrame/endFrame images) uploaded once per content hash.

The ledger's `upload` events remember which asset id each sha256 became, so a frame
used by many jobs, or by later runs, is sent once. Uploads happen lazily, when the
first job that needs a frame is about to be submitted.

An upload that fails for good (refused, or still failing after the client's retries)
fails only the jobs that use that frame, each with the API's words, before anything is
submitted for them; it is not tried again in the same run (the next run tries again).
A 401/403 (AccessDenied) is not a frame's problem: it stops the batch.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Protocol

import anyio

from batchgen.errors import AccessDenied, APIError, JobRejected
from batchgen.jobs import Job, LocalFrame
from batchgen.run.journal import RunLedger


class UploadClient(Protocol):
    async def upload_image(self, data: bytes, name: str) -> dict[str, Any]: ...


class FrameUploads:
    """Turns a job's local frames into asset ids, uploading each content hash once."""

    def __init__(self, client: UploadClient, ledger: RunLedger, *, reuse_recorded: bool = True,
                 on_upload: Callable[[LocalFrame, str], None] | None = None):
        self._client = client
        self._ledger = ledger
        # An API that starts empty each run (the in-process simulator) cannot know the
        # assets earlier runs uploaded: then only this run's uploads are reused.
        self._known: dict[str, str] = ledger.state.uploads if reuse_recorded else {}
        self._on_upload = on_upload
        self._locks: dict[str, anyio.Lock] = {}
        self._failed: dict[str, JobRejected] = {}  # sha256 -> why its upload failed this run
        self.uploaded = 0  # uploads made by this run

    async def asset_ids(self, job: Job) -> dict[str, str]:
        """Map each local frame of `job` (by sha256) to its asset id, uploading if needed."""
        assets: dict[str, str] = {}
        for frame in job.frames.values():
            assets[frame.sha256] = await self._ensure(frame)
        return assets

    async def _ensure(self, frame: LocalFrame) -> str:
        known = self._known.get(frame.sha256)
        if known:
            return known
        lock = self._locks.setdefault(frame.sha256, anyio.Lock())
        async with lock:
            # Another job may have uploaded the same content while we waited.
            known = self._known.get(frame.sha256)
            if known:
                return known
            failed = self._failed.get(frame.sha256)
            if failed is not None:
                raise JobRejected(failed.message, status=failed.status, hint=failed.hint)
            try:
                data = await anyio.Path(frame.path).read_bytes()
            except OSError as exc:
                raise JobRejected(f"cannot read {frame.display}: {exc.strerror or exc}") from None
            if hashlib.sha256(data).hexdigest() != frame.sha256:
                # Identity is the content hash: sending other bytes under it would lie.
                raise JobRejected(f"{frame.display} changed after the manifest was checked; "
                                  "run the batch again to use the new image")
            try:
                answer = await self._client.upload_image(data, frame.path.name)
            except AccessDenied:
                raise
            except APIError as exc:
                failure = JobRejected(f"the upload of {frame.display} failed: {exc.message}",
                                      status=exc.status, hint=exc.hint)
                self._failed[frame.sha256] = failure
                raise failure from None
            asset = answer.get("asset", answer)
            asset_id = str(asset["id"])
            self._ledger.record({"event": "upload", "sha256": frame.sha256,
                                 "path": frame.display, "assetId": asset_id})
            self._known[frame.sha256] = asset_id
            self.uploaded += 1
            if self._on_upload:
                self._on_upload(frame, asset_id)
            return asset_id
