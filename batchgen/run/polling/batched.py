"""Batched polling: one job-list call watches every running job at once.

`ListPoller.wait_final(job_id)` has the same contract as the per-job poller, but all
waiting jobs share one loop that asks `GET /jobs?type=custom&updatedAfter=...`
(following pagination, short and empty pages included): each call reports every job
that changed since the last one, however many are running. When jobs succeed, their
download URLs are fetched together with one `POST /assets/get-bulk`.

When to ask comes from what the API reports, never from constants (`predict`):
- each running job's pace (progress, `updatedAt`, its `in-progress` date) and how the
  finished jobs' ends related to their pace give a predicted end, expected and at the
  latest; a call is timed just after a cluster of latest ends, the cluster spanning the
  time in which about `ends_per_round` jobs end (a call and its get-bulk serve them all,
  so polling costs about 2 / `ends_per_round` calls per job), at most `gather_max`;
- jobs nobody can predict yet are asked about at a gap of half the typical job's
  life (the finished jobs' median), and before any job finished at half the time since
  the first was watched: early calls for short jobs, few calls for long ones; never
  further apart than `interval`, never closer than `min_gap`.
With `on_expected_end`, the runner learns the moment a job has ended at the latest by
prediction, so its slot takes the next submission without waiting for the list call
that confirms it. A 429 the runner blames on that (`refused`) doubles the margin; the
third turns it off.

Fallbacks, so a job is never lost: a job the list has not reported for `stale_after`
seconds is asked for alone (`GET /jobs/{id}`), and while the list call fails every
watched job is asked for alone at each round. A job that cannot be read at all, not
in the list nor alone (a fresh job the API does not show yet answers 404), is waited
for during `unreadable_grace` seconds since it was last seen; past that `wait_final`
returns None: the job stays running for the next run, never failed by a read error.
"""

from __future__ import annotations

import math
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import anyio

from batchgen.errors import AccessDenied, APIError, JobRejected
from batchgen.jobs import FINAL_STATUSES
from batchgen.run.polling.predict import EndPredictor
from batchgen.run.polling.single import unwrap_job
from batchgen.timestamps import epoch, iso

_ALONE_AT_ONCE = 8  # per-job GETs in flight at once, when falling back
_REFUSALS = 3  # 429s blamed on early releases before they are turned off


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
    gather_max: float = 4.0  # but an end waits at most this long for others to share its call
    margin: float = 0.1  # ask this long after a cluster of latest predicted ends
    release_margin: float = 0.02  # free a slot this long after a job's latest predicted end
    overlap: float = 2.0  # updatedAfter reaches back this far behind the newest update seen
    stale_after: float = 30.0  # a job the list has not reported for this long is asked for alone
    unreadable_grace: float = 300.0  # a job unseen this long is left running for the next run
    page_size: int = 100


@dataclass
class _Watch:
    job_id: str
    registered: float
    last_seen: float
    done: anyio.Event = field(default_factory=anyio.Event)
    final: dict[str, Any] | None = None
    error: BaseException | None = None
    unreadable: bool = False  # given up for this run: not seen for the grace period
    expected: float | None = None  # predicted end, client clock
    latest: float | None = None
    overdue: bool = False  # a prediction proved wrong: keep to the gap for this job
    released: bool = False  # on_expected_end was called for it
    waiters: int = 0

    @property
    def settled(self) -> bool:
        return self.final is not None or self.error is not None or self.unreadable


class AssetCache:
    """Download URLs fetched in bulk, handed out once each; a client for the downloader.

    `get_asset` answers from the bulk fetch when it has (or is getting) the asset and
    asks the API for that asset alone otherwise: a renewed URL after an expired one
    always comes from the API.
    """

    def __init__(self, client: ListClient):
        self._client = client
        self._assets: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, anyio.Event] = {}
        self.hits = 0

    def expect(self, asset_ids: list[str]) -> anyio.Event:
        """Mark assets as being fetched; returns the event set when the fetch ends."""
        ready = anyio.Event()
        for asset_id in asset_ids:
            self._pending[asset_id] = ready
        return ready

    def fill(self, asset_ids: list[str], assets: list[dict[str, Any]], ready: anyio.Event) -> None:
        """Store a bulk answer (possibly empty, after an error) and wake the waiters."""
        for asset in assets:
            if isinstance(asset, dict) and asset.get("id") and asset.get("url"):
                self._assets[str(asset["id"])] = asset
        for asset_id in asset_ids:
            if self._pending.get(asset_id) is ready:
                del self._pending[asset_id]
        ready.set()

    async def get_asset(self, asset_id: str) -> dict[str, Any]:
        """The asset from the bulk fetch (waiting for it if under way), else from the API."""
        pending = self._pending.get(asset_id)
        if pending is not None:
            await pending.wait()
        asset = self._assets.pop(asset_id, None)
        if asset is not None:
            self.hits += 1
            return asset
        return await self._client.get_asset(asset_id)

    def download(self, url: str) -> AbstractAsyncContextManager[Any]:
        """The client's download, unchanged."""
        return self._client.download(url)


