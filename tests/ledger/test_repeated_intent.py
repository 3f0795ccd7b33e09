"""A repeated `intent` line (a crash between an append and a rename can leave one, or
worse) never turns a key the API already has into an "unsent" one paid for again."""

from __future__ import annotations

from batchgen.ledger.state import replay
from batchgen.run.decisions import DONE, POLL, RECOVER, next_step
from ledgerkit import BODY, KEY, failed, file, intent, job, submitted, succeeded

LATER = "2026-01-01T00:05:00.000Z"


def test_an_intent_repeated_after_success_leaves_the_key_succeeded():
    ks = replay([intent(), submitted(), succeeded(), file(), intent(t=LATER)]).jobs[KEY]
    assert (ks.state, ks.job_id, ks.ambiguous) == ("succeeded", "job_1", False)
    assert ks.files and ks.intent_t == "2026-01-01T00:00:00.000Z"
    assert next_step(job(), ks, retry_failed=False) is DONE


def test_an_intent_repeated_after_the_job_id_keeps_polling_that_job():
    ks = replay([intent(), submitted(), intent(t=LATER)]).jobs[KEY]
    assert (ks.state, ks.job_id, ks.ambiguous) == ("running", "job_1", False)
    assert next_step(job(), ks, retry_failed=False) is POLL


def test_an_intent_repeated_even_with_retry_failed_never_resubmits_a_succeeded_key():
    ks = replay([intent(), submitted(), succeeded(), file(), intent(), intent()]).jobs[KEY]
    assert next_step(job(), ks, retry_failed=True) is DONE


def test_a_resend_after_a_429_still_moves_the_intent_time():
    # No answer between the two intents: the second is the latest call, and recovery
    # measures its settle time from it.
    ks = replay([intent(), intent(t=LATER)]).jobs[KEY]
    assert (ks.state, ks.ambiguous, ks.intent_t, ks.body) == ("running", True, LATER, BODY)
    assert next_step(job(), ks, retry_failed=False) is RECOVER


def test_an_intent_after_a_failure_is_still_a_new_attempt():
    ks = replay([intent(), submitted(), failed(), intent(t=LATER)]).jobs[KEY]
    assert (ks.state, ks.job_id, ks.ambiguous, ks.intent_t) == ("running", None, True, LATER)


def test_an_earlier_intent_repeated_after_a_resend_keeps_the_resend_time():
    # intent, unsent, intent again (the resend), then a copy of the first line: recovery
    # must count the settle time from the resend, the latest call the API may have.
    ks = replay([intent(), {"event": "unsent", "t": LATER, "key": KEY}, intent(t=LATER),
                 intent()]).jobs[KEY]
    assert (ks.state, ks.ambiguous, ks.intent_t) == ("running", True, LATER)
    ks = replay([intent(t=LATER), intent()]).jobs[KEY]
    assert ks.intent_t == LATER
