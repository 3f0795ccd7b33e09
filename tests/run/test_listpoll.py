"""Batched polling: job-list calls for all running jobs, get-bulk for their URLs, fallbacks."""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from typing import AsyncIterator, Callable

import anyio
import httpx
import pytest

from batchgen.api import ScenarioClient
from batchgen.run.polling.batched import ListPoller, ListPollTiming

from simkit import MODEL, in_process_client, simulator

SCALE = 100.0  # simulated seconds per real second


def timing(scale: float = SCALE, **kw) -> ListPollTiming:
    """Production timings (simulated seconds) scaled to real seconds."""
    base = dict(interval=5.0, min_gap=0.5, margin=0.1, release_margin=0.05, gather_max=3.0,
                overlap=2.0, bulk_wait=2.5,
                stale_after=30.0, unreadable_grace=300.0)
    base.update(kw)
    return ListPollTiming(**{k: v / scale for k, v in base.items()})


class Tamper(httpx.AsyncBaseTransport):
    """Passes requests to the simulator, letting a test break or edit the job list."""

    def __init__(self, sim, *, list_fails: Callable[[], bool] = lambda: False,
                 hide: set[str] = frozenset()):
        self.inner = httpx.ASGITransport(sim.app)
        self.list_fails = list_fails
        self.hide = hide

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        is_list = request.method == "GET" and request.url.path == "/v1/jobs"
        if is_list and self.list_fails():
            return httpx.Response(503, json={"message": "list unavailable (test)"})
        response = await self.inner.handle_async_request(request)
        if is_list and self.hide:
            body = json.loads(await response.aread())
            body["jobs"] = [j for j in body["jobs"] if j["jobId"] not in self.hide]
            return httpx.Response(200, json=body)
        return response


@contextlib.asynccontextmanager
async def polling(sim, transport=None,
                  **timing_kw) -> AsyncIterator[tuple[ScenarioClient, ListPoller]]:
    """(client, poller): a client on `sim` (through `transport` if given) and a ListPoller
    on it, with `timing(**timing_kw)` scaled to the simulator's clock."""
    async with in_process_client(sim, transport) as client:
        async with ListPoller(client, timing=timing(sim.time_scale, **timing_kw)) as poller:
            yield client, poller


async def run_jobs(sim, n: int, *, transport=None, stagger: float = 0.0, **timing_kw):
    """Submit n jobs and wait for each through one ListPoller; (poller, finals, latencies).

    Latencies (simulated seconds from a job's end to its waiter learning it) are in
    the order the jobs ended."""
    finals, latencies = {}, []
    scale = sim.time_scale
    async with polling(sim, transport, **timing_kw) as (client, poller):
        async def one(i: int) -> None:
            await anyio.sleep(i * stagger / scale)
            job_id = (await client.generate(MODEL, {"prompt": f"shot {i}"}))["job"]["jobId"]
            finals[job_id] = await poller.wait_final(job_id)
            latencies.append((time.time() - sim.jobs[job_id].end) * scale)

        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(one, i)
    return poller, finals, latencies


def test_every_job_is_reported_final_by_far_fewer_list_calls_than_jobs():
    # Whole pages: this counts rounds, and every short page would add a call to one
    # (paging past short pages: test_run_strict_api.py, tests/api/test_client_api.py).
    sim = simulator(time_scale=SCALE, duration_range=(20, 40), ceiling=100, short_page_rate=0.0)
    poller, finals, _ = anyio.run(run_jobs, sim, 40)
    assert len(finals) == 40 and all(j["status"] == "success" for j in finals.values())
    assert poller.job_calls == 0 and sim.counters.calls["GET /jobs/{job_id}"] == 0
    assert poller.list_calls == sim.counters.calls["GET /jobs"] < 40 // 2


def test_failed_jobs_are_reported_final_too():
    sim = simulator(time_scale=SCALE, duration_range=(20, 40), ceiling=100, failure_rate=1.0)
    _, finals, _ = anyio.run(run_jobs, sim, 5)
    assert {j["status"] for j in finals.values()} == {"failure"}


def test_jobs_are_found_one_by_one_while_the_list_endpoint_errors():
    sim = simulator(time_scale=SCALE, duration_range=(20, 40), ceiling=100)
    poller, finals, _ = anyio.run(lambda: run_jobs(sim, 5, transport=Tamper(sim, list_fails=lambda: True)))
    assert len(finals) == 5 and all(j["status"] == "success" for j in finals.values())
    assert poller.job_calls >= 5


