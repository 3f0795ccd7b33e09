"""Waiting for jobs to become final, behind one small interface.

`Poller.wait_final(job_id)` returns the final Job. The implementation here asks for
each job on its own (`GET /jobs/{id}`) at a fixed interval; a batched poller built on
the job list can replace it without touching the runner.
"""

from __future__ import annotations

from typing import Any, Protocol

import anyio

from batchgen.errors import JobRejected, RetriableError
from batchgen.jobs import FINAL_STATUSES


class Poller(Protocol):
    async def wait_final(self, job_id: str) -> dict[str, Any]:
        """Wait until the job is final (success, failure or canceled) and return it."""
        ...


class JobClient(Protocol):
    async def get_job(self, job_id: str) -> dict[str, Any]: ...


def unwrap_job(answer: dict[str, Any]) -> dict[str, Any]:
    """The Job itself, whether the caller got `{"job": Job}` or the Job."""
    inner = answer.get("job")
    return inner if isinstance(inner, dict) else answer


class PerJobPoller:
    """Polls one job at a time with `GET /jobs/{id}` every `interval` seconds."""

    def __init__(self, client: JobClient, *, interval: float, not_found_tries: int = 3):
        self._client = client
        self.interval = interval
        self.not_found_tries = not_found_tries
        self.calls = 0

    async def wait_final(self, job_id: str) -> dict[str, Any]:
        """Wait until the job is final and return it; a lasting 404 (JobRejected) propagates."""
        not_found = 0
        while True:
            self.calls += 1
            try:
                job = unwrap_job(await self._client.get_job(job_id))
            except RetriableError:
                # The client already retried; the job keeps running meanwhile, so just
                # ask again at the next tick rather than give up on it.
                job = None
            except JobRejected:
                # A job the API just accepted may not be readable everywhere at once:
                # only a 404 that lasts makes the job fail.
                not_found += 1
                if not_found >= self.not_found_tries:
                    raise
                job = None
            if job is not None and job.get("status") in FINAL_STATUSES:
                return job
            await anyio.sleep(self.interval)
