"""At most one submission per key: lost answers are found again, never resent blindly."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from batchgen.api import ConnectFailed
from batchgen.errors import AmbiguousSubmission
from batchgen.jobs import canonical_json
from batchgen.run.echo import echo_match
from batchgen.run.runner import run_batch
from batchgen.run.submit import InFlightBodies
from runkit import (client_for, crashed_after_submitting, events, fast_options, intent_only,
                    make_batch, make_job, run, sha256_of, simulator)


class LosesAnswers:
    """A client whose first `lose` generate answers are lost on the way back.

    With `reach=True` the call reached the API (the job exists); otherwise it never
    left. Every other call goes to the real client unchanged.
    """

    def __init__(self, client: Any, *, lose: int, reach: bool):
        self._client = client
        self.lose = lose
        self.reach = reach

    async def generate(self, model: str, body: dict, **kw: Any) -> dict:
        if self.lose > 0:
            self.lose -= 1
            if self.reach:
                await self._client.generate(model, body, **kw)
            raise AmbiguousSubmission("the connection dropped after sending (simulated)")
        return await self._client.generate(model, body, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def __aenter__(self) -> "LosesAnswers":
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.__aexit__(*exc)


def _body(job) -> str:
    return canonical_json(job.body({}))


def _one_job(tmp_path, prompt: str):
    """(sim, job, batch): a fresh simulator and a batch of one 5 s job of `prompt`."""
    job = make_job(prompt, duration="5s")
    return simulator(), job, make_batch(tmp_path, [job])


def test_a_lost_answer_is_found_by_listing_jobs_and_not_sent_again(tmp_path):
    sim = simulator()
    jobs = [make_job(f"a red kite, take {i}", duration="5s") for i in range(3)]
    batch = make_batch(tmp_path, jobs)
    summary = run(batch, LosesAnswers(client_for(sim), lose=3, reach=True))
    assert summary.exit_code == 0 and summary.recovered == 3
    assert all(sim.counters.generate_calls[_body(j)] == 1 for j in jobs)
    assert {e["key"] for e in events(batch, "recovered")} == {j.key for j in jobs}
    assert not events(batch, "unsent")


def test_a_call_that_never_arrived_is_sent_again_once_the_listing_proves_it(tmp_path):
    sim, job, batch = _one_job(tmp_path, "a blue whale")
    summary = run(batch, LosesAnswers(client_for(sim), lose=1, reach=False))
    assert summary.exit_code == 0 and summary.resent == 1
    assert sim.counters.jobs_created[_body(job)] == 1
    names = [e["event"] for e in events(batch) if e.get("key") == job.key]
    assert names == ["intent", "unsent", "intent", "submitted", "succeeded", "file"]


def test_lost_samples_of_one_body_each_get_a_different_job(tmp_path):
    sim = simulator()
    samples = [make_job("a paper boat", sample=n, duration="5s") for n in (1, 2, 3)]
    batch = make_batch(tmp_path, samples)
    summary = run(batch, LosesAnswers(client_for(sim), lose=3, reach=True), concurrency=3)
    assert summary.exit_code == 0
    assert sim.counters.jobs_created[_body(samples[0])] == 3
    recovered = events(batch, "recovered")
    assert len({e["jobId"] for e in recovered}) == 3
    assert len({sha256_of(batch.output / j.filename) for j in samples}) == 3


def test_recovery_never_claims_a_job_the_ledger_already_knows(tmp_path):
    sim = simulator()
    first = make_job("a lantern", sample=1, duration="5s")
    run(make_batch(tmp_path, [first]), client_for(sim))
    second = make_job("a lantern", sample=2, duration="5s")
    batch = make_batch(tmp_path, [first, second])
    summary = run(batch, LosesAnswers(client_for(sim), lose=1, reach=True))
    assert summary.exit_code == 0 and summary.recovered == 1
    submitted = {e["key"]: e["jobId"] for e in events(batch, "submitted")}
    [recovered] = events(batch, "recovered")
    assert recovered["key"] == second.key and recovered["jobId"] != submitted[first.key]
    assert sim.counters.jobs_created[_body(first)] == 2


def test_an_intent_left_by_a_crash_is_recovered_when_the_job_reached_the_api(tmp_path, caplog):
    caplog.set_level("INFO", logger="batchgen.run.submit")
    sim, job, batch = _one_job(tmp_path, "a glass city")
    crashed_after_submitting(sim, batch, job)
    summary = run(batch, client_for(sim))
    assert summary.exit_code == 0 and summary.recovered == 1 and summary.submitted == 0
    assert sim.counters.generate_calls[_body(job)] == 1
    (found,) = [r.getMessage() for r in caplog.records if "found again" in r.getMessage()]
    assert found.startswith(f"{job.id} #1 ({job.key}): its lost answer found again in the job list")


def test_an_intent_left_by_a_crash_is_sent_when_the_job_never_reached_the_api(tmp_path):
    sim, job, batch = _one_job(tmp_path, "a desert train")
    intent_only(batch, job)
    summary = run(batch, client_for(sim))
    assert summary.exit_code == 0 and summary.resent == 1 and summary.submitted == 1
    assert sim.counters.generate_calls[_body(job)] == 1


class AddsDefaults(LosesAnswers):
    """The job list reports each input with a default the API filled in."""

    async def iter_jobs(self, **filters: Any):
        async for job in self._client.iter_jobs(**filters):
            job["metadata"]["input"] = {**job["metadata"]["input"], "seed": 42}
            yield job


def test_a_lost_answer_is_found_even_when_the_api_records_extra_default_fields(tmp_path):
    sim, job, batch = _one_job(tmp_path, "a copper bell")
    summary = run(batch, AddsDefaults(client_for(sim), lose=1, reach=True))
    assert summary.exit_code == 0 and summary.recovered == 1
    assert sim.counters.generate_calls[_body(job)] == 1


class CannotConnectOnce(LosesAnswers):
    """The first generate call cannot even open a connection: nothing is sent."""

    async def generate(self, model: str, body: dict, **kw: Any) -> dict:
        if self.lose > 0:
            self.lose -= 1
            raise ConnectFailed("POST /generate: could not connect; nothing was sent")
        return await self._client.generate(model, body, **kw)


def test_a_call_that_could_not_connect_is_sent_again_without_waiting_for_recovery(tmp_path):
    sim, job, batch = _one_job(tmp_path, "a sleeping fox")
    summary = run(batch, CannotConnectOnce(client_for(sim), lose=1, reach=False))
    assert summary.exit_code == 0 and summary.submitted == 1 and summary.resent == 0
    assert [e["event"] for e in events(batch) if e.get("key") == job.key] == [
        "intent", "unsent", "intent", "submitted", "succeeded", "file"]  # proved unsent at once
    assert sim.counters.generate_calls[_body(job)] == 1


@pytest.mark.parametrize("knobs", [{"echo_defaults": True}, {"echo_omits": ("duration", "loop")},
                                   {"echo_defaults": True, "echo_omits": ("duration",)}],
                         ids=["adds-defaults", "omits-fields", "both"])
def test_a_lost_answer_is_found_however_the_api_echoes_the_body(tmp_path, knobs):
    sim = simulator(**knobs)
    jobs = [make_job(f"a tin robot, take {i}", duration="5s", loop=bool(i % 2)) for i in range(3)]
    batch = make_batch(tmp_path, jobs)
    summary = run(batch, LosesAnswers(client_for(sim), lose=3, reach=True))
    assert summary.exit_code == 0 and summary.recovered == 3 and summary.resent == 0
    assert all(sim.counters.generate_calls[_body(j)] == 1 for j in jobs)
    echoed = next(iter(sim.jobs.values()))
    shown = sim._job_json(echoed)["metadata"]["input"]
    assert shown != echoed.body  # the knob really changed the echo


def test_an_echo_that_differs_in_a_field_it_carries_is_not_the_lost_job(tmp_path):
    sim = simulator()
    lost = make_job("a stone bridge", duration="10s")
    other = make_job("a stone bridge", duration="5s")
    batch = make_batch(tmp_path, [lost])
    intent_only(batch, lost)

    async def someone_else() -> None:  # the same prompt, another duration, nobody's key
        async with client_for(sim) as client:
            await client.generate(other.model, other.body({}))
    anyio.run(someone_else)
    summary = run(batch, client_for(sim))
    assert summary.exit_code == 0 and summary.resent == 1 and summary.recovered == 0
    assert sim.counters.jobs_created[_body(lost)] == 1


def test_echo_match_rules():
    body = {"prompt": "p", "duration": "5s", "loop": False}
    assert echo_match(body, dict(body)) == 3
    assert echo_match(body, {"prompt": "p", "duration": "5s", "seed": 7}) == 2  # adds, omits
    assert echo_match(body, {"prompt": "p", "duration": "10s"}) is None
    assert echo_match(body, {"duration": "5s", "loop": False}) is None  # no prompt: no proof
    assert echo_match(body, "p") is None


def test_a_job_an_inflight_call_may_have_made_is_not_claimed_on_a_tolerant_match():
    bodies = InFlightBodies()
    flying = {"prompt": "p", "duration": "10s"}
    bodies.enter(canonical_json(flying), flying)
    assert bodies.could_be({"prompt": "p"}, besides="lost")
    assert not bodies.could_be({"prompt": "p", "duration": "5s"}, besides="lost")
    assert not bodies.could_be({"prompt": "p"}, besides=canonical_json(flying))
    bodies.leave(canonical_json(flying))
    assert not bodies.could_be({"prompt": "p"}, besides="lost")


def test_a_sample_waiting_after_a_429_does_not_stall_its_twins_recovery(tmp_path):
    # Sample 2's answer was lost in a crash (it holds a slot while it is recovered);
    # sample 1 is sent, gets a 429 stating a ceiling of 1 and queues again for a slot.
    # While it waits no call of that body is out, so the recovery may decide: before,
    # it waited for the body to be free and sample 1 for its slot, for ever.
    sim = simulator(ceiling=1)
    first, second = make_job("a lantern over a lake"), make_job("a lantern over a lake", sample=2)
    batch = make_batch(tmp_path, [first, second])
    intent_only(batch, second)

    async def block_the_ceiling() -> None:
        async with client_for(sim) as client:
            await client.generate(first.model, {"prompt": "another job of the team"})

    async def run_within_a_bound() -> Any:
        async with client_for(sim) as client:
            with anyio.fail_after(20):  # a TimeoutError is the stall
                return await run_batch(batch, client, options=fast_options(concurrency=2))

    anyio.run(block_the_ceiling)
    summary = anyio.run(run_within_a_bound)
    assert summary.counts["succeeded"] == 2
    assert sim.counters.jobs_created[_body(first)] == 2