def test_a_job_the_list_never_reports_is_asked_for_alone_after_stale_after():
    sim = simulator(time_scale=SCALE, duration_range=(20, 40), ceiling=100)
    hidden: set[str] = set()
    transport = Tamper(sim, hide=hidden)

    async def go():
        async with polling(sim, transport, stale_after=10.0) as (client, poller):
            job_id = (await client.generate(MODEL, {"prompt": "hidden"}))["job"]["jobId"]
            hidden.add(job_id)
            return poller, await poller.wait_final(job_id)

    poller, final = anyio.run(go)
    assert final["status"] == "success" and poller.job_calls >= 1


def test_download_urls_of_jobs_that_succeed_together_come_from_one_get_bulk():
    sim = simulator(time_scale=SCALE, duration_range=(20, 20.01), ceiling=100)

    async def go():
        async with polling(sim) as (client, poller):
            ids = [(await client.generate(MODEL, {"prompt": f"p{i}"}))["job"]["jobId"] for i in range(6)]
            assets = []

            async def one(job_id: str) -> None:
                final = await poller.wait_final(job_id)
                assets.append(await poller.assets.get_asset(final["metadata"]["assetIds"][0]))

            async with anyio.create_task_group() as tg:
                for job_id in ids:
                    tg.start_soon(one, job_id)
            return poller, assets

    poller, assets = anyio.run(go)
    assert all(a["url"] for a in assets)
    assert sim.counters.calls["GET /assets/{asset_id}"] == 0
    assert sim.counters.calls["POST /assets/get-bulk"] == poller.bulk_calls <= 2


@pytest.mark.parametrize("bulk_wait, bulks", [(0.0, 2), (1000.0, 1)])
def test_download_urls_wait_up_to_bulk_wait_to_share_the_next_rounds_get_bulk(bulk_wait, bulks):
    # Two jobs ending 20 s apart, far more than a round gathers (gather_max 3 s) or than
    # rounds are apart (interval 5 s): two rounds, whatever the machine's load.
    scale = 20.0
    sim = simulator(time_scale=scale, duration_range=(20, 20.01), ceiling=100)

    async def go():
        async with polling(sim, bulk_wait=bulk_wait) as (client, poller):
            urls = []

            async def one(i: int) -> None:
                await anyio.sleep(i * 20.0 / scale)
                job_id = (await client.generate(MODEL, {"prompt": f"p{i}"}))["job"]["jobId"]
                final = await poller.wait_final(job_id)
                urls.append((await poller.assets.get_asset(final["metadata"]["assetIds"][0]))["url"])

            async with anyio.create_task_group() as tg:
                for i in range(2):
                    tg.start_soon(one, i)
            return poller, urls

    poller, urls = anyio.run(go)
    assert len(urls) == 2 and all(urls) and poller.rounds >= 2
    assert sim.counters.calls["GET /assets/{asset_id}"] == 0
    assert sim.counters.calls["POST /assets/get-bulk"] == poller.bulk_calls == bulks


def test_a_url_waiting_for_the_next_round_is_fetched_when_no_job_is_left_to_wait_for():
    # The short job's URL waits for the long job's next round; then nobody waits for the
    # long job any more (its waiter gave up): no round comes, so the URL is fetched now.
    sim = simulator(time_scale=SCALE, duration_range=(20, 20.01), ceiling=100)

    async def go():
        async with polling(sim, bulk_wait=1000.0) as (client, poller):
            short = (await client.generate(MODEL, {"prompt": "short"}))["job"]["jobId"]
            sim.duration_range = (2000.0, 2000.01)
            long = (await client.generate(MODEL, {"prompt": "long"}))["job"]["jobId"]
            async with anyio.create_task_group() as tg:
                tg.start_soon(poller.wait_final, long)
                final = await poller.wait_final(short)
                assert poller.bulk_calls == 0  # waiting for the long job's next round
                tg.cancel_scope.cancel()
            with anyio.fail_after(5):
                asset = await poller.assets.get_asset(final["metadata"]["assetIds"][0])
            return poller, asset

    poller, asset = anyio.run(go)
    assert asset["url"] and poller.bulk_calls == 1
    assert sim.counters.calls["GET /assets/{asset_id}"] == 0


