"""A finished key whose intent line appears again at the end of the ledger is not paid
for again: the run finds it done."""

from __future__ import annotations

from batchgen.ledger.events import ledger_path
from runkit import client_for, events, generate_calls, make_batch, make_job, run, simulator


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
