"""Each knob seen through the real client, in process and over loopback."""

from __future__ import annotations

import time

import pytest

from batchgen.cli import build_parser
from batchgen.cli.simulate_cmd import build_simulator
from batchgen.errors import RateLimited, URLExpired
from batchgen.timestamps import parse as parse_iso
from simkit import (FAST, MODEL, ManualClock, connect, request, run, simulator,  # noqa: F401
                    submit)


def session(client, work):
    async def go():
        async with client:
            return await work(client)
    return run(go)


def test_failure_rate_shows_as_a_failed_job_with_error_and_hint(connect):
    clock = ManualClock()
    sim = simulator(clock=clock, failure_rate=1.0, duration_range=(10, 10))

    async def work(client):
        job_id = (await client.generate(MODEL, {"prompt": "a"}))["job"]["jobId"]
        clock.advance(10)
        return await client.get_job(job_id)

    job = session(connect(sim), work)
    assert job["status"] == "failure" and job["metadata"]["error"] and job["metadata"]["hint"]


def test_time_scale_runs_simulated_minutes_in_real_milliseconds(connect):
    sim = simulator(duration_range=(60, 60), time_scale=2000)

    async def work(client):
        job_id = (await client.generate(MODEL, {"prompt": "a"}))["job"]["jobId"]
        time.sleep(0.05)
        return await client.get_job(job_id)

    assert session(connect(sim), work)["status"] == "success"


def test_duration_range_bounds_every_jobs_duration(connect):
    sim = simulator(duration_range=(30, 45), ceiling=100, seed=3)

    async def work(client):
        for i in range(20):
            await client.generate(MODEL, {"prompt": f"p{i}"})

    session(connect(sim), work)
    durations = [t.duration for t in sim.timings()]
    assert len(durations) == 20 and all(30 <= d <= 45 for d in durations) and len(set(durations)) > 1


def test_the_same_seed_replays_the_same_faults_and_ids(connect):
    def trace(seed):
        sim = simulator(seed=seed, server_error_rate=0.5, ceiling=100, clock=ManualClock())
        outcomes = []

        async def work(client):
            for i in range(12):
                try:
                    outcomes.append((await client.generate(MODEL, {"prompt": f"p{i}"}))["job"]["jobId"])
                except Exception as exc:  # noqa: BLE001 - the outcome is what we compare
                    outcomes.append(type(exc).__name__)
        session(connect(sim), work)
        return outcomes

    first = trace(11)
    assert first == trace(11) and first != trace(12)
    assert "AmbiguousSubmission" in first and any(o.startswith("job_") for o in first)


def test_rate_limit_rate_answers_any_api_request_429_with_retry_after(connect):
    sim = simulator(rate_limit_rate=1.0, retry_after=4, time_scale=2)

    async def work(client):
        with pytest.raises(RateLimited) as refused:
            await client.get_model(MODEL)
        return refused.value

    refused = session(connect(sim), work)
    assert refused.retry_after == 2.0  # 4 simulated seconds at time scale 2
    assert sim.counters.rate_limited == FAST.attempts  # each retry was refused too


def test_rate_limit_rate_never_strikes_after_a_job_was_created(connect):
    sim = simulator(rate_limit_rate=0.5, ceiling=100, seed=7, clock=ManualClock())
    outcomes = []

    async def work(client):
        for i in range(30):
            try:
                outcomes.append((await client.generate(MODEL, {"prompt": f"p{i}"}))["job"]["jobId"])
            except RateLimited:
                outcomes.append("429")

    session(connect(sim), work)
    created = [o for o in outcomes if o != "429"]
    assert 0 < len(created) < 30 and sim.counters.rate_limited == 30 - len(created)
    assert sorted(created) == sorted(sim.jobs)  # a refused generate left no job behind


async def finished_asset(client, clock) -> str:
    """The asset id of a job generated and then finished by 10 s of the manual clock."""
    job = (await client.generate(MODEL, {"prompt": "a"}))["job"]
    clock.advance(10)
    return (await client.get_job(job["jobId"]))["metadata"]["assetIds"][0]


