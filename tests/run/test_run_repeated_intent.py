"""An intent line that appears again at the end of the ledger never makes a key paid
for twice: a finished key is found done, and a key whose latest call is still settling
keeps waiting for that call."""

from __future__ import annotations

import json
import time

from batchgen.ledger.events import ledger_path
from batchgen.run.submit import SubmitTiming
from batchgen.timestamps import iso
from runkit import (client_for, crashed_after_submitting, events, generate_calls, make_batch,
                    make_job, run, simulator)


def test_a_repeated_intent_after_success_sends_nothing(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, [make_job("a lantern over a lake"), make_job("a fox in snow")])
    assert run(batch, client_for(sim)).exit_code == 0
    intent_line = next(line for line in ledger_path(batch.output).read_bytes().splitlines(True)
                       if b'"event":"intent"' in line)
    with ledger_path(batch.output).open("ab") as ledger:
        ledger.write(intent_line * 2)
    calls = generate_calls(sim)

    summary = run(batch, client_for(sim))

    assert generate_calls(sim) == calls
    assert (summary.exit_code, summary.submitted, summary.resent) == (0, 0, 0)
    assert not events(batch, "unsent")


def test_an_earlier_intent_repeated_after_a_resend_waits_for_the_resend_to_be_listed(tmp_path):
    # The first call was proved unsent long ago; the resend made its job, but a kill came
    # before its answer; the API lists that job only after 0.4 s, inside the 1 s settle
    # time. A copy of the first intent line then ends the ledger: measured from it, the
    # settle time would be long over, and the key sent (and paid) a second time.
    sim = simulator(unreadable_for=40.0)  # simulated seconds at time scale 100: 0.4 s
    job = make_job("a paper lantern over a lake", duration="5s")
    batch = make_batch(tmp_path, [job])
    first = {"event": "intent", "t": iso(time.time() - 30), "key": job.key, "id": job.id,
             "sample": job.sample, "body": job.body({})}
    unsent = {"event": "unsent", "t": iso(time.time() - 29), "key": job.key}
    batch.output.mkdir(parents=True)
    ledger_path(batch.output).write_text(json.dumps(first) + "\n" + json.dumps(unsent) + "\n")
    crashed_after_submitting(sim, batch, job)
    with ledger_path(batch.output).open("a") as ledger:
        ledger.write(json.dumps(first) + "\n")

    summary = run(batch, client_for(sim),
                  submit=SubmitTiming(recovery_wait=1.0, recovery_interval=0.02))

    assert (summary.exit_code, summary.recovered, summary.resent) == (0, 1, 0)
    assert generate_calls(sim) == 1
