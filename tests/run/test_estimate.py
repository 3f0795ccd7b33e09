"""Estimates: one dry run per distinct priced combination, costs per combination and total."""

from __future__ import annotations

import itertools
from pathlib import Path

import anyio
import httpx
import pytest

from batchgen.errors import AccessDenied
from batchgen.run.estimate import Estimate, estimate, price_key, priced_fields
from batchgen.jobs import Job, LocalFrame, job_key
from batchgen.simulator import Simulator
from batchgen.simulator.model import default_inputs

from simkit import MODEL, in_process_client, simulator

DRY_RUN_ROUTE = "POST /generate/custom/{model_id}"


def make_job(prompt: str, sample: int = 1, **params) -> Job:
    body = {"prompt": prompt, **params}
    return Job(key=job_key(MODEL, body, sample), id=prompt[:8], index=1, sample=sample,
               model=MODEL, prompt=prompt, params=params)


def sweep() -> list[Job]:
    """24 jobs: 2 prompts x 2 samples x resolution (3) x aspect ratio (2)."""
    return [make_job(p, s, resolution=r, aspectRatio=a)
            for p, s, r, a in itertools.product(["a knight in fog", "a misty valley"], [1, 2],
                                                ["540p", "720p", "1080p"], ["16:9", "9:16"])]


def run_estimate(sim: Simulator, jobs: list[Job], **kw) -> Estimate:
    async def go() -> Estimate:
        async with in_process_client(sim) as client:
            return await estimate(client, MODEL, jobs, **kw)
    return anyio.run(go)


def test_one_dry_run_per_priced_combination_not_per_job():
    sim = simulator()
    result = run_estimate(sim, sweep())
    # aspectRatio and the prompt do not change the price: only the 3 resolutions do.
    assert sim.counters.calls[DRY_RUN_ROUTE] == 3
    assert result.dry_runs == 3 and len(result.combinations) == 3


def test_cost_per_combination_and_total_match_the_dry_runs():
    result = run_estimate(simulator(), sweep())
    by_resolution = {c.params["resolution"]: c for c in result.combinations}
    # The simulator prices 5 s of video at 4/6/12 CU per second for 540p/720p/1080p.
    assert {r: (c.jobs, c.unit_cost, c.cost) for r, c in by_resolution.items()} == {
        "540p": (8, 20.0, 160.0), "720p": (8, 30.0, 240.0), "1080p": (8, 60.0, 480.0)}
    assert result.total == 880.0 and result.complete


def test_dry_runs_create_no_jobs():
    sim = simulator()
    run_estimate(sim, sweep())
    assert sim.jobs == {} and sum(sim.counters.generate_calls.values()) == 0


def test_every_job_gets_the_cost_of_its_combination():
    jobs = sweep()
    costs = run_estimate(simulator(), jobs).job_costs()
    assert len(costs) == len(jobs)
    assert costs[jobs[0].key] == 20.0  # 540p


def test_without_cost_impact_in_the_model_definition_every_parameter_is_priced():
    inputs = [{k: v for k, v in i.items() if k != "costImpact"} for i in default_inputs()]
    sim = simulator(model_inputs=inputs)
    result = run_estimate(sim, sweep())
    assert result.priced_fields is None
    assert sim.counters.calls[DRY_RUN_ROUTE] == 6  # resolution x aspect ratio
    assert result.total == 880.0


def test_dry_runs_stay_within_the_concurrency_bound():
    jobs = [make_job("x", 1, resolution=r, duration=d, hdr=h)
            for r, d, h in itertools.product(["720p", "1080p"], ["5s"], [False, True])]
    in_flight = peak = 0

    class Counting(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport):
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await anyio.sleep(0.02)
            try:
                return await self.inner.handle_async_request(request)
            finally:
                in_flight -= 1

    sim = simulator()

    async def go() -> Estimate:
        async with in_process_client(sim, Counting(httpx.ASGITransport(sim.app))) as client:
            return await estimate(client, MODEL, jobs, concurrency=2)

    result = anyio.run(go)
    assert result.dry_runs == 4 and peak == 2


def test_a_combination_the_api_refuses_carries_its_error_and_no_cost():
    jobs = [make_job("fine", resolution="720p"), make_job("bad", resolution="4k")]
    result = run_estimate(simulator(), jobs)
    bad = next(c for c in result.combinations if c.params["resolution"] == "4k")
    assert bad.unit_cost is None and "resolution" in bad.error
    assert result.total == 30.0 and not result.complete
    assert "incomplete" in result.render()


def test_refused_credentials_stop_the_estimate():
    sim = Simulator(api_key="other", api_secret="other")
    with pytest.raises(AccessDenied):
        run_estimate(sim, sweep())


def test_frames_are_priced_by_presence_and_never_uploaded(tmp_path: Path):
    frame = LocalFrame(tmp_path / "f.png", "ab" * 32, "f.png")
    with_frame = Job(key="1" * 16, id="f", index=1, sample=1, model=MODEL, prompt="p",
                     params={"startFrame": "f.png", "resolution": "720p"},
                     frames={"startFrame": frame})
    sim = simulator(model_inputs=[{k: v for k, v in i.items() if k != "costImpact"}
                                  for i in default_inputs()])
    result = run_estimate(sim, [with_frame, make_job("q", resolution="720p")])
    assert [c.params for c in result.combinations] == [
        {"resolution": "720p", "startFrame": True}, {"resolution": "720p"}]
    assert result.complete and sim.counters.calls["POST /assets"] == 0


def test_price_key_keeps_only_priced_fields():
    job = make_job("p", resolution="1080p", aspectRatio="1:1", hdr=True)
    assert price_key(job, ["duration", "hdr", "resolution"]) == {"hdr": True, "resolution": "1080p"}
    assert price_key(job, None) == {"aspectRatio": "1:1", "hdr": True, "resolution": "1080p"}


def test_priced_fields_come_from_cost_impact_inputs():
    assert priced_fields({"inputs": default_inputs()}) == ["duration", "hdr", "resolution"]
    assert priced_fields({"inputs": [{"name": "prompt"}]}) is None


def test_render_lists_each_combination_and_the_total():
    text = run_estimate(simulator(), sweep()).render()
    assert "resolution=1080p" in text and "8 jobs x 60 CU = 480 CU" in text
    assert text.splitlines()[-1].startswith("total: 880 CU for 24 jobs (3 priced combinations, 3 dry runs at dryRun=api)")