class ListPoller:
    """Waits for many jobs with shared job-list calls; use as `async with`."""

    def __init__(self, client: ListClient, *, timing: ListPollTiming | None = None,
                 clock: Callable[[], float] = time.time,
                 on_expected_end: Callable[[str], None] | None = None):
        self._client = client
        self.on_expected_end = on_expected_end
        self.early_release = True
        self.early_releases = 0
        self.refusals = 0
        self.timing = timing or ListPollTiming()
        self._release_margin = self.timing.release_margin
        self._clock = clock
        self._watched: dict[str, _Watch] = {}
        self._changed = anyio.Event()
        self.predictor = EndPredictor()
        self._cursor: float | None = None  # server clock: newest updatedAt seen
        self._offset = math.inf  # client clock minus server clock, at most
        self._first_watch: float | None = None
        self._last_round = -math.inf
        self._list_failing = False
        self._tg: anyio.abc.TaskGroup | None = None
        self.assets = AssetCache(client)
        self.list_calls = 0
        self.job_calls = 0
        self.bulk_calls = 0

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
            watch = self._watched[job_id] = _Watch(job_id, registered=now, last_seen=now)
            if self._first_watch is None:
                self._first_watch = self._last_round = now  # first jobs: they just started
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
        predictions were early. Wait twice as long past them; the third time, stop.
        Without an early release so far, the refusal is not about predictions."""
        if not self.early_releases:
            return
        self.refusals += 1
        self._release_margin *= 2
        if self.refusals >= _REFUSALS:
            self.early_release = False

    # -- the loop ------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            if not self._watched:
                self._changed = anyio.Event()
                await self._changed.wait()
                continue
            due = self.next_round()
            delay = min(due, self._next_release()) - self._clock()
            if delay > 0:
                await anyio.sleep(delay)
            self._release_due()
            if self._watched and self._clock() >= due:
                try:
                    await self._round()
                except AccessDenied as exc:
                    # Every waiter learns it: the runner stops the batch on AccessDenied.
                    for watch in self._watched.values():
                        watch.error = exc
                    await self._settle()

    def next_round(self) -> float:
        """When the next list call is due (client clock)."""
        t = self.timing
        gap = self._gap()
        due = self._last_round + gap
        ends = sorted(w.latest for w in self._watched.values()
                      if w.latest is not None and not w.overdue)
        if ends:
            gather = min(gap, self._gather())
            cluster = [e for e in ends if e <= ends[0] + gather]
            due = min(due, cluster[-1] + t.margin)
        return max(due, self._last_round + t.min_gap)

    def _gap(self) -> float:
        """The pace for jobs nobody can predict: half a typical life, or before any job
        finished, half the time the first one has been watched."""
        t = self.timing
        life = self.predictor.typical_life()
        if life is not None:
            gap = life / 2
        else:
            gap = (self._clock() - (self._first_watch or self._clock())) / 2
        return min(t.interval, max(t.min_gap, gap))

    def _gather(self) -> float:
        """How long it takes about `ends_per_round` of the watched jobs to end."""
        life = self.predictor.typical_life()
        if life is None:
            return self.timing.min_gap
        gather = self.timing.ends_per_round * life / max(1, len(self._watched))
        return min(self.timing.gather_max, gather)

    def _next_release(self) -> float:
        if self.on_expected_end is None or not self.early_release:
            return math.inf
        return min((w.latest + self._release_margin for w in self._watched.values()
                    if self._releasable(w)), default=math.inf)

    @staticmethod
    def _releasable(watch: _Watch) -> bool:
        return (watch.latest is not None and not watch.overdue and not watch.released
                and not watch.settled)

    def _release_due(self) -> None:
        """Tell the runner which jobs have (by prediction) just ended: their slots are free."""
        if self.on_expected_end is None or not self.early_release:
            return
        now = self._clock()
        for watch in list(self._watched.values()):
            if self._releasable(watch) and now >= watch.latest + self._release_margin:
                watch.released = True
                self.early_releases += 1
                self.on_expected_end(watch.job_id)

    async def _round(self) -> None:
        started = self._clock()
        self._last_round = started
        try:
            jobs = await self._list()
            self._list_failing = False
        except AccessDenied:
            raise
        except APIError:
            jobs, self._list_failing = [], True
        arrived = self._clock()
        for job in jobs:
            self._observe(job, started, arrived)
        alone = [w for w in self._watched.values() if not w.settled and (
            self._list_failing or started - w.last_seen >= self.timing.stale_after)]
        if alone:
            limiter = anyio.CapacityLimiter(_ALONE_AT_ONCE)

            async def ask(watch: _Watch) -> None:
                async with limiter:
                    await self._ask_alone(watch, started)

            async with anyio.create_task_group() as tg:
                for watch in alone:
                    tg.start_soon(ask, watch)
        for watch in self._watched.values():
            if not watch.settled and watch.latest is not None and started >= watch.latest:
                watch.overdue = True  # the prediction was wrong for this job
            if not watch.settled and started - watch.last_seen >= self.timing.unreadable_grace:
                watch.unreadable = True
        await self._settle()

    async def _list(self) -> list[dict[str, Any]]:
        # updatedAfter needs a type filter (the API's documented rule): these are custom jobs.
        filters: dict[str, Any] = {"type": "custom", "page_size": self.timing.page_size}
        if self._cursor is not None:
            filters["updated_after"] = iso(self._cursor - self.timing.overlap)
        else:
            # Nothing seen yet: reach back to just before the first job was watched.
            first = min(w.registered for w in self._watched.values())
            filters["updated_after"] = iso(first - self.timing.overlap - self.timing.interval)
        found: list[dict[str, Any]] = []
        token = None
        while True:
            self.list_calls += 1
            jobs, token = await self._client.list_jobs(**filters, pagination_token=token)
            found += jobs
            if not token:
                return found

    async def _ask_alone(self, watch: _Watch, now: float) -> None:
        self.job_calls += 1
        try:
            job = await self._client.get_job(watch.job_id)
        except JobRejected as exc:
            if exc.status != 404:
                watch.error = exc
            return  # 404: not readable yet (or any more); the grace decides
        except AccessDenied:
            raise
        except APIError:
            return  # try again at a later round; the job keeps running meanwhile
        self._observe(unwrap_job(job), now, self._clock())

    def _observe(self, job: dict[str, Any], now: float, arrived: float) -> None:
        updated = epoch(job.get("updatedAt"))
        if updated is not None:
            self._cursor = updated if self._cursor is None else max(self._cursor, updated)
            # The update happened before the answer arrived: this bounds the clock
            # offset from above, so predictions err late, never early.
            self._offset = min(self._offset, arrived - updated)
        watch = self._watched.get(str(job.get("jobId")))
        if job.get("status") in FINAL_STATUSES:
            self.predictor.finished(job)
            if watch is not None and not watch.settled:
                watch.last_seen, watch.final = now, job
            return
        if watch is None or watch.settled:
            return
        watch.last_seen = now
        predicted = self.predictor.observe(job)
        if predicted is not None and not watch.overdue and math.isfinite(self._offset):
            watch.expected = predicted.expected + self._offset
            watch.latest = predicted.latest + self._offset

    async def _settle(self) -> None:
        """Hand settled jobs to their waiters, then fetch their download URLs in one call."""
        finished = [w for w in self._watched.values() if w.settled]
        asset_ids: list[str] = []
        for watch in finished:
            del self._watched[watch.job_id]
            self.predictor.forget(watch.job_id)
            if watch.final is not None and watch.final.get("status") == "success":
                asset_ids += [str(a) for a in (watch.final.get("metadata") or {}).get("assetIds") or []]
        ready = self.assets.expect(asset_ids) if asset_ids else None
        for watch in finished:
            watch.done.set()
        if ready is None:
            return
        assets: list[dict[str, Any]] = []
        try:
            self.bulk_calls += 1
            assets = await self._client.get_assets(asset_ids)
        except AccessDenied:
            raise
        except APIError:
            pass  # the downloader asks for each asset alone instead
        finally:
            self.assets.fill(asset_ids, assets, ready)

