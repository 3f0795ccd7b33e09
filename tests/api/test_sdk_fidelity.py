"""Fidelity: the official scenario-sdk, validating strictly, parses the simulator's answers.

The SDK's response models are generated from Scenario's OpenAPI spec by people who
never saw our simulator; if a shape drifts from theirs (a missing required field, a
wrong enum value), these tests fail.
"""

from __future__ import annotations

import base64

import httpx
import pytest
from scenario_sdk import APIResponseValidationError, Scenario

from simkit import KEY, MODEL, SECRET, ManualClock, png, simulator
from batchgen.simulator.server import serve_in_thread


@pytest.fixture(scope="module")
def world():
    """A simulator over loopback holding a finished job, a running one and an upload."""
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(30, 30), failure_rate=0.0, ceiling=10)
    with serve_in_thread(sim) as url:
        sdk = Scenario(api_key=KEY, api_secret=SECRET, base_url=url, max_retries=0,
                       _strict_response_validation=True)
        yield sim, clock, sdk
        sdk.close()


def test_generate_parses(world):
    _, _, sdk = world
    answer = sdk.generate.run_model(MODEL, body={"prompt": "a heron", "resolution": "1080p"})
    assert answer.job.status == "pending" and answer.creative_units_cost == 60


def test_dry_run_parses(world):
    sim, _, sdk = world
    answer = sdk.generate.run_model(MODEL, body={"prompt": "a heron", "hdr": True}, dry_run="true")
    assert answer.creative_units_cost == 60 and answer.cost_details.custom_generation == 60


def test_job_retrieve_parses_in_every_status(world):
    _, clock, sdk = world
    job_id = sdk.generate.run_model(MODEL, body={"prompt": "a wave"}).job.job_id
    statuses = set()
    for _ in range(32):
        job = sdk.jobs.retrieve(job_id).job
        statuses.add(job.status)
        clock.advance(1)
    assert statuses == {"pending", "queued", "warming-up", "in-progress", "finalizing", "success"}
    assert job.metadata.asset_ids and job.billing.cu_cost == 30


def test_failed_job_parses():
    clock = ManualClock()
    sim = simulator(clock=clock, failure_rate=1.0, duration_range=(10, 10))
    with serve_in_thread(sim) as url:
        with Scenario(api_key=KEY, api_secret=SECRET, base_url=url, max_retries=0,
                      _strict_response_validation=True) as sdk:
            job_id = sdk.generate.run_model(MODEL, body={"prompt": "x"}).job.job_id
            clock.advance(10)
            job = sdk.jobs.retrieve(job_id).job
    assert job.status == "failure" and job.metadata.error and job.metadata.hint


def test_job_list_parses_across_pages(world):
    sim, _, sdk = world
    for prompt in ("one", "two", "three"):
        sdk.generate.run_model(MODEL, body={"prompt": prompt})
    # Whole pages here: the SDK's paginator stops at the first empty page even while
    # nextPaginationToken is set (BasePage.has_next_page), which the API documents as
    # possible; test_the_sdk_paginator_stops_at_an_empty_page shows it.
    sim.short_page_rate = 0.0
    try:
        listed = list(sdk.jobs.list(page_size=2))
    finally:
        sim.short_page_rate = 0.3
    assert len(listed) >= 3 and all(j.job_type == "custom" for j in listed)


def test_the_sdk_paginator_stops_at_an_empty_page_that_batchgen_pages_past():
    """Short pages are on by default: the SDK loses jobs past an empty page, batchgen does not."""
    from batchgen.api import ScenarioClient
    import anyio

    sim = simulator(short_page_rate=1.0, seed=4)  # every page that has a follower is cut
    with serve_in_thread(sim) as url:
        with Scenario(api_key=KEY, api_secret=SECRET, base_url=url, max_retries=0) as sdk:
            made = {sdk.generate.run_model(MODEL, body={"prompt": f"p{i}"}).job.job_id
                    for i in range(6)}
            sdk_listed = {j.job_id for j in sdk.jobs.list(page_size=3)}

        async def ours():
            async with ScenarioClient(url, KEY, SECRET) as client:
                return {j["jobId"] async for j in client.iter_jobs(page_size=3)}
        assert anyio.run(ours) == made
    assert sdk_listed < made


def _finished_asset_id(world):
    _, clock, sdk = world
    job_id = sdk.generate.run_model(MODEL, body={"prompt": "a kite"}).job.job_id
    clock.advance(31)
    return sdk.jobs.retrieve(job_id).job.metadata.asset_ids[0]


def test_asset_retrieve_parses(world):
    asset_id = _finished_asset_id(world)
    asset = world[2].assets.retrieve(asset_id).asset
    assert asset.kind == "video" and asset.status == "success"
    assert httpx.get(asset.url).status_code == 200


def test_get_bulk_parses(world):
    asset_id = _finished_asset_id(world)
    assets = world[2].assets.get_bulk(asset_ids=[asset_id]).assets
    assert [a.id for a in assets] == [asset_id]


def test_upload_parses(world):
    asset = world[2].assets.upload(image=base64.b64encode(png()).decode(), name="frame.png").asset
    assert asset.kind == "image" and asset.properties.size == len(png())


def test_multipart_upload_parses_in_every_step(world):
    sim, _, sdk = world
    data = png(40, 40)
    created = sdk.uploads.create(file_name="big.png", content_type="image/png",
                                 file_size=len(data), kind="image", parts=1).upload
    assert created.status == "pending" and [p.number for p in created.parts] == [1]
    assert httpx.put(created.parts[0].url, content=data).status_code == 200
    completed = sdk.uploads.trigger_action(created.id, action="complete").upload
    assert completed.status == "validating"
    done = sdk.uploads.retrieve(created.id).upload
    assert done.status == "imported" and sim.assets[done.entity_id].data == data


def test_team_limits_parse(world):
    from batchgen.simulator.state import OWNER_ID
    sim, _, sdk = world
    answer = sdk.teams.retrieve_limits(OWNER_ID)
    assert answer.limits.parallel_custom_jobs == sim.ceiling


def test_model_retrieve_parses(world):
    model = world[2].models.retrieve(MODEL).model
    assert [i.name for i in model.inputs][0] == "prompt"


def test_strict_validation_really_rejects_a_wrong_shape():
    broken = httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json={"job": {"jobId": "job_1", "status": "done"}})))
    sdk = Scenario(api_key=KEY, api_secret=SECRET, base_url="http://api.test/v1", max_retries=0,
                   _strict_response_validation=True, http_client=broken)
    with pytest.raises(APIResponseValidationError):
        sdk.jobs.retrieve("job_1")
