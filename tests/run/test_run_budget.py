"""`run --max-cu` and the estimate shown before a run: never past the cap, counting earlier runs."""

from __future__ import annotations

import pytest

from batchgen.errors import UsageError
from runkit import (client_for, crashed_after_submitting, events, generate_calls, make_batch,
                    make_job, run, simulator)

UNIT = 30  # the simulator prices a 5 s 720p video at 30 CU


def jobs(n: int, start: int = 0):
    return [make_job(f"a harbour at night, take {i}", duration="5s", resolution="720p")
            for i in range(start, start + n)]


def test_the_job_that_would_pass_the_cap_is_never_submitted(tmp_path):
    sim = simulator()
    summary = run(make_batch(tmp_path, jobs(6)), client_for(sim), concurrency=2, max_cu=100)
    assert generate_calls(sim) == 3 and len(sim.jobs) == 3  # 90 CU; a 4th would make 120
    assert summary.counts["succeeded"] == 3 and summary.counts["pending"] == 3


def test_a_run_stopped_by_the_cap_exits_1_saying_spent_and_left(tmp_path):
    summary = run(make_batch(tmp_path, jobs(6)), client_for(simulator()), max_cu=100)
    assert summary.exit_code == 1 and summary.budget_stopped
    assert summary.budget == "spent 90 of 100 CU (--max-cu); 10 CU left; 3 jobs not submitted"


def test_jobs_submitted_before_the_stop_finish_and_are_downloaded(tmp_path):
    batch = make_batch(tmp_path, jobs(5))
    run(batch, client_for(simulator()), concurrency=5, max_cu=70)
    done = {e["key"] for e in events(batch, "file")}
    assert len(done) == 2 and all((batch.output / j.filename).exists()
                                  for j in batch.jobs if j.key in done)


def test_what_earlier_runs_spent_counts_against_the_cap(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, jobs(6))
    run(batch, client_for(sim), max_cu=60)  # 2 jobs
    summary = run(batch, client_for(sim), max_cu=100)  # 60 already spent: room for 1 more
    assert len(sim.jobs) == 3 and summary.submitted == 1
    assert summary.budget.startswith("spent 90 of 100 CU")


def test_nothing_is_submitted_once_the_cap_is_spent(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, jobs(4))
    run(batch, client_for(sim), max_cu=60)
    summary = run(batch, client_for(sim), max_cu=60)
    assert summary.submitted == 0 and len(sim.jobs) == 2 and summary.exit_code == 1


def test_a_cap_that_fits_every_job_changes_nothing(tmp_path):
    summary = run(make_batch(tmp_path, jobs(3)), client_for(simulator()), max_cu=90)
    assert summary.exit_code == 0 and not summary.budget_stopped


def test_the_confirmation_sees_the_estimate_of_the_jobs_still_to_submit(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, jobs(4))
    run(batch, client_for(sim), max_cu=60)
    seen = []
    run(batch, client_for(sim), confirm=lambda estimate, at_stake: seen.append(
        (estimate.total, estimate.jobs, at_stake)))
    assert seen == [(60.0, 2, 60.0)]


def test_the_confirmation_is_told_what_the_cap_leaves_at_stake(tmp_path):
    seen = []
    run(make_batch(tmp_path, jobs(10)), client_for(simulator()), max_cu=100,
        confirm=lambda estimate, at_stake: seen.append((estimate.total, at_stake)))
    assert seen == [(300.0, 100.0)]


def test_a_refused_confirmation_sends_nothing(tmp_path):
    sim = simulator()

    def refuse(estimate, at_stake):
        raise UsageError("not confirmed: nothing was submitted")

    with pytest.raises(UsageError, match="not confirmed"):
        run(make_batch(tmp_path, jobs(3)), client_for(sim), confirm=refuse)
    assert generate_calls(sim) == 0


def test_the_estimate_asks_one_dry_run_per_priced_combination(tmp_path):
    sim = simulator()
    mixed = jobs(4) + [make_job(f"a cliff, take {i}", duration="5s", resolution="1080p")
                       for i in range(4)]
    run(make_batch(tmp_path, mixed), client_for(sim), max_cu=10_000)
    dry_runs = sim.counters.calls["POST /generate/custom/{model_id}"] - generate_calls(sim)
    assert dry_runs == 2


def test_a_job_recovered_from_a_crashed_run_counts_against_the_cap(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, jobs(4))
    crashed_after_submitting(sim, batch, batch.jobs[0])
    summary = run(batch, client_for(sim), max_cu=70)  # the recovered job's 30, then one more
    assert summary.recovered == 1 and summary.submitted == 1 and len(sim.jobs) == 2
    assert summary.budget.startswith("spent 60 of 70 CU")
    assert [e.get("cost") for e in events(batch, "recovered")] == [UNIT]


def test_spend_recorded_at_recovery_counts_in_later_runs(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, jobs(3))
    crashed_after_submitting(sim, batch, batch.jobs[0])
    run(batch, client_for(sim), max_cu=30)  # only the recovered job fits
    summary = run(batch, client_for(sim), max_cu=60)
    assert summary.submitted == 1 and len(sim.jobs) == 2
    assert summary.budget.startswith("spent 60 of 60 CU")


def test_a_lost_answer_of_a_key_edited_away_still_counts_against_the_cap(tmp_path):
    # A crash lost the answer of the job of take 0 (charged on the API), then take 0 was
    # reworded away: nothing recovers it, but it was perhaps paid for.
    sim = simulator()
    crashed_after_submitting(sim, make_batch(tmp_path, jobs(4)), jobs(4)[0])
    summary = run(make_batch(tmp_path, jobs(3, start=1) + jobs(1, start=9)), client_for(sim),
                  max_cu=90)
    assert len(sim.jobs) == 3 and summary.submitted == 2  # 30 held for the lost one
    assert sum(job.cost for job in sim.jobs.values()) <= 90
