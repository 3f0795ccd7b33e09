"""A run against the simulator's documented contract (list rules, short pages, `reason`
error bodies, all on by default): polling and lost-answer recovery need no per-job GET."""

from __future__ import annotations

from batchgen.api import ScenarioClient
from runkit import (FAST_RETRY, KEY, SECRET, LoseGenerateAnswers, events, make_batch, make_job,
                    run, simulator)


def test_polling_and_recovery_on_the_strict_simulator_make_no_per_job_call(tmp_path):
    sim = simulator(ceiling=50, duration_range=(20, 40), time_scale=100.0, seed=5)
    assert sim.short_page_rate > 0 and sim.error_field == "reason"  # the defaults are strict
    transport = LoseGenerateAnswers(sim, every=4)
    client = ScenarioClient("http://simulator.test/v1", KEY, SECRET, retry=FAST_RETRY,
                            transport=transport)
    batch = make_batch(tmp_path, [make_job(f"a harbour at dawn, take {i}") for i in range(24)])
    summary = run(batch, client, concurrency=24, poll_interval=0.05)
    assert summary.exit_code == 0 and summary.downloaded == 24
    assert transport.lost == 6 and len(events(batch, "recovered")) == 6
    assert sum(sim.counters.jobs_created.values()) == 24  # nothing created twice
    assert sim.counters.calls["GET /jobs/{job_id}"] == 0  # no per-job fallback
    assert sim.counters.calls["GET /jobs"] > 0
