"""A sample waiting for the limiter to let its call go never stalls its twin's recovery:
no call of their body is out while it waits, so the recovery may decide."""

from __future__ import annotations

import anyio

from batchgen.jobs import canonical_json
from batchgen.ledger.events import LedgerWriter, ledger_path
from batchgen.ledger.state import LedgerState
from batchgen.run.journal import RunLedger
from batchgen.run.limiter import Limiter
from batchgen.run.submit import InFlightBodies, Recovery, SubmitTiming, Submitter
from batchgen.run.uploads import FrameUploads
from runkit import client_for, make_job, simulator

TIMING = SubmitTiming(rate_limit_wait=0.01, rate_limit_max_wait=0.05, recovery_wait=0.2,
                      recovery_interval=0.02)


def test_a_sample_queued_again_in_calling_lets_its_twins_recovery_decide(tmp_path):
    # Sample 2's answer was lost (it holds a slot while it is recovered). Sample 1 holds
    # the other slot when a ceiling of 1 arrives: calling() gives its slot back and queues
    # for one again, which only the recovery frees. Counted in flight while it queued,
    # its body kept the recovery waiting, and the two waited on each other for ever.
    sim = simulator()
    first, second = make_job("a lantern over a lake"), make_job("a lantern over a lake", sample=2)
    body = first.body({})
    assert canonical_json(body) == canonical_json(second.body({}))

    async def scenario() -> tuple[str | None, str | None]:
        with LedgerWriter(ledger_path(tmp_path)) as writer:
            ledger = RunLedger(writer, LedgerState())
            ledger.record({"event": "intent", "key": second.key, "id": second.id,
                           "sample": second.sample, "body": body})
            limiter, bodies = Limiter(2), InFlightBodies()
            async with client_for(sim) as client:
                submitter = Submitter(client, ledger, limiter, FrameUploads(client, ledger),
                                      timing=TIMING, bodies=bodies)
                recovery = Recovery(client, ledger, timing=TIMING, bodies=bodies)
                limiter.occupy()  # the recovered sample's slot
                await limiter.acquire()  # the sample about to be sent
                limiter.set_ceiling(1)
                sent: list[str | None] = []
                with anyio.fail_after(10):  # a TimeoutError is the stall
                    async with anyio.create_task_group() as tg:
                        async def send() -> None:
                            sent.append(await submitter.submit(first))
                        tg.start_soon(send)
                        await anyio.sleep(0.05)  # the send is queued in calling() by now
                        assert limiter.in_flight == 1 and not sent
                        found = await recovery.resolve(second.key)
                        limiter.release()
                return found, sent[0]

    found, job_id = anyio.run(scenario)
    assert found is None  # the lost call never reached the API: proved unsent
    assert job_id is not None and sim.counters.generate_calls[canonical_json(body)] == 1
