"""Where the team id is known, the ceiling is read up front from
`GET /teams/{teamId}/limits` (`limits.parallelCustomJobs`): no 429 is needed to learn
it. A team whose limits cannot be read changes nothing but a message."""

from __future__ import annotations

import httpx

import sdkcontract
from batchgen.simulator.state import OWNER_ID
from runkit import FAST_RETRY, KEY, SECRET, client_for, events, make_batch, make_job, run, simulator
from batchgen.api import ScenarioClient


def _jobs(n: int):
    return [make_job(f"a field of wheat, take {i}", duration="5s") for i in range(n)]


def test_the_stated_team_ceiling_is_kept_from_the_first_call(tmp_path):
    sim = simulator(ceiling=3, rate_limit_style="bare")  # a 429 here would say nothing
    batch = make_batch(tmp_path, _jobs(12))
    summary = run(batch, client_for(sim), team_id=OWNER_ID, concurrency=50)
    assert summary.exit_code == 0
    assert sim.counters.rate_limited == 0 and sim.peak_in_flight == 3
    assert [(e["limit"], e.get("from")) for e in events(batch, "ceiling")] == [(3, "team limits")]
    assert sim.counters.calls["GET /teams/{team_id}/limits"] == 1
    assert sdkcontract.check_all(sim.requests) == []


def test_without_a_team_id_the_limits_are_not_asked_for(tmp_path):
    sim = simulator(ceiling=3)
    run(make_batch(tmp_path, _jobs(4)), client_for(sim))
    assert sim.counters.calls["GET /teams/{team_id}/limits"] == 0


class RefuseLimits(httpx.AsyncBaseTransport):
    def __init__(self, sim):
        self.inner = httpx.ASGITransport(sim.app)

    async def handle_async_request(self, request):
        if request.url.path.endswith("/limits"):
            return httpx.Response(403, json={"reason": "Only team admins may read limits"})
        return await self.inner.handle_async_request(request)


def test_limits_that_cannot_be_read_change_nothing_but_a_message(tmp_path):
    for team, transport in (("team_unknown", None), (OWNER_ID, "refuse")):
        sim = simulator(ceiling=3)
        client = (client_for(sim) if transport is None else ScenarioClient(
            "http://simulator.test/v1", KEY, SECRET, retry=FAST_RETRY, transport=RefuseLimits(sim)))
        batch = make_batch(tmp_path / team, _jobs(4))
        summary = run(batch, client, team_id=team)
        assert summary.exit_code == 0 and summary.downloaded == 4, team
        assert not events(batch, "ceiling") or events(batch, "ceiling")[0].get("from") is None
