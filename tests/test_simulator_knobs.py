"""Each knob seen through the real client, in process and over loopback."""

from __future__ import annotations

import time

from simkit import MODEL, ManualClock, connect, run, simulator  # noqa: F401


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
