"""ListReader: a round's job-list pages, stopped early when every job due is read, and
the jobs asked alone while the list fails."""

from __future__ import annotations

import anyio

from batchgen.errors import APIError
from batchgen.run.polling.batched import ListPollTiming
from batchgen.run.polling.listing import ListReader
from batchgen.run.polling.predict import EndPredictor
from batchgen.run.polling.watchlist import Watch, Watchlist
from batchgen.timestamps import iso

from simkit import MODEL, T0, ManualClock, in_process_client, simulator


async def ended_jobs(client, clock: ManualClock, n: int) -> list[str]:
    """n jobs that ended 1 s apart, oldest first (the list shows them newest first)."""
    ids = []
    for i in range(n):
        ids.append((await client.generate(MODEL, {"prompt": f"shot {i}"}))["job"]["jobId"])
        clock.advance(1.0)
    clock.advance(20.0)
    return ids


def watching(ids: list[str], clock: ManualClock, timing: ListPollTiming) -> Watchlist:
    watchlist = Watchlist(timing, EndPredictor())
    for job_id in ids:
        watchlist.jobs[job_id] = Watch(job_id, registered=T0, last_seen=clock())
    return watchlist


async def read_with_due(client, clock: ManualClock, ids: list[str], timing: ListPollTiming,
                        due: str) -> tuple[ListReader, Watchlist, list[str]]:
    """One read after an earlier round read to its end, with only `due` predicted ended;
    (the reader, the watchlist, the jobs it saw final)."""
    watchlist = watching(ids, clock, timing)
    watchlist.listed([{"updatedAt": iso(T0)}])
    watchlist.jobs[due].latest = clock() - 1.0
    reader = ListReader(client, timing, watchlist, clock)
    await reader.read(clock())
    return reader, watchlist, sorted(j for j, w in watchlist.jobs.items() if w.final)


def test_a_listing_stops_at_the_pages_holding_every_job_due_and_keeps_the_cursor():
    clock = ManualClock()
    # Whole pages of 2: five jobs list as 2 + 2 + 1.
    sim = simulator(clock=clock, duration_range=(10.0, 10.0), short_page_rate=0.0)
    timing = ListPollTiming(page_size=2)

    async def go():
        async with in_process_client(sim) as client:
            ids = await ended_jobs(client, clock, 5)
            newest = await read_with_due(client, clock, ids, timing, ids[-1])
            oldest = await read_with_due(client, clock, ids, timing, ids[0])
            return ids, newest, oldest

    ids, (reader, watchlist, final), (reader_all, watchlist_all, final_all) = anyio.run(go)
    assert reader.list_calls == 1 and final == sorted(ids[-2:])
    assert watchlist.updated_after() == T0 - timing.overlap  # the rest is listed again
    assert reader_all.list_calls == 3 and final_all == sorted(ids)
    assert watchlist_all.updated_after() > T0 - timing.overlap
    assert sim.counters.calls["GET /jobs"] == 4 and sim.counters.calls["GET /jobs/{job_id}"] == 0


class FailingList:
    """The client, but its job list fails and its per-job GETs are counted in flight."""

    def __init__(self, client) -> None:
        self.client = client
        self.in_flight = self.most_in_flight = 0

    async def list_jobs(self, **filters):
        raise APIError("list unavailable (test)", status=503)

    async def get_job(self, job_id: str) -> dict:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await anyio.sleep(0.01)
            return await self.client.get_job(job_id)
        finally:
            self.in_flight -= 1


def test_while_the_list_fails_every_job_is_asked_alone_at_most_8_at_once():
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(10.0, 10.0))
    timing = ListPollTiming()

    async def go():
        async with in_process_client(sim) as client:
            ids = await ended_jobs(client, clock, 20)
            watchlist = watching(ids, clock, timing)
            failing = FailingList(client)
            reader = ListReader(failing, timing, watchlist, clock)
            await reader.read(clock())
            return ids, watchlist, reader, failing

    ids, watchlist, reader, failing = anyio.run(go)
    assert reader.list_calls == 1 and reader.job_calls == 20
    assert all(watchlist.jobs[j].final["status"] == "success" for j in ids)
    assert failing.most_in_flight == 8


def test_a_listing_that_found_some_ends_due_leaves_the_rest_to_the_next_round_once():
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(10.0, 10.0), short_page_rate=0.0)
    timing = ListPollTiming(page_size=2)  # five jobs list as 2 + 2 + 1, newest first

    async def go():
        async with in_process_client(sim) as client:
            ids = await ended_jobs(client, clock, 5)
            watchlist = watching(ids, clock, timing)
            watchlist.listed([{"updatedAt": iso(T0)}])
            for due in (ids[0], ids[-1]):
                watchlist.jobs[due].latest = clock() - 1.0
            reader = ListReader(client, timing, watchlist, clock)
            await reader.read(clock())
            watchlist.after_round(clock(), reader.unread)
            first = reader.list_calls, sorted(j for j, w in watchlist.jobs.items() if w.final)
            cursor, left = watchlist.updated_after(), watchlist.jobs[ids[0]]
            assert left.deferred and not left.overdue  # not read: its prediction stands
            await reader.read(clock())
            return ids, first, cursor, reader.list_calls, watchlist

    ids, (calls, final), cursor, calls_after, watchlist = anyio.run(go)
    # The first page brought the newest of the two: one call, the cursor stays behind.
    assert calls == 1 and ids[-1] in final and ids[0] not in final
    assert cursor == T0 - ListPollTiming().overlap
    # The next round reads to the end, whatever it finds first, and moves the cursor.
    assert calls_after == 1 + 3 and watchlist.jobs[ids[0]].final is not None
    assert watchlist.updated_after() > cursor
