"""Polling a job until it is final."""

from __future__ import annotations

import anyio
import pytest

from batchgen.errors import JobRejected, ServerError
from batchgen.run.polling.single import PerJobPoller


class ScriptedJobs:
    """get_job answers from a script: a dict is returned, an exception raised."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0

    async def get_job(self, job_id: str) -> dict:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {"jobId": job_id, **answer}


def _wait(client, **kw):
    return anyio.run(lambda: PerJobPoller(client, interval=0.001, **kw).wait_final("job_1"))


def test_polling_goes_on_until_the_job_is_final():
    client = ScriptedJobs({"status": "queued"}, {"status": "in-progress"}, {"status": "success"})
    assert _wait(client)["status"] == "success" and client.calls == 3


def test_a_server_error_while_polling_is_not_a_job_failure():
    client = ScriptedJobs(ServerError("503", status=503), {"status": "failure"})
    assert _wait(client)["status"] == "failure"


def test_404s_are_tolerated_for_the_grace_period_then_the_job_is_left_running():
    brief = ScriptedJobs(*[JobRejected("404", status=404)] * 5, {"status": "success"})
    assert _wait(brief, unreadable_grace=60)["status"] == "success"
    lasting = ScriptedJobs(*[JobRejected("Job job_1 not found", status=404)] * 1000)
    assert _wait(lasting, unreadable_grace=0.05) is None  # not a failure: it stays running
    assert 1 < lasting.calls < 1000


def test_server_errors_that_outlast_the_grace_leave_the_job_running():
    failing = ScriptedJobs(*[ServerError("503", status=503)] * 1000)
    assert _wait(failing, unreadable_grace=0.05) is None


def test_a_400_on_a_read_still_propagates():
    client = ScriptedJobs(JobRejected("Bad job id", status=400))
    with pytest.raises(JobRejected):
        _wait(client)


def test_a_run_with_the_per_job_poller_needs_only_the_declared_interface(tmp_path):
    from runkit import client_for, fast_options, make_batch, make_job, simulator

    from batchgen.run.runner import run_batch

    batch = make_batch(tmp_path, [make_job("a heron lands"), make_job("a fox runs")])
    sim = simulator()

    async def go():
        async with client_for(sim) as client:
            options = fast_options(poller=lambda c: PerJobPoller(c, interval=0.01))
            return await run_batch(batch, client, options=options)

    summary = anyio.run(go)
    assert (summary.counts["succeeded"], summary.downloaded, summary.exit_code) == (2, 2, 0)
    routes = {route for route, n in sim.counters.calls.items() if n}
    assert "GET /jobs" not in routes and any(r.startswith("GET /jobs/") for r in routes)
