"""Verified downloads: a file appears under its final name only when complete and checked.

Each asset streams into a temporary file in the destination folder while its sha256 is
computed; the length is checked against the asset's stated size and the response's
Content-Length; the file is fsynced, renamed into place, and only then recorded as a
`file` event. An expired signed URL (401/403/410 from the CDN) is renewed at once by
fetching the asset again (a fresh URL is one request away, so waiting would only slow
the batch), at most `renewals` times per asset; a truncated or dropped download, or a
5xx, is tried again after a doubling back-off.

A video may still be `pending` (no URL) for a while after its job succeeded: it is
waited for (`wait_ready`, outside the download slots) with a back-off doubling from
`pending_wait` to `pending_cap`, for up to `pending_limit` (15 minutes by default).
Past it the download is reported as not done yet (`AssetNotReady`): the job stays
succeeded without its file, and the next run fetches it, never submitting it again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, AsyncIterator, Callable, Protocol

import anyio
import httpx

from batchgen.durable import fsync_dir, link_or_copy
from batchgen.errors import APIError, AssetNotReady, DownloadFailed, JobRejected, RetriableError
from batchgen.jobs import Job
from batchgen.run.journal import RunLedger

log = logging.getLogger(__name__)

# What a CDN answers for a signed URL that is no longer valid.
EXPIRED_STATUSES = frozenset({401, 403, 410})
CHUNK = 1 << 16


class StreamedBody(Protocol):
    headers: Any

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]: ...


class DownloadClient(Protocol):
    async def get_asset(self, asset_id: str) -> dict[str, Any]: ...
    def download(self, url: str) -> AbstractAsyncContextManager[StreamedBody]: ...


@dataclass
class DownloadTiming:
    attempts: int = 6
    retry_wait: float = 1.0  # doubled after each failed attempt
    pending_wait: float = 1.0  # first wait while an asset is not ready yet, then doubled
    pending_cap: float = 30.0  # the longest single wait for a pending asset
    pending_limit: float = 900.0  # how long a pending asset is waited for in one run
    # Immediate renewals of an expired URL per asset; beyond them an expiry counts as an
    # ordinary failed attempt, so a CDN that refuses every URL cannot loop forever.
    renewals: int = 5


def asset_filename(filename: str, index: int) -> str:
    """Where the `index`-th (0-based) asset of a job goes: the 2nd+ get -2, -3 before the extension."""
    if index == 0:
        return filename
    path = PurePosixPath(filename)
    return str(path.with_name(f"{path.stem}-{index + 1}{path.suffix}"))


def file_intact(path: Path, record: dict[str, Any]) -> bool:
    """True when `path` exists with the size and sha256 the ledger recorded for it."""
    try:
        if path.stat().st_size != record.get("bytes"):
            return False
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return False
    return digest.hexdigest() == record.get("sha256")


class OutputFolder:
    """The output folder's files as the ledger gives them to keys: a download streamed
    into place and checked before it is recorded, the files a job still lacks, and the
    temporary files a killed run left behind."""

    def __init__(self, ledger: RunLedger, output: Path):
        self._ledger = ledger
        self._output = output
        self.downloaded = 0

    def remove_leftovers(self) -> int:
        """Delete temporary files a killed run left behind (the caller holds the lock)."""
        removed = 0
        for leftover in self._output.rglob(".*.part"):
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed

    async def missing(self, job: Job) -> list[tuple[int, str]]:
        """The (index, assetId) of the job's assets without an intact file on disk."""
        ks = self._ledger.state.jobs[job.key]
        todo = []
        for index, asset_id in enumerate(ks.asset_ids or []):
            record = _latest_file(ks.files, asset_id)
            path = self._output / asset_filename(job.filename, index)
            if record is None or record.get("path") != _rel(job, index) or not await anyio.to_thread.run_sync(
                    file_intact, path, record):
                todo.append((index, asset_id))
        return todo

    def prepare(self, job: Job, index: int) -> None:
        """Make the folder the job's `index`-th file goes in, before its first attempt."""
        (self._output / _rel(job, index)).parent.mkdir(parents=True, exist_ok=True)

    async def place(self, job: Job, index: int, opened: AbstractAsyncContextManager[StreamedBody],
                    expected: int | None) -> tuple[int, str]:
        """Stream a body into the job's `index`-th file, giving its size and sha256;
        `_Retry` if it came short of its Content-Length or of the asset's `expected` size."""
        rel = _rel(job, index)
        final = self._output / rel
        tmp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
        digest = hashlib.sha256()
        size = 0
        try:
            async with opened as response:
                stated = _int(response.headers.get("content-length"))
                with tmp.open("wb") as handle:
                    async for chunk in response.aiter_bytes(CHUNK):
                        handle.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
            for label, want in (("Content-Length", stated), ("asset size", expected)):
                if want is not None and want != size:
                    raise _Retry(f"truncated download: {size} bytes, {label} says {want}")
            self._keep_earlier(job.key, rel, final)
            os.replace(tmp, final)
            fsync_dir(final.parent)
        finally:
            tmp.unlink(missing_ok=True)
        return size, digest.hexdigest()

    def record(self, job: Job, index: int, asset_id: str, size: int, digest: str) -> Path:
        """Record a file `place` put in place as the job's `file` event; its path."""
        rel = _rel(job, index)
        self._ledger.record({"event": "file", "key": job.key, "assetId": asset_id,
                             "path": rel, "bytes": size, "sha256": digest})
        self.downloaded += 1
        log.debug("%s: %d bytes, sha256 %s", rel, size, digest)
        return self._output / rel

    def _keep_earlier(self, key: str, rel: str, final: Path) -> None:
        """Before `final` is replaced: if it is a verified file the ledger gives to another
        key (a template without {key} and an edited prompt, or another manifest's run),
        keep it as `kept_name(rel, that key)` and record it there, so a paid result is
        never lost. Linked (or copied) and recorded first, so a crash at any point leaves
        the file under a name the ledger gives it."""
        if not final.exists():
            return
        for other in self._ledger.state.jobs.values():
            if other.key == key:
                continue
            for record in other.files:
                if record.get("path") != rel or not file_intact(final, record):
                    continue
                kept_rel = kept_name(rel, other.key)
                kept = self._output / kept_rel
                if not file_intact(kept, record):
                    link_or_copy(final, kept)
                self._ledger.record({"event": "file", "key": other.key,
                                     "assetId": record["assetId"], "path": kept_rel,
                                     "bytes": record.get("bytes"), "sha256": record.get("sha256"),
                                     "keptFrom": rel})
                log.info("%s held the file of key %s: kept as %s", rel, other.key, kept_rel)