def test_expire_rate_refuses_a_fresh_download_url_as_expired(connect):
    clock = ManualClock()
    sim = simulator(expire_rate=1.0, duration_range=(10, 10), url_lifetime=3600, clock=clock)

    async def work(client):
        asset_id = await finished_asset(client, clock)
        url = (await client.get_asset(asset_id))["url"]
        with pytest.raises(URLExpired):
            async with client.download(url):
                pass

    session(connect(sim), work)
    assert sim.counters.expired == 1


def test_expire_rate_refuses_about_its_share_of_downloads(connect):
    clock = ManualClock()
    sim = simulator(expire_rate=0.3, duration_range=(10, 10), seed=4, clock=clock)

    async def work(client):
        asset_id = await finished_asset(client, clock)
        served = 0
        for _ in range(40):
            try:
                async with client.download((await client.get_asset(asset_id))["url"]) as body:
                    served += len(b"".join([chunk async for chunk in body.aiter_bytes()])) > 0
            except URLExpired:
                pass
        return served

    served = session(connect(sim), work)
    assert served + sim.counters.expired == 40
    assert 4 <= sim.counters.expired <= 24


def test_the_rate_limit_and_expire_flags_reach_the_simulator():
    args = build_parser().parse_args(["simulate", "--rate-limit-rate", "0.05", "--expire-rate", "0.1"])
    sim, _ = build_simulator(args)
    assert (sim.faults.rate_limit, sim.faults.expire) == (0.05, 0.1)


def test_a_rate_flag_outside_0_to_1_is_refused_with_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["simulate", "--expire-rate", "1.5"])
    assert stop.value.code == 2 and "1.5 is not between 0 and 1" in capsys.readouterr().err


def _in_progress_shares(sim, clock, jobs):
    """At what share of its life each job entered `in-progress`, read from the API."""
    ids = [submit(sim, {"prompt": f"p{i}"})["jobId"] for i in range(jobs)]
    clock.advance(1000)
    shares = []
    for job_id in ids:
        job = request(sim, "GET", f"jobs/{job_id}").json()["job"]
        dates = {h["status"]: parse_iso(h["date"]) for h in job["statusHistory"]}
        created = parse_iso(job["createdAt"])
        shares.append((dates["in-progress"] - created) / (dates["success"] - created))
    return shares


def test_queue_range_moves_in_progress_off_a_fixed_share_of_the_duration():
    clock = ManualClock()
    fixed = _in_progress_shares(simulator(clock=clock, duration_range=(2, 20), ceiling=100,
                                          seed=5), clock, 12)
    assert max(fixed) - min(fixed) < 0.01  # the default: always the same share
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(2, 20), queue_range=(0.2, 1.2), ceiling=100,
                    seed=5)
    drawn = _in_progress_shares(sim, clock, 12)
    assert max(drawn) - min(drawn) > 0.1
    for timing, share in zip(sim.timings(), drawn):  # the wait is absolute: 0.2 to 1.2 s
        assert 0.2 - 1e-3 <= share * timing.duration <= 1.2 + 1e-3


def test_stall_range_adds_a_stall_in_queued_to_the_jobs_life():
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(3, 3), stall_range=(0, 10), ceiling=100, seed=2)
    shares = _in_progress_shares(sim, clock, 12)
    lives = [t.duration for t in sim.timings()]
    assert all(3 <= life <= 13 for life in lives) and max(lives) - min(lives) > 3
    assert max(shares) - min(shares) > 0.2


def test_a_reversed_queue_range_is_refused():
    with pytest.raises(ValueError):
        simulator(queue_range=(2, 1))


def test_the_nth_job_lives_the_same_whatever_calls_came_before_it():
    # Two clients benchmarked on one seed must face the same work: list pages cut short
    # and failed calls draw from the simulator's dice, never from the jobs' timelines.
    def lives(busy: bool):
        clock = ManualClock()
        sim = simulator(clock=clock, duration_range=(2, 20), queue_range=(0.2, 1.2),
                        stall_range=(0, 10), ceiling=100, seed=7, short_page_rate=0.5)
        for i in range(6):
            submit(sim, {"prompt": f"p{i}"})
            if busy:
                for _ in range(5):
                    request(sim, "GET", "jobs", params={"type": "custom", "pageSize": 1,
                                                        "updatedAfter": "2020-01-01T00:00:00Z"})
        jobs = sorted(sim.jobs.values(), key=lambda job: job.created)
        return [(job.duration, job.phases) for job in jobs]

    assert lives(busy=True) == lives(busy=False)
