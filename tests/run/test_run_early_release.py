"""The early slot release: a slot goes to the next job at its occupant's predicted end,
before any answer of the API has shown that job final, on a timeline whose status
changes come at no fixed share of a job's duration."""

from __future__ import annotations

import json
import time

import anyio
import httpx
import pytest

from batchgen.api import ScenarioClient
from batchgen.run.polling.batched import ListPoller
from batchgen.run.runner import _list_timing, run_batch

from runkit import FAST_RETRY, KEY, SECRET, fast_options, make_batch, make_job, simulator

SCALE = 25.0  # predictions rest on millisecond timestamps: not too fast a clock
CEILING = 4


class SeenFinal(httpx.AsyncBaseTransport):
    """The simulator in process; notes when each answer reporting a final job arrived."""

    def __init__(self, sim):
        self.inner = httpx.ASGITransport(sim.app)
        self.final_at: dict[str, float] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "GET" and request.url.path.startswith("/v1/jobs"):
            body = json.loads(await response.aread())
            jobs = body.get("jobs") or ([body["job"]] if "job" in body else [])
            for job in jobs:
                if job.get("status") in ("success", "failure", "canceled"):
                    self.final_at.setdefault(job["jobId"], time.time())
            return httpx.Response(response.status_code, json=body, headers=response.headers)
        return response


def submitted_before_confirmed(sim, transport) -> int:
    """Jobs created while fewer of ours were known final than their slot needed: the n-th
    job (0-based) needs n - CEILING + 1 ends seen, unless a slot was freed by prediction."""
    early = 0
    for n, timing in enumerate(sim.timings()):
        known = sum(1 for t in transport.final_at.values() if t <= timing.created)
        if n >= CEILING and known < n - CEILING + 1:
            early += 1
    return early


@pytest.mark.parametrize("release", [True, False], ids=["on", "off"])
def test_slots_go_to_the_next_job_at_predicted_ends_on_a_random_queue_timeline(tmp_path, release):
    sim = simulator(time_scale=SCALE, duration_range=(20, 40), queue_range=(2, 12),
                    ceiling=CEILING, seed=11, short_page_rate=0.0)
    transport = SeenFinal(sim)
    jobs = [make_job(f"shot {i}") for i in range(28)]
    options = fast_options(poll_interval=5.0 / SCALE, concurrency=CEILING)
    if not release:
        options.poller = lambda client: ListPoller(client, timing=_list_timing(5.0 / SCALE))

    async def go():
        async with ScenarioClient("http://sim.test/v1", KEY, SECRET, retry=FAST_RETRY,
                                  transport=transport) as client:
            return await run_batch(make_batch(tmp_path, jobs), client, options=options)

    summary = anyio.run(go)
    assert summary.exit_code == 0 and sim.peak_in_flight <= CEILING
    early = submitted_before_confirmed(sim, transport)
    if release:
        # Once a few jobs taught the poller how progress relates to the end, most slots
        # are handed on before the list shows their job final; the API accepts them.
        assert early >= (len(jobs) - CEILING) // 3
        assert sim.counters.rate_limited <= 2
    else:
        assert early == 0


def test_429s_of_an_unstated_ceiling_leave_the_early_release_on(tmp_path, monkeypatch):
    # The ceiling is never stated: the limiter finds it with 429s, which say nothing
    # of predicted ends, so they must not turn the early release off.
    import batchgen.run.runner as runner

    pollers = []

    class Recorded(ListPoller):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pollers.append(self)

    monkeypatch.setattr(runner, "ListPoller", Recorded)
    sim = simulator(time_scale=SCALE, duration_range=(20, 40), queue_range=(2, 12),
                    ceiling=16, seed=11, short_page_rate=0.0, rate_limit_style="bare")
    jobs = [make_job(f"shot {i}") for i in range(160)]
    options = fast_options(poll_interval=5.0 / SCALE)

    async def go():
        async with ScenarioClient("http://sim.test/v1", KEY, SECRET, retry=FAST_RETRY,
                                  transport=httpx.ASGITransport(sim.app)) as client:
            return await run_batch(make_batch(tmp_path, jobs), client, options=options)

    summary = anyio.run(go)
    assert summary.exit_code == 0 and sim.counters.rate_limited >= 1
    schedule = pollers[0].schedule
    assert schedule.early_releases > 0 and schedule.refusals == 0 and schedule.early_release
