"""The knobs of what the API documents (error field) or does not promise (late reads,
pending videos, a 429 that states nothing), seen through the real client."""

from __future__ import annotations

import pytest

from batchgen.cli import build_parser
from batchgen.cli.simulate_cmd import build_simulator
from batchgen.errors import JobRejected
from simkit import MODEL, ManualClock, connect, request, run, simulator, submit  # noqa: F401


def session(client, work):
    async def go():
        async with client:
            return await work(client)
    return run(go)


@pytest.mark.parametrize("field", ["reason", "message", "error", "detail"])
def test_error_bodies_carry_their_text_in_the_chosen_field_and_the_client_reads_it(connect, field):
    sim = simulator(error_field=field)
    body = request(sim, "GET", "jobs/job_unknown").json()
    assert set(body) == {field, "traceId"} and "job_unknown" in body[field]

    async def work(client):
        with pytest.raises(JobRejected) as refused:
            await client.get_job("job_unknown")
        return refused.value

    refused = session(connect(sim), work)
    assert "Job job_unknown not found" in refused.message and "trace id sim-" in refused.message


def test_reason_is_the_default_error_field():
    assert "reason" in request(simulator(), "GET", "jobs/job_unknown").json()


def bare_429(sim):
    submit(sim)
    return request(sim, "POST", f"generate/custom/{MODEL}", json={"prompt": "b"})


def test_a_429_over_the_ceiling_names_it_by_default():
    answer = bare_429(simulator(ceiling=1))
    assert answer.json()["details"]["actionLimit"] == 1 and "retry-after" in answer.headers


def test_a_bare_429_states_no_ceiling_and_no_wait():
    answer = bare_429(simulator(ceiling=1, rate_limit_style="bare"))
    assert answer.status_code == 429 and "details" not in answer.json()
    assert "retry-after" not in answer.headers and "remainingSeconds" not in answer.json()


def test_a_remaining_429_states_only_remaining_seconds(connect):
    sim = simulator(ceiling=1, rate_limit_style="remaining", retry_after=6, time_scale=2)
    answer = bare_429(sim)
    assert "details" not in answer.json() and "retry-after" not in answer.headers
    assert answer.json()["remainingSeconds"] == 3.0


def test_a_video_stays_pending_without_url_for_the_knobs_seconds(connect):
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(10, 10), asset_pending_for=60, time_scale=2.0)

    async def work(client):
        job_id = (await client.generate(MODEL, {"prompt": "a"}))["job"]["jobId"]
        clock.advance(5)  # the job succeeds
        asset_id = (await client.get_job(job_id))["metadata"]["assetIds"][0]
        early = await client.get_asset(asset_id)
        bulk = await client.get_assets([asset_id])
        clock.advance(29)  # 58 simulated seconds after success
        still = await client.get_asset(asset_id)
        clock.advance(1)
        return early, bulk, still, await client.get_asset(asset_id)

    early, bulk, still, ready = session(connect(sim), work)
    assert (early["status"], early["url"]) == ("pending", "")
    assert bulk[0]["status"] == "pending" and still["status"] == "pending"
    assert ready["status"] == "success" and ready["url"].startswith("http")


def test_the_contract_flags_reach_the_simulator():
    args = build_parser().parse_args([
        "simulate", "--error-field", "detail", "--short-page-rate", "0.5", "--unreadable-for", "20",
        "--asset-pending-for", "90", "--rate-limit-style", "remaining"])
    sim, _ = build_simulator(args)
    assert (sim.error_field, sim.short_page_rate, sim.unreadable_for, sim.asset_pending_for,
            sim.rate_limit_style) == ("detail", 0.5, 20.0, 90.0, "remaining")
    defaults, _ = build_simulator(build_parser().parse_args(["simulate"]))
    assert (defaults.error_field, defaults.short_page_rate) == ("reason", 0.3)
