"""Adaptive concurrency and batched polling in a whole run, against the simulator."""

from __future__ import annotations

import json

import httpx

from batchgen.api import ScenarioClient
from runkit import (FAST_RETRY, KEY, SECRET, client_for, events, generate_calls, make_batch,
                    make_job, run, simulator)


def jobs(n: int, tag: str = "take"):
    return [make_job(f"a lighthouse in a storm, {tag} {i}", duration="5s") for i in range(n)]


def rate_limited_share(sim) -> float:
    return sim.counters.rate_limited / generate_calls(sim)


def test_a_stated_ceiling_below_the_concurrency_keeps_429s_under_5_percent(tmp_path):
    sim = simulator(ceiling=6, duration_range=(20, 40), time_scale=200.0)
    summary = run(make_batch(tmp_path, jobs(120)), client_for(sim), concurrency=24)
    assert summary.exit_code == 0
    assert rate_limited_share(sim) < 0.05
    assert sim.peak_in_flight <= 6


def test_the_stated_ceiling_is_kept_in_the_ledger_and_the_next_run_starts_there(tmp_path):
    sim = simulator(ceiling=5, duration_range=(20, 40), time_scale=200.0)
    run(make_batch(tmp_path, jobs(20)), client_for(sim), concurrency=16)
    assert [e["limit"] for e in events(make_batch(tmp_path, []), "ceiling")] == [5]
    refused = sim.counters.rate_limited
    summary = run(make_batch(tmp_path, jobs(20, "again")), client_for(sim), concurrency=16)
    assert summary.exit_code == 0 and sim.counters.rate_limited == refused  # no new 429


class BareRateLimits(httpx.AsyncBaseTransport):
    """The simulator, but its 429s state no ceiling (no `details`, no Retry-After)."""

    def __init__(self, sim):
        self.inner = httpx.ASGITransport(sim.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if response.status_code != 429:
            return response
        body = json.loads(await response.aread())
        body.pop("details", None)
        return httpx.Response(429, json=body)


def test_without_a_stated_ceiling_the_run_backs_off_and_still_finishes(tmp_path):
    sim = simulator(ceiling=4, duration_range=(20, 40), time_scale=200.0)
    client = ScenarioClient("http://simulator.test/v1", KEY, SECRET, retry=FAST_RETRY,
                            transport=BareRateLimits(sim))
    summary = run(make_batch(tmp_path, jobs(60)), client, concurrency=16)
    assert summary.exit_code == 0 and sim.counters.rate_limited > 0
    assert rate_limited_share(sim) < 0.25  # a fixed 16 would be refused far more often
    assert events(make_batch(tmp_path, []), "ceiling") == []  # nothing stated, nothing kept


def test_running_jobs_are_polled_with_the_job_list_not_one_get_per_job(tmp_path):
    sim = simulator(ceiling=50, duration_range=(20, 40), time_scale=100.0)
    summary = run(make_batch(tmp_path, jobs(40)), client_for(sim), concurrency=40,
                  poll_interval=0.05)
    assert summary.exit_code == 0
    assert sim.counters.calls["GET /jobs/{job_id}"] == 0
    assert 0 < sim.counters.calls["GET /jobs"] < 40


def test_download_urls_come_from_get_bulk(tmp_path):
    sim = simulator(ceiling=50, duration_range=(20, 20.5), time_scale=100.0)
    summary = run(make_batch(tmp_path, jobs(12)), client_for(sim), concurrency=12,
                  poll_interval=0.05)
    assert summary.exit_code == 0 and summary.downloaded == 12
    assert sim.counters.calls["GET /assets/{asset_id}"] == 0
    assert 0 < sim.counters.calls["POST /assets/get-bulk"] < 12
