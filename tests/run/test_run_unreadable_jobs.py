"""Point 5 of issue 11 end to end: a fresh job the API cannot show yet is waited for; one
whose reads keep failing past the grace period stays `running` (never failed, never
resubmitted) and the next run picks it up. Both pollers, small grace, fast simulator."""

from __future__ import annotations

import time

import pytest

from batchgen.run.polling.batched import ListPoller, ListPollTiming
from batchgen.run.polling.single import PerJobPoller
from runkit import client_for, events, generate_calls, make_batch, make_job, run, simulator

GRACE = 0.2  # real seconds here; 300 s by default

POLLERS = {
    "list": lambda client: ListPoller(client, timing=ListPollTiming(
        interval=0.05, min_gap=0.01, gather_max=0.02, margin=0.005, release_margin=0.002,
        overlap=0.02, stale_after=0.05, unreadable_grace=GRACE)),
    "per-job": lambda client: PerJobPoller(client, interval=0.02, unreadable_grace=GRACE),
}


def test_the_default_grace_is_at_least_two_minutes():
    assert ListPollTiming().unreadable_grace >= 120
    assert PerJobPoller(None, interval=5.0).unreadable_grace >= 120


@pytest.mark.parametrize("poller", POLLERS, ids=list(POLLERS))
def test_a_job_unreadable_past_the_grace_stays_running_and_the_next_run_finishes_it(
        tmp_path, poller):
    sim = simulator(unreadable_for=120.0, duration_range=(10.0, 20.0))  # 1.2 real seconds
    jobs = [make_job(f"a hidden lake, take {i}", duration="5s") for i in range(2)]
    batch = make_batch(tmp_path, jobs)
    first = run(batch, client_for(sim), poller=POLLERS[poller])
    assert first.exit_code == 1 and first.counts["running"] == 2 and first.counts["failed"] == 0
    assert not events(batch, "failed") and len(events(batch, "submitted")) == 2

    time.sleep(1.4)  # the API shows the jobs now
    again = run(batch, client_for(sim), poller=POLLERS[poller])
    assert again.exit_code == 0 and again.submitted == 0 and again.downloaded == 2
    assert generate_calls(sim) == 2 and len(sim.jobs) == 2


@pytest.mark.parametrize("poller", POLLERS, ids=list(POLLERS))
def test_a_job_unreadable_for_less_than_the_grace_is_simply_waited_for(tmp_path, poller):
    sim = simulator(unreadable_for=10.0)  # 0.1 real seconds, within a 2 s grace
    batch = make_batch(tmp_path, [make_job("a misty pier", duration="5s")])
    polls = {"list": lambda c: ListPoller(c, timing=ListPollTiming(
                 interval=0.05, min_gap=0.01, gather_max=0.02, margin=0.005,
                 release_margin=0.002, overlap=0.02, stale_after=0.05, unreadable_grace=2.0)),
             "per-job": lambda c: PerJobPoller(c, interval=0.02, unreadable_grace=2.0)}
    summary = run(batch, client_for(sim), poller=polls[poller])
    assert summary.exit_code == 0 and generate_calls(sim) == 1
    assert sim.counters.calls["GET /jobs/{job_id}"] + sim.counters.calls["GET /jobs"] >= 2
