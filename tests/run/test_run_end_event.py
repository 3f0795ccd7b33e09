"""`run` closes its ledger with an `end` event on every exit path."""

from __future__ import annotations

import anyio
import pytest

from batchgen.run.runner import run_batch
from runkit import client_for, events, fast_options, make_batch, make_job, run, simulator


def jobs(n=3):
    return [make_job(f"a paper boat on a pond, take {i}") for i in range(n)]


def last_end(batch):
    found = events(batch)
    assert found[-1]["event"] == "end", [e["event"] for e in found[-3:]]
    return found[-1]


def test_a_run_that_succeeds_ends_with_exit_code_0(tmp_path):
    batch = make_batch(tmp_path, jobs())
    assert run(batch, client_for(simulator())).exit_code == 0
    assert last_end(batch)["summary"]["exitCode"] == 0


def test_a_run_with_failed_jobs_ends_with_exit_code_1(tmp_path):
    batch = make_batch(tmp_path, jobs())
    assert run(batch, client_for(simulator(failure_rate=1.0))).exit_code == 1
    assert last_end(batch)["summary"]["exitCode"] == 1


def test_a_cancelled_run_still_records_its_end(tmp_path):
    batch = make_batch(tmp_path, jobs())
    sim = simulator(duration_range=(500.0, 500.0))  # jobs run 5 s: the run is cut first

    async def go():
        async with client_for(sim) as client:
            with anyio.move_on_after(0.5):
                await run_batch(batch, client, options=fast_options())
    anyio.run(go)
    end = last_end(batch)
    assert end["summary"]["exitCode"] == 130 and end["error"]


class Broken(Exception):
    pass


def test_an_unexpected_error_still_records_its_end_and_propagates(tmp_path):
    batch = make_batch(tmp_path, jobs())
    client = client_for(simulator())

    async def broken_list(**filters):
        raise Broken("a bug, not an API failure")
    client.list_jobs = broken_list
    with pytest.raises(BaseException) as raised:
        run(batch, client)
    assert raised.group_contains(Broken) if isinstance(raised.value, BaseExceptionGroup) \
        else isinstance(raised.value, Broken)
    end = last_end(batch)
    assert end["summary"]["exitCode"] == 1 and end["error"]


def test_an_api_failure_of_one_job_ends_that_jobs_turn_not_the_run(tmp_path):
    from batchgen.errors import JobRejected
    batch = make_batch(tmp_path, jobs())
    client = client_for(simulator())

    async def refused_listing(**filters):
        raise JobRejected("GET /jobs answered 400: bad filter (test)", status=400)
        yield  # an async generator, as iter_jobs is
    client.iter_jobs = refused_listing
    from runkit import intent_only
    intent_only(batch, batch.jobs[0])  # a lost answer: recovery lists, and is refused
    summary = run(batch, client)
    assert last_end(batch)["event"] == "end"
    assert summary.counts["succeeded"] == 2
