"""Failures: a rejected or failed job fails alone; refused credentials stop the batch."""

from __future__ import annotations

import httpx

from batchgen.api import ScenarioClient
from batchgen.jobs import canonical_json
from runkit import (SECRET, client_for, events, generate_calls, make_batch, make_job, run,
                    simulator)

GENERATE = "POST /generate/custom/{model_id}"


def _good(n: int):
    return [make_job(f"a quiet forest, take {i}", duration="5s") for i in range(n)]


def test_a_job_the_api_rejects_fails_with_its_message_and_the_others_go_on(tmp_path):
    bad = make_job("a looping shot", duration="10s", loop=True)  # 10s is not available with loop
    batch = make_batch(tmp_path, [bad, *_good(3)])
    summary = run(batch, client_for(simulator()))
    assert summary.exit_code == 1
    assert summary.counts == {"pending": 0, "running": 0, "succeeded": 3, "failed": 1}
    [failed] = events(batch, "failed")
    assert failed["key"] == bad.key and failed["status"] == 400
    assert "10s" in failed["error"] and failed["hint"]
    assert summary.failed[0]["error"] == failed["error"]


def test_a_job_that_fails_on_the_server_is_failed_with_the_servers_message_and_hint(tmp_path):
    batch = make_batch(tmp_path, _good(2))
    summary = run(batch, client_for(simulator(failure_rate=1.0)))
    assert summary.exit_code == 1 and summary.counts["failed"] == 2
    for failed in events(batch, "failed"):
        assert failed["jobId"] and failed["error"] and failed["hint"]
        assert failed["jobStatus"] == "failure"


def test_failed_jobs_are_left_alone_unless_retry_failed_is_asked(tmp_path):
    batch = make_batch(tmp_path, _good(6))
    first = run(batch, client_for(simulator(failure_rate=0.5, seed=7)))
    failed_keys = {f["key"] for f in first.failed}
    assert 0 < len(failed_keys) < 6

    healthy = simulator()
    again = run(batch, client_for(healthy))
    assert again.exit_code == 1 and generate_calls(healthy) == 0

    retried = run(batch, client_for(healthy), retry_failed=True)
    assert retried.exit_code == 0 and retried.counts["succeeded"] == 6
    sent = set(healthy.counters.generate_calls)
    assert sent == {canonical_json({"prompt": j.prompt, "duration": "5s"})
                    for j in batch.jobs if j.key in failed_keys}
    assert all(n == 1 for n in healthy.counters.generate_calls.values())


def test_a_job_failing_again_under_retry_failed_is_submitted_once_per_run(tmp_path):
    batch = make_batch(tmp_path, _good(1))
    run(batch, client_for(simulator(failure_rate=1.0)))
    still_failing = simulator(failure_rate=1.0)
    summary = run(batch, client_for(still_failing), retry_failed=True)
    assert summary.exit_code == 1 and generate_calls(still_failing) == 1


def test_refused_credentials_stop_the_batch_with_exit_code_3(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _good(8))
    wrong = ScenarioClient("http://simulator.test/v1", "someone-else", SECRET,
                           transport=httpx.ASGITransport(sim.app))
    summary = run(batch, wrong, concurrency=2)
    assert summary.exit_code == 3
    assert "401" in summary.access_denied
    assert sim.counters.calls[GENERATE] <= 2  # the calls already under way, nothing after
    assert SECRET not in summary.access_denied


def test_a_403_stops_submitting_and_leaves_no_job_to_recover(tmp_path):
    sim = simulator(access_denied=True)
    batch = make_batch(tmp_path, _good(6))
    summary = run(batch, client_for(sim), concurrency=2)
    assert summary.exit_code == 3 and "plan" in summary.access_denied
    assert sim.counters.calls[GENERATE] <= 2
    # the refused intents are closed as unsent: the next run simply submits them
    assert summary.counts["running"] == 0
    assert {e["key"] for e in events(batch, "unsent")} == {e["key"] for e in events(batch, "intent")}
