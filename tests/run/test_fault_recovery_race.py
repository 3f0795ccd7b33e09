"""A lost answer that arrives long after its intent is recovered, never resent.

A generate call can leave long after its intent was written: 429s hold it back (each
waits its Retry-After). If its answer is then lost, recovery must look for the job in
a listing made after the call, not in one another key made in the meantime, or it
"proves" the intent unsent and generates the job a second time.

The script: B's call is slow and its answer is lost (the job exists), so B's recovery
lists the jobs at about 0.7 s. A's call first gets a 429 with Retry-After 1 s; its
second call creates the job at about 1 s and the answer is lost. A listing from 0.7 s
cannot hold that job.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx

from batchgen.api import ScenarioClient
from batchgen.run.submit import SubmitTiming
from runkit import FAST_RETRY, KEY, SECRET, events, make_batch, make_job, run, simulator

A_PROMPT = "a lighthouse in a storm, waves crashing"
B_PROMPT = "a misty valley at dawn, slow aerial push-in"
B_DELAY = 0.7  # seconds B's call takes before the server creates its job
A_RETRY_AFTER = 1.0  # seconds: longer than the recovery wait below


class Scripted:
    """ASGI wrapper: B's first generate is slow then loses its answer; A's first is a 429,
    its second creates the job and loses its answer. Everything else passes through."""

    def __init__(self, sim):
        self.sim = sim
        self.calls: Counter = Counter()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or "/generate/" not in scope["path"]:
            return await self.sim.app(scope, receive, send)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        prompt = json.loads(body)["prompt"]
        self.calls[prompt] += 1
        n = self.calls[prompt]

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        async def discard(message):
            pass

        if prompt == A_PROMPT and n == 1:
            return await _answer(send, 429, {"message": "Too many requests"},
                                 [(b"retry-after", str(A_RETRY_AFTER).encode())])
        if (prompt == A_PROMPT and n == 2) or (prompt == B_PROMPT and n == 1):
            if prompt == B_PROMPT:
                await asyncio.sleep(B_DELAY)
            await self.sim.app(scope, replay, discard)  # the job is created...
            return await _answer(send, 500, {"message": "Internal server error"})  # ...the answer lost
        return await self.sim.app(scope, replay, send)


async def _answer(send, status, payload, headers=()):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), *headers]})
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


def test_a_lost_answer_after_a_429_wait_is_recovered_not_generated_twice(tmp_path):
    sim = simulator(duration_range=(20.0, 40.0), time_scale=100.0)
    scripted = Scripted(sim)
    batch = make_batch(tmp_path, [make_job(B_PROMPT), make_job(A_PROMPT)])
    client = ScenarioClient("http://simulator.test/v1", KEY, SECRET,
                            transport=httpx.ASGITransport(scripted), retry=FAST_RETRY)

    summary = run(batch, client, concurrency=2,
                  submit=SubmitTiming(rate_limit_wait=0.01, rate_limit_max_wait=0.05,
                                      recovery_wait=0.5, recovery_interval=0.02))

    intents = [e["body"]["prompt"] for e in events(batch, "intent")]
    assert intents[:2] == [B_PROMPT, A_PROMPT], "the script needs B's intent first"
    assert scripted.calls[A_PROMPT] >= 2, "A's lost answer never happened"
    created = Counter(job.body["prompt"] for job in sim.jobs.values())
    assert created == {A_PROMPT: 1, B_PROMPT: 1}
    assert summary.counts["succeeded"] == 2