def test_an_asset_asked_for_again_comes_fresh_from_the_api():
    sim = simulator(time_scale=SCALE, duration_range=(20, 20.01), ceiling=100)

    async def go():
        async with polling(sim) as (client, poller):
            job_id = (await client.generate(MODEL, {"prompt": "p"}))["job"]["jobId"]
            asset_id = (await poller.wait_final(job_id))["metadata"]["assetIds"][0]
            await poller.assets.get_asset(asset_id)
            return await poller.assets.get_asset(asset_id)  # e.g. after an expired URL

    assert anyio.run(go)["url"]
    assert sim.counters.calls["GET /assets/{asset_id}"] == 1


def test_short_pages_are_not_followed_once_every_job_due_is_on_them():
    # Most pages are cut short: a round pays for more pages only when a job predicted
    # to have ended is not on the ones read (the cursor stays, the next round sees the rest).
    sim = simulator(time_scale=SCALE, duration_range=(20, 40), ceiling=100, short_page_rate=0.7)
    poller, finals, _ = anyio.run(lambda: run_jobs(sim, 40, stagger=1.0))
    assert len(finals) == 40 and all(j["status"] == "success" for j in finals.values())
    # Following every token takes about 2.1 pages a round here (measured), this about 1.5.
    assert poller.list_calls == sim.counters.calls["GET /jobs"] < 1.85 * poller.rounds


def test_an_unknown_job_is_left_running_after_the_grace_never_failed():
    sim = simulator(time_scale=SCALE, ceiling=100)

    async def go():
        async with polling(sim, stale_after=1.0, unreadable_grace=20.0) as (_, poller):
            return poller, await poller.wait_final("job_doesnotexist")

    poller, final = anyio.run(go)
    assert final is None and poller.job_calls >= 2


def test_a_fresh_job_that_404s_at_first_is_waited_for_not_failed():
    # The API shows a new job neither alone nor in the list for its first 30 s.
    sim = simulator(time_scale=SCALE, duration_range=(40, 60), ceiling=100, unreadable_for=30.0)
    poller, finals, _ = anyio.run(lambda: run_jobs(sim, 5, stale_after=5.0))
    assert len(finals) == 5 and all(j["status"] == "success" for j in finals.values())
    assert sim.counters.calls["GET /jobs/{job_id}"] >= 1  # 404s were met, and outlasted


def test_ends_are_learnt_from_finished_jobs_progress():
    sim = simulator(time_scale=SCALE, duration_range=(20, 40), ceiling=100)
    poller, _, _ = anyio.run(run_jobs, sim, 10)
    assert poller.predictor.samples >= 3
    assert 20 <= poller.predictor.typical_life() * SCALE <= 40


@pytest.mark.parametrize("knobs", [
    dict(duration_range=(20, 40)),  # statuses at fixed shares of the duration
    dict(duration_range=(20, 40), queue_range=(2, 12)),  # queue time drawn apart from it
    dict(duration_range=(20, 200), queue_range=(2, 12)),  # a tenfold spread of durations
    dict(duration_range=(20, 40), queue_range=(2, 12), stall_range=(0, 100)),  # stalls
], ids=["fixed-shares", "random-queue", "spread", "stalls"])
def test_predicted_ends_make_detection_much_faster_than_the_interval(knobs):
    # A slower clock than the other tests: predictions rest on millisecond timestamps.
    sim = simulator(time_scale=25.0, ceiling=100, seed=3, **knobs)
    poller, _, latencies = anyio.run(lambda: run_jobs(sim, 20, stagger=3.0, interval=30.0))
    # A fixed 30 s pace gives a median near 15 s; once the first jobs have taught the
    # poller how progress relates to the end, its calls are timed to the ends (an end a
    # listing stopped early left unread waits for the next round: up to gather_max, 3 s).
    assert statistics.median(latencies[5:]) < 6.0
    assert poller.list_calls < 20 * 3


def test_wait_final_outside_async_with_is_an_error():
    sim = simulator()

    async def go():
        async with in_process_client(sim) as client:
            await ListPoller(client).wait_final("job_x")

    with pytest.raises(RuntimeError, match="async with"):
        anyio.run(go)
