"""Batched polling: one job-list call watches every running job at once.

`ListPoller.wait_final(job_id)` has the same contract as the per-job poller, but all
waiting jobs share one loop that asks `GET /jobs?updatedAfter=...` (following
pagination): each call reports every job that changed since the last one, however
many are running (`type=custom`: the API only takes `updatedAfter` with a type or
status filter). When jobs succeed, their download URLs are fetched together with
one `POST /assets/get-bulk` and handed to the downloader through `assets`.

When to ask: at most `interval` apart while jobs run, and earlier when jobs are
expected to end. The expectation is learnt, not assumed: from every job that
succeeded, the poller records at which fraction of its total duration each status
began; once those fractions agree closely (as they do when the API moves jobs
through their statuses at fixed shares of their run time), a running job's end is
predicted from the date it entered its latest status, and the next call is timed
just after a few predicted ends instead of at a fixed pace. Where the fractions
disagree, or a prediction proves wrong, the poller simply keeps to `interval`.
With `on_expected_end`, the runner also learns the moment a job is predicted to have
ended, so its slot can take the next submission without waiting for the list call
that confirms it (the runner turns this off at the first 429 that follows).

Fallbacks, so a job is never lost: a job the list has not reported for
`stale_after` seconds is asked for alone (`GET /jobs/{id}`), and while the list
call fails every watched job is asked for alone at each round.
"""

from __future__ import annotations

import math
import statistics
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import anyio

from batchgen.errors import AccessDenied, APIError, JobRejected
from batchgen.jobs import FINAL_STATUSES
from batchgen.timestamps import epoch, iso

_HISTORY = 50  # finished jobs remembered for learning status fractions
_MIN_SAMPLES = 3
_AGREEMENT = 0.02  # fractions agree when their spread is within 2 % of their median
_TIMESTAMP_ERROR = 0.001  # the difference of two ISO timestamps with milliseconds
_ALONE_AT_ONCE = 8  # per-job GETs in flight at once, when falling back


class ListClient(Protocol):
    async def list_jobs(self, **filters: Any) -> tuple[list[dict], str | None]: ...
    async def get_job(self, job_id: str) -> dict: ...
    async def get_assets(self, asset_ids: Any) -> list[dict]: ...
    async def get_asset(self, asset_id: str) -> dict: ...
    def download(self, url: str) -> AbstractAsyncContextManager[Any]: ...


@dataclass
class ListPollTiming:
    """When the poller asks, in seconds of the client's clock."""

    interval: float = 5.0  # longest gap between two list calls while jobs are watched
    min_gap: float = 0.5  # shortest gap between two list calls
    gather: float = 2.0  # after the first predicted end, wait for ends this much later too
    margin: float = 0.2  # ask this long after a predicted end
    overlap: float = 2.0  # updatedAfter reaches back this far behind the newest update seen
    stale_after: float = 30.0  # a job the list has not reported for this long is asked for alone
    page_size: int = 100