class Downloader:
    """Downloads every asset of a succeeded job into its output folder, trying again
    (a renewed URL, a doubling back-off) until the attempts run out."""

    def __init__(self, client: DownloadClient, folder: OutputFolder, *,
                 timing: DownloadTiming, clock: Callable[[], float] = time.monotonic):
        self._client = client
        self.folder = folder
        self._timing = timing
        self._clock = clock

    async def wait_ready(self, job: Job, index: int, asset_id: str) -> dict[str, Any] | None:
        """The asset once it is no longer pending (None if it could not be read: `fetch`
        tries again); AssetNotReady if it stays pending past `pending_limit`."""
        timing = self._timing
        started, wait = self._clock(), timing.pending_wait
        while True:
            try:
                asset = await self._client.get_asset(asset_id)
            except (RetriableError, httpx.HTTPError):
                return None
            except JobRejected as exc:
                raise DownloadFailed(f"asset {asset_id}: {exc.message}") from None
            if _ready(asset) or asset.get("status") not in (None, "pending"):
                return asset
            waited = self._clock() - started
            if waited >= timing.pending_limit:
                raise AssetNotReady(
                    f"{_rel(job, index)}: asset {asset_id} was still pending {waited:.0f} s after "
                    f"its job succeeded (limit {timing.pending_limit:g} s): not downloaded yet; "
                    "the next run fetches it, without submitting the job again")
            log.debug("%s: asset %s pending; asking again in %.2fs", _rel(job, index), asset_id, wait)
            await anyio.sleep(min(wait, max(0.0, timing.pending_limit - waited)))
            wait = min(wait * 2, timing.pending_cap)

    async def fetch(self, job: Job, index: int, asset_id: str,
                    asset: dict[str, Any] | None = None) -> Path:
        """Download one asset to its final name and record it; DownloadFailed if impossible.

        `asset`: the asset as `wait_ready` just read it (its URL is used first)."""
        rel = _rel(job, index)
        self.folder.prepare(job, index)
        wait = self._timing.retry_wait
        problem = "no attempt made"
        attempts = renewals = 0
        while attempts < self._timing.attempts:
            try:
                if asset is None:
                    asset = await self._client.get_asset(asset_id)
                if not _ready(asset):
                    problem = f"asset {asset_id} is not ready (status {asset.get('status')})"
                    attempts += 1
                    log.debug("%s: %s", rel, problem)
                    asset = None
                    await anyio.sleep(self._timing.pending_wait)
                    continue
                current, asset = asset, None  # the next attempt reads the asset again
                size, digest = await self._download(job, index, current)
            except _Expired as exc:
                problem = str(exc)
                if renewals < self._timing.renewals:
                    renewals += 1
                    log.info("%s: %s (renewal %d)", rel, problem, renewals)
                    continue
            except _Retry as exc:
                problem = str(exc)
            except JobRejected as exc:
                raise DownloadFailed(f"asset {asset_id}: {exc.message}") from None
            except (RetriableError, httpx.HTTPError, OSError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                return self.folder.record(job, index, asset_id, size, digest)
            attempts += 1
            if attempts < self._timing.attempts:
                log.info("%s: %s; trying again in %.2fs", rel, problem, wait)
                await anyio.sleep(wait)
                wait *= 2
        log.info("%s: giving up after %d attempts: %s", rel, attempts, problem)
        raise DownloadFailed(f"{rel}: {problem}")

    async def _download(self, job: Job, index: int, asset: dict[str, Any]) -> tuple[int, str]:
        expected = _int((asset.get("properties") or {}).get("size"))
        try:
            # The client answers only a 200 with a body; any other status is raised
            # as an APIError, handled below.
            return await self.folder.place(job, index, self._client.download(asset["url"]), expected)
        except APIError as exc:
            if exc.status in EXPIRED_STATUSES:
                raise _Expired(f"download URL refused (HTTP {exc.status}); renewing it") from None
            raise


def kept_name(rel: str, key: str) -> str:
    """Where a file another key's download would replace is kept: its key before the
    extension, e.g. knight-720p.mp4 -> knight-720p.0123456789abcdef.mp4."""
    path = PurePosixPath(rel)
    return str(path.with_name(f"{path.stem}.{key}{path.suffix}"))


class _Retry(Exception):
    """This attempt failed in a way a new attempt can fix."""


class _Expired(_Retry):
    """The CDN refused the signed URL: fetching the asset again gives a fresh one."""


def _ready(asset: dict[str, Any]) -> bool:
    return asset.get("status") in (None, "success") and bool(asset.get("url"))


def _rel(job: Job, index: int) -> str:
    return asset_filename(job.filename, index)


def _latest_file(files: list[dict[str, Any]] | None, asset_id: str) -> dict[str, Any] | None:
    found = None
    for record in files or []:
        if record.get("assetId") == asset_id:
            found = record
    return found


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
