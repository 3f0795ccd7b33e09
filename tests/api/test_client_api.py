"""The client's calls against the simulator: what each returns."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from batchgen.api import DEFAULT_BASE_URL, ScenarioClient
from batchgen.api.client import resolve_base_url
from batchgen.errors import UsageError
from batchgen.simulator import media
from simkit import KEY, MODEL, SECRET, ManualClock, connect, png, run, simulator  # noqa: F401


def within(client, call):
    async def go():
        async with client:
            return await call(client)
    return run(go)


def test_base_url_comes_from_the_argument_then_the_environment_then_scenario(monkeypatch):
    monkeypatch.setenv("SCENARIO_BASE_URL", "http://env.test/v1/")
    assert resolve_base_url("http://arg.test/v1") == "http://arg.test/v1"
    assert resolve_base_url() == "http://env.test/v1"
    monkeypatch.delenv("SCENARIO_BASE_URL")
    assert resolve_base_url() == DEFAULT_BASE_URL == "https://api.cloud.scenario.com/v1"


def test_a_base_url_that_is_not_http_is_a_usage_error():
    with pytest.raises(UsageError, match="not an http"):
        ScenarioClient("ftp://x/v1", KEY, SECRET)


def test_generate_returns_the_job_and_its_cost(connect):
    sim = simulator()
    answer = within(connect(sim), lambda c: c.generate(MODEL, {"prompt": "a", "resolution": "1080p"}))
    assert answer["job"]["jobId"] in sim.jobs and answer["job"]["status"] == "pending"
    assert answer["creativeUnitsCost"] == 60 and answer["job"]["metadata"]["input"]["resolution"] == "1080p"


def test_dry_run_returns_the_cost_answer(connect):
    sim = simulator()
    answer = within(connect(sim), lambda c: c.generate(MODEL, {"prompt": "a", "hdr": True}, dry_run=True))
    assert answer["creativeUnitsCost"] == 60 and answer["costDetails"] == {"custom-generation": 60}
    assert sim.jobs == {}


def test_iter_jobs_follows_every_page(connect):
    sim = simulator(ceiling=100, short_page_rate=0.0)

    async def go(client):
        made = [(await client.generate(MODEL, {"prompt": f"p{i}"}))["job"]["jobId"] for i in range(5)]
        listed = [job["jobId"] async for job in client.iter_jobs(page_size=2)]
        return made, listed

    made, listed = within(connect(sim), go)
    assert sorted(listed) == sorted(made) and len(listed) == 5
    assert sim.counters.calls["GET /jobs"] == 3


def test_iter_jobs_pages_past_short_and_empty_pages(connect):
    sim = simulator(ceiling=100, short_page_rate=0.7, seed=2)

    async def go(client):
        made = [(await client.generate(MODEL, {"prompt": f"p{i}"}))["job"]["jobId"] for i in range(12)]
        listed = [job["jobId"] async for job in client.iter_jobs(page_size=3)]
        return made, listed

    made, listed = within(connect(sim), go)
    assert listed == made[::-1]
    assert sim.counters.calls["GET /jobs"] > 4  # more pages than 12 / 3: some were short


def test_list_jobs_takes_datetimes_and_filters(connect):
    clock = ManualClock()
    sim = simulator(clock=clock, ceiling=100, duration_range=(10, 10), short_page_rate=0.0)

    async def go(client):
        await client.generate(MODEL, {"prompt": "old"})
        clock.advance(20)
        after = datetime.fromtimestamp(clock.now - 1, tz=timezone.utc)
        fresh = (await client.generate(MODEL, {"prompt": "new"}))["job"]["jobId"]
        newer, _ = await client.list_jobs(created_after=after)
        done, _ = await client.list_jobs(status="success")
        return fresh, newer, done

    fresh, newer, done = within(connect(sim), go)
    assert [j["jobId"] for j in newer] == [fresh]
    assert [j["metadata"]["input"]["prompt"] for j in done] == ["old"]


def test_an_unknown_filter_is_a_programming_error():
    client = ScenarioClient("http://api.test/v1", KEY, SECRET)
    with pytest.raises(TypeError, match="pageSize"):
        within(client, lambda c: c.list_jobs(pageSize=2))


def test_get_assets_asks_200_ids_at_a_time(connect):
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(1, 1))

    async def go(client):
        job = (await client.generate(MODEL, {"prompt": "a"}))["job"]
        clock.advance(5)
        real = (await client.get_job(job["jobId"]))["metadata"]["assetIds"][0]
        return real, await client.get_assets([f"asset_x{i}" for i in range(250)] + [real])

    real, assets = within(connect(sim), go)
    assert [a["id"] for a in assets] == [real]
    assert sim.counters.calls["POST /assets/get-bulk"] == 2


def test_upload_image_returns_the_new_asset(connect):
    sim = simulator()
    asset = within(connect(sim), lambda c: c.upload_image(png(), "frame.png"))
    assert asset["kind"] == "image" and sim.assets[asset["id"]].data == png()


def test_get_model_returns_its_inputs(connect):
    model = within(connect(simulator()), lambda c: c.get_model(MODEL))
    assert model["id"] == MODEL and {i["name"] for i in model["inputs"]} >= {"prompt", "duration"}


def test_download_streams_the_assets_bytes(connect):
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(1, 1))

    async def go(client):
        job = (await client.generate(MODEL, {"prompt": "a"}))["job"]
        clock.advance(5)
        asset_id = (await client.get_job(job["jobId"]))["metadata"]["assetIds"][0]
        async with client.download((await client.get_asset(asset_id))["url"]) as response:
            data = b"".join([chunk async for chunk in response.aiter_bytes(1024)])
            return job["jobId"], response.expected_size, data

    job_id, expected, data = within(connect(sim), go)
    assert data == media.video_for(job_id, 0, {"prompt": "a"}) and expected == len(data)
    assert data != media.video_for("another job", 0, {"prompt": "a"})