@dataclass
class _Watch:
    job_id: str
    registered: float
    last_seen: float
    done: anyio.Event = field(default_factory=anyio.Event)
    final: dict[str, Any] | None = None
    error: BaseException | None = None
    predicted_end: float | None = None  # client clock
    overdue: bool = False  # a prediction proved wrong: keep to the interval for this job
    released: bool = False  # on_expected_end was called for it
    uncertainty: float = math.inf  # of predicted_end, in seconds
    waiters: int = 0


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
        # Called once per job when its predicted end has passed, before the list
        # confirms it: the runner frees the job's slot then, so the next submission
        # does not wait for a list call. Turn it off (early_release = False) as soon as
        # the API refuses a submission: the predictions are then not to be trusted.
        self.on_expected_end = on_expected_end
        self.early_release = True
        self.early_releases = 0
        self.timing = timing or ListPollTiming()
        self._clock = clock
        self._watched: dict[str, _Watch] = {}
        self._changed = anyio.Event()
        self._fractions: dict[str, list[float]] = {}
        self._cursor: float | None = None  # server clock: newest updatedAt seen
        self._offset = math.inf  # client clock minus server clock, at most
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

    async def wait_final(self, job_id: str) -> dict[str, Any]:
        """Wait until the job is final and return it; a 404 (JobRejected) propagates."""
        if self._tg is None:
            raise RuntimeError("ListPoller.wait_final needs `async with ListPoller(...)`")
        watch = self._watched.get(job_id)
        if watch is None:
            now = self._clock()
            watch = self._watched[job_id] = _Watch(job_id, registered=now, last_seen=now)
            self._changed.set()
        watch.waiters += 1
        try:
            await watch.done.wait()
        finally:
            watch.waiters -= 1
            if not watch.done.is_set() and watch.waiters == 0:
                self._watched.pop(job_id, None)
        if watch.error is not None:
            raise watch.error
        assert watch.final is not None
        return watch.final

    # -- the loop ------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            if not self._watched:
                self._changed = anyio.Event()
                await self._changed.wait()
                if self._last_round == -math.inf:
                    self._last_round = self._clock()  # first jobs: they just started
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
        due = self._last_round + t.interval
        ends = sorted(w.predicted_end for w in self._watched.values()
                      if w.predicted_end is not None and not w.overdue)
        if ends:
            cluster = [e for e in ends if e <= ends[0] + t.gather]
            due = min(due, cluster[-1] + t.margin)
        return max(due, self._last_round + t.min_gap)

    def _next_release(self) -> float:
        if self.on_expected_end is None or not self.early_release:
            return math.inf
        return min((w.predicted_end + self.timing.margin for w in self._watched.values()
                    if self._releasable(w)), default=math.inf)

    def _releasable(self, watch: _Watch) -> bool:
        # Only a prediction sure to well within the margin may free a slot early.
        return (watch.predicted_end is not None and not watch.overdue and not watch.released
                and watch.uncertainty <= self.timing.margin / 2)

    def _release_due(self) -> None:
        """Tell the runner which jobs have (by prediction) just ended: their slots are free."""
        if self.on_expected_end is None or not self.early_release:
            return
        now = self._clock()
        for watch in list(self._watched.values()):
            if self._releasable(watch) and now >= watch.predicted_end + self.timing.margin:
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
        alone = [w for w in self._watched.values() if w.final is None and (
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
            if (watch.final is None and watch.predicted_end is not None
                    and started >= watch.predicted_end + self.timing.margin):
                watch.overdue = True  # the prediction was wrong for this job
        await self._settle()

    async def _list(self) -> list[dict[str, Any]]:
        # updatedAfter is only allowed with a type (or status) filter: batchgen's jobs are custom.
        filters: dict[str, Any] = {"page_size": self.timing.page_size, "type": "custom"}
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
            watch.error = exc
            return
        except AccessDenied:
            raise
        except APIError:
            return  # try again at a later round; the job keeps running meanwhile
        watch.last_seen = now
        self._observe(job.get("job", job) if isinstance(job.get("job"), dict) else job, now,
                      self._clock())

    def _observe(self, job: dict[str, Any], now: float, arrived: float) -> None:
        updated = epoch(job.get("updatedAt"))
        if updated is not None:
            self._cursor = updated if self._cursor is None else max(self._cursor, updated)
            # The update happened before the answer arrived: this bounds the clock
            # offset from above, so predictions err late, never early.
            self._offset = min(self._offset, arrived - updated)
        final = job.get("status") in FINAL_STATUSES
        if final and job.get("status") == "success":
            self._learn(job)
        watch = self._watched.get(str(job.get("jobId")))
        if watch is None or watch.final is not None:
            return
        watch.last_seen = now
        if final:
            watch.final = job
        elif not watch.overdue:
            predicted = self._predict(job)
            watch.predicted_end, watch.uncertainty = predicted or (None, math.inf)

    async def _settle(self) -> None:
        """Hand final jobs to their waiters, then fetch their download URLs in one call."""
        finished = [w for w in self._watched.values() if w.final is not None or w.error is not None]
        asset_ids: list[str] = []
        for watch in finished:
            del self._watched[watch.job_id]
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

    # -- learning when jobs end -------------------------------------------------------------

    def _learn(self, job: dict[str, Any]) -> None:
        created, history = epoch(job.get("createdAt")), _history(job)
        end = next((t for s, t in reversed(history) if s in FINAL_STATUSES), None)
        if created is None or end is None or end <= created:
            return
        for status, t in history:
            if status not in FINAL_STATUSES:
                seen = self._fractions.setdefault(status, [])
                seen.append((t - created) / (end - created))
                del seen[:-_HISTORY]

    def fraction(self, status: str) -> float | None:
        """The learnt share of a job's duration at which `status` begins, if reliable."""
        learnt = self._learnt(status)
        return learnt[0] if learnt else None

    def _learnt(self, status: str) -> tuple[float, float] | None:
        """(median share, relative standard deviation) of `status`, when all samples agree."""
        seen = self._fractions.get(status) or []
        if len(seen) < _MIN_SAMPLES:
            return None
        middle = statistics.median(seen)
        if middle <= 0 or (max(seen) - min(seen)) > _AGREEMENT * middle:
            return None
        return middle, statistics.pstdev(seen) / middle

    def _predict(self, job: dict[str, Any]) -> tuple[float, float] | None:
        """(predicted end on the client's clock, its uncertainty in seconds), or None."""
        created = epoch(job.get("createdAt"))
        if created is None or not math.isfinite(self._offset):
            return None
        best = None
        for status, t in _history(job):
            learnt = self._learnt(status)
            if learnt is None or t <= created:
                continue
            share, deviation = learnt
            duration = (t - created) / share
            uncertainty = duration * deviation + _TIMESTAMP_ERROR / share
            if best is None or uncertainty < best[1]:
                best = (created + duration + self._offset, uncertainty)
        return best


def _history(job: dict[str, Any]) -> list[tuple[str, float]]:
    out = []
    for entry in job.get("statusHistory") or []:
        t = epoch(entry.get("date")) if isinstance(entry, dict) else None
        if t is not None:
            out.append((str(entry.get("status")), t))
    return out
