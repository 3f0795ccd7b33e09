"""Batched polling: one job-list call watches every running job at once.

`ListPoller.wait_final(job_id)` has the same contract as the per-job poller, but all
waiting jobs share one loop that asks `GET /jobs?type=custom&updatedAfter=...`: each
call reports every job that changed since the last one, however many are running
(`listing`: its pages, and the jobs asked alone when the list cannot tell). When jobs
succeed, their download URLs are fetched together with one `POST /assets/get-bulk`,
made at the next round instead when that round comes within `bulk_wait` of the first
success waiting (one call then serves both rounds' successes).

When to ask comes from what the API reports, never from constants (`predict`):
- each running job's pace (progress, `updatedAt`, its `in-progress` date) and how the
  finished jobs' ends related to their pace give a predicted end, expected and at the
  latest; a call is timed just after a cluster of latest ends, the cluster spanning the
  time in which about `ends_per_round` jobs end (a call and its get-bulk serve them all,
  so polling costs at most about 2 / `ends_per_round` calls per job), at most `gather_max`;
- jobs nobody can predict yet are asked about at a gap of half the typical job's
  life (the finished jobs' median), and before any job finished at a third of the time since
  the first was watched: early calls for short jobs, few calls for long ones; never
  further apart than `interval`, never closer than `min_gap`.
With `on_expected_end`, the runner learns the moment a job has ended at the latest by
prediction, so its slot takes the next submission without waiting for the list call
that confirms it. A 429 the runner blames on that (`refused`) doubles the margin; the
third turns it off.

A job is never lost: one that cannot be read at all, not in the list nor alone (a
fresh job the API does not show yet answers 404), is waited for during
`unreadable_grace` seconds since it was last seen; past that `wait_final` returns None:
the job stays running for the next run, never failed by a read error.
"""

from __future__ import annotations

import contextlib
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import anyio

from batchgen.errors import AccessDenied, APIError
from batchgen.run.polling.assets import AssetCache
from batchgen.run.polling.listing import ListReader
from batchgen.run.polling.predict import EndPredictor
from batchgen.run.polling.schedule import Schedule
from batchgen.run.polling.watchlist import Watch, Watchlist


class ListClient(Protocol):
    async def list_jobs(self, **filters: Any) -> tuple[list[dict], str | None]: ...
    async def get_job(self, job_id: str) -> dict: ...
    async def get_assets(self, asset_ids: Any) -> list[dict]: ...
    async def get_asset(self, asset_id: str) -> dict: ...
    def download(self, url: str) -> AbstractAsyncContextManager[Any]: ...


@dataclass
class ListPollTiming:
    """When the poller asks, in seconds of the client's clock."""

    interval: float = 8.0  # longest gap between two list calls while jobs are watched
    min_gap: float = 0.5  # shortest gap between two list calls
    ends_per_round: float = 7.0  # predicted ends one list call should gather
    gather_max: float = 4.5  # but an end waits at most this long for others to share its call
    margin: float = 0.1  # ask this long after a cluster of latest predicted ends
    release_margin: float = 0.02  # free a slot this long after a job's latest predicted end
    overlap: float = 2.0  # updatedAfter reaches back this far behind the newest update seen
    stale_after: float = 30.0  # a job the list has not reported for this long is asked for alone
    unreadable_grace: float = 300.0  # a job unseen this long is left running for the next run
    page_size: int = 100
    bulk_wait: float = 2.5  # a success's download URL waits at most this long to share a get-bulk


