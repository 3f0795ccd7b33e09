"""Waiting for jobs to become final, behind one small interface.

`Poller.wait_final(job_id)` returns the final Job, or None when the job could not be
read for a grace period: a job that has a jobId is never failed by a read error (a
fresh job may answer 404 for a while), it stays running for the next run. The
implementation here asks for each job on its own (`GET /jobs/{id}`) at a fixed
interval; the batched poller (`batched.py`) is the runner's default.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import anyio

from batchgen.errors import JobRejected, RetriableError
from batchgen.jobs import FINAL_STATUSES


class Poller(Protocol):
    """Everything the runner asks of a poller, so it never checks what a poller can do.

    The runner enters it with `async with` for the run, downloads through its `assets`
    (the client, or a cache the poller fills from its own calls) and tells it when the
    API refused a submission after the poller freed slots early (`refused`).
    """

    assets: Any

    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, *exc_info: Any) -> None: ...

    async def wait_final(self, job_id: str) -> dict[str, Any] | None:
        """Wait until the job is final (success, failure or canceled) and return it;
        None if it could not be read for the poller's grace period."""
        ...

    def refused(self) -> None:
        """A 429 came after this poller freed slots by prediction: trust them less. A
        poller that never frees a slot early does nothing."""
        ...


class JobClient(Protocol):
    async def get_job(self, job_id: str) -> dict[str, Any]: ...


def unwrap_job(answer: dict[str, Any]) -> dict[str, Any]:
    """The Job itself, whether the caller got `{"job": Job}` or the Job."""
    inner = answer.get("job")
    return inner if isinstance(inner, dict) else answer


class PerJobPoller:
    """Polls one job at a time with `GET /jobs/{id}` every `interval` seconds."""

    def __init__(self, client: JobClient, *, interval: float, unreadable_grace: float = 300.0):
        self._client = client
        self.interval = interval
        self.unreadable_grace = unreadable_grace
        self.calls = 0
        self.assets = client  # downloads ask the client for each asset

    async def __aenter__(self) -> "PerJobPoller":
        return self  # nothing runs in the background

    async def __aexit__(self, *exc_info: Any) -> None:
        return None

    def refused(self) -> None:
        """It never frees a slot early, so a 429 says nothing about it."""

    async def wait_final(self, job_id: str) -> dict[str, Any] | None:
        """Wait until the job is final and return it; None once it has been unreadable
        (404, or errors the client's retries did not clear) for `unreadable_grace` s.
        A 400/422 (JobRejected) propagates."""
        last_read = time.monotonic()
        while True:
            self.calls += 1
            try:
                job = unwrap_job(await self._client.get_job(job_id))
                last_read = time.monotonic()
            except RetriableError:
                job = None  # the client already retried; the job keeps running meanwhile
            except JobRejected as exc:
                if exc.status != 404:
                    raise
                job = None  # a job the API just accepted may not be readable yet
            if job is not None and job.get("status") in FINAL_STATUSES:
                return job
            if time.monotonic() - last_read >= self.unreadable_grace:
                return None
            await anyio.sleep(self.interval)
