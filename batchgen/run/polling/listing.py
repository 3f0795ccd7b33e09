"""How the batched poller reads the jobs it waits for: the job list, else each job alone.

Each round asks `GET /jobs?type=custom&updatedAfter=...` from the watchlist's cursor.
Pagination is followed (short and empty pages included) until the listing ends, or
until every job predicted to have ended is on the pages read, or some of them are and
the round before read to the end: the cursor then stays, so the next round lists the
rest again and reads to the end (the jobs due it left are `unread`: not proved late).

Fallbacks, so a job is never lost: a job the list has not reported for `stale_after`
seconds is asked for alone (`GET /jobs/{id}`), and while the list call fails every
watched job is asked for alone at each round, at most 8 at once. A job that cannot
be read alone either (a fresh job the API does not show yet answers 404) is left to
the watchlist's `unreadable_grace`; a job the API rejects fails its waiter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import anyio

from batchgen.errors import AccessDenied, APIError, JobRejected
from batchgen.jobs import FINAL_STATUSES
from batchgen.run.polling.single import unwrap_job
from batchgen.run.polling.watchlist import Watch, Watchlist
from batchgen.timestamps import iso

if TYPE_CHECKING:
    from batchgen.run.polling.batched import ListClient, ListPollTiming

_ALONE_AT_ONCE = 8  # per-job GETs in flight at once, when falling back


class ListReader:
    """One round's reading, reported to the watchlist: the job list from its cursor,
    then the jobs it says to ask alone. Counts the calls (`list_calls`, `job_calls`)."""

    def __init__(self, client: ListClient, timing: ListPollTiming, watchlist: Watchlist,
                 clock: Callable[[], float]):
        self._client = client
        self._timing = timing
        self._watchlist = watchlist
        self._clock = clock
        self._list_failing = False
        self.unread: set[str] = set()  # jobs due that this round's early stop left unread
        self.list_calls = self.job_calls = 0

    async def read(self, started: float) -> None:
        """Read the round that started at `started`; AccessDenied propagates."""
        try:
            jobs = await self._list()
            self._list_failing = False
        except AccessDenied:
            raise
        except APIError:
            jobs, self._list_failing = [], True
        arrived = self._clock()
        for job in jobs:
            self._watchlist.observe(job, started, arrived)
        alone = self._watchlist.to_ask_alone(started, self._list_failing)
        if alone:
            limiter = anyio.CapacityLimiter(_ALONE_AT_ONCE)

            async def ask(watch: Watch) -> None:
                async with limiter:
                    await self._ask_alone(watch, started)

            async with anyio.create_task_group() as tg:
                for watch in alone:
                    tg.start_soon(ask, watch)

    async def _list(self) -> list[dict[str, Any]]:
        """The jobs updated since the cursor; the cursor moves when the listing is
        followed to its end.

        A page may be short while more follow. The rows still to come are older updates,
        so when every job due by prediction is already on the pages read, the listing
        stops there and the cursor stays put: the next round lists those rows again
        (with newer ones) instead of paying a call now for news nobody is waiting for.
        """
        # updatedAfter needs a type filter (the API's documented rule): these are custom jobs.
        filters: dict[str, Any] = {"type": "custom", "page_size": self._timing.page_size,
                                   "updated_after": iso(self._watchlist.updated_after())}
        found: list[dict[str, Any]] = []
        token = None
        due = self._watchlist.due(self._clock())
        expected = len(due)
        stopped_early, self.unread = bool(self.unread), set()
        while True:
            self.list_calls += 1
            jobs, token = await self._client.list_jobs(**filters, pagination_token=token)
            found += jobs
            if not token:
                self._watchlist.listed(found)
                return found
            due -= {str(j.get("jobId")) for j in jobs if j.get("status") in FINAL_STATUSES}
            # Pages that already brought some of the ends this round was for: the others
            # come with the next round, which reads to the end, so the cursor never stays
            # behind two rounds in a row.
            some = len(due) < expected and not stopped_early
            if self._watchlist.started and (not due or some):
                self.unread = due
                return found  # the rest waits for the next round; the cursor stays

    async def _ask_alone(self, watch: Watch, now: float) -> None:
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
        self._watchlist.observe(unwrap_job(job), now, self._clock())