class ListPoller:
    """Waits for many jobs with shared job-list calls; use as `async with`."""

    def __init__(self, client: ListClient, *, timing: ListPollTiming | None = None,
                 clock: Callable[[], float] = time.time,
                 on_expected_end: Callable[[str], None] | None = None):
        self._client = client
        self.timing = timing or ListPollTiming()
        self._clock = clock
        self.predictor = EndPredictor()
        self.watchlist = Watchlist(self.timing, self.predictor)
        self._watched = self.watchlist.jobs
        self._changed = anyio.Event()
        self.schedule = Schedule(self.timing, self.predictor, self._watched, clock,
                                 on_expected_end)
        self.reader = ListReader(client, self.timing, self.watchlist, clock)
        self._tg: anyio.abc.TaskGroup | None = None
        self.assets = AssetCache(client)
        self.rounds = 0
        self.bulk_calls = 0
        # Successes whose download URLs wait for the next round's get-bulk.
        self._unfetched: list[tuple[list[str], anyio.Event]] = []
        self._unfetched_since: float | None = None

    @property
    def list_calls(self) -> int:
        return self.reader.list_calls

    @property
    def job_calls(self) -> int:
        return self.reader.job_calls

    async def __aenter__(self) -> "ListPoller":
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._loop)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        # The loop hands API errors to the waiters rather than raising them, so an
        # exception of the `async with` body propagates as it is, not wrapped in a group.
        await self._tg.__aexit__(None, None, None)

    async def wait_final(self, job_id: str) -> dict[str, Any] | None:
        """Wait until the job is final and return it; None if it could not be read for
        `unreadable_grace` seconds (it stays running). A 400/422 (JobRejected) propagates."""
        if self._tg is None:
            raise RuntimeError("ListPoller.wait_final needs `async with ListPoller(...)`")
        watch = self._watched.get(job_id)
        if watch is None:
            now = self._clock()
            watch = self._watched[job_id] = Watch(job_id, registered=now, last_seen=now)
            self.schedule.watching(now)
            self._changed.set()
        watch.waiters += 1
        try:
            await watch.done.wait()
        finally:
            watch.waiters -= 1
            if not watch.done.is_set() and watch.waiters == 0:
                self._watched.pop(job_id, None)
                self.predictor.forget(job_id)
        if watch.error is not None:
            raise watch.error
        return watch.final

    def refused(self) -> None:
        """The API refused a submission after slots were freed by prediction: the
        predictions were early (see `Schedule.refused`)."""
        self.schedule.refused()

    # -- the loop ------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            if not self._watched:
                if self._unfetched:
                    # No round comes to fetch them with. A denial reaches the downloader,
                    # which asks for each asset alone.
                    with contextlib.suppress(AccessDenied):
                        await self._settle()
                    continue
                self._changed = anyio.Event()
                await self._changed.wait()
                continue
            due = self.schedule.next_round()
            delay = min(due, self.schedule.next_release()) - self._clock()
            if delay > 0:
                await anyio.sleep(delay)
            self.schedule.release_due()
            if self._watched and self._clock() >= due:
                try:
                    await self._round()
                except AccessDenied as exc:
                    # Every waiter learns it: the runner stops the batch on AccessDenied.
                    for watch in self._watched.values():
                        watch.error = exc
                    await self._settle()

    async def _round(self) -> None:
        started = self._clock()
        self.schedule.round_at(started)
        self.rounds += 1
        await self.reader.read(started)
        self.watchlist.after_round(started, self.reader.unread)
        await self._settle()

    async def _settle(self) -> None:
        """Hand settled jobs to their waiters, then fetch their download URLs in one call,
        unless the next round comes soon enough for its call to fetch them too."""
        finished, asset_ids = self.watchlist.take_settled()
        if asset_ids:
            self._unfetched.append((asset_ids, self.assets.expect(asset_ids)))
            self._unfetched_since = self._unfetched_since or self._clock()
        for watch in finished:
            watch.done.set()
        if not self._unfetched or (
                self._watched and self.schedule.next_round() - self._unfetched_since
                <= self.timing.bulk_wait):
            return
        batches, self._unfetched, self._unfetched_since = self._unfetched, [], None
        asset_ids = [a for ids, _ in batches for a in ids]
        assets: list[dict[str, Any]] = []
        try:
            self.bulk_calls += 1
            assets = await self._client.get_assets(asset_ids)
        except AccessDenied:
            raise
        except APIError:
            pass  # the downloader asks for each asset alone instead
        finally:
            for ids, ready in batches:
                self.assets.fill(ids, assets, ready)

