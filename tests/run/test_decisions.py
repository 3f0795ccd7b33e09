"""The run's decisions as plain functions: a job's next step from its ledger state, a
final job read into its ledger event, the recovery verdict on a lost answer. No network,
no clock: hand-written states, jobs and listings."""

from __future__ import annotations

import pytest

from batchgen.errors import JobRejected
from batchgen.jobs import canonical_json
from batchgen.run.decisions import (DONE, DOWNLOAD, POLL, RECOVER, SKIP_FAILED, SUBMIT, Step,
                                    claim, final_event, next_step, recovery_verdict,
                                    rejected_event)
from ledgerkit import KEY, failed, file, intent, job, state_of, submitted, succeeded

# --- next_step ----------------------------------------------------------------------

def test_a_job_the_ledger_never_saw_is_submitted():
    assert next_step(job(), None, retry_failed=False) is SUBMIT


def test_a_pending_job_is_submitted():
    assert next_step(job(), state_of(intent(), {"event": "unsent", "key": KEY}),
                     retry_failed=False) is SUBMIT


def test_an_intent_without_an_answer_is_recovered_never_resubmitted():
    assert next_step(job(), state_of(intent()), retry_failed=True) is RECOVER


def test_a_job_with_a_job_id_is_polled():
    assert next_step(job(), state_of(intent(), submitted()), retry_failed=False) is POLL


def test_a_recovered_job_is_polled():
    ks = state_of(intent(), {"event": "recovered", "key": KEY, "jobId": "job_9"})
    assert next_step(job(), ks, retry_failed=False) is POLL


def test_a_generated_job_with_missing_files_is_downloaded():
    assert next_step(job(), state_of(intent(), submitted(), succeeded()),
                     retry_failed=False) is DOWNLOAD


def test_a_succeeded_job_with_intact_files_is_done():
    ks = state_of(intent(), submitted(), succeeded(), file())
    assert next_step(job(), ks, retry_failed=False) is DONE


def test_a_failed_job_is_skipped_without_retry_failed():
    assert next_step(job(), state_of(intent(), submitted(), failed()),
                     retry_failed=False) is SKIP_FAILED


def test_a_failed_job_is_submitted_again_with_retry_failed():
    assert next_step(job(), state_of(intent(), submitted(), failed()),
                     retry_failed=True) is SUBMIT


def test_retry_failed_never_resubmits_a_succeeded_or_running_job():
    assert next_step(job(), state_of(intent(), submitted()), retry_failed=True) is POLL
    assert next_step(job(), state_of(intent(), submitted(), succeeded(), file()),
                     retry_failed=True) is DONE


def test_a_state_of_another_key_is_refused():
    with pytest.raises(ValueError, match="key"):
        next_step(job(key="ffffffffffffffff"), state_of(intent()), retry_failed=False)


def test_steps_are_the_documented_names():
    assert [s.name for s in Step] == ["SUBMIT", "RECOVER", "POLL", "DOWNLOAD", "DONE", "SKIP_FAILED"]


# --- a final job, read into its event ---------------------------------------------

def test_a_successful_job_is_succeeded_with_its_assets_and_cost():
    final = {"jobId": "job_1", "status": "success", "billing": {"cuCost": 12.5},
             "metadata": {"assetIds": ["asset_1", "asset_2"]}}
    assert final_event(KEY, "job_1", final) == {
        "event": "succeeded", "key": KEY, "jobId": "job_1",
        "assetIds": ["asset_1", "asset_2"], "cost": 12.5}


def test_a_success_without_billing_or_assets_records_none_and_no_assets():
    event = final_event(KEY, "job_1", {"status": "success"})
    assert (event["assetIds"], event["cost"]) == ([], None)


def test_a_failed_job_carries_the_apis_error_and_hint():
    final = {"status": "failure", "metadata": {"error": "moderation", "hint": "rephrase"}}
    assert final_event(KEY, "job_1", final) == {
        "event": "failed", "key": KEY, "jobId": "job_1", "error": "moderation",
        "hint": "rephrase", "jobStatus": "failure"}


def test_a_canceled_job_without_an_error_is_failed_naming_its_status():
    event = final_event(KEY, "job_1", {"status": "canceled"})
    assert (event["event"], event["error"], event["jobStatus"]) == (
        "failed", "the job ended with status canceled", "canceled")


def test_the_events_replay_into_the_states_they_mean():
    ok = final_event(KEY, "job_1", {"status": "success", "metadata": {"assetIds": ["asset_1"]}})
    assert state_of(intent(), submitted(), ok, file()).state == "succeeded"
    bad = final_event(KEY, "job_1", {"status": "failure"})
    assert state_of(intent(), submitted(), bad).state == "failed"


def test_a_job_the_api_refuses_to_show_is_failed_with_the_refusal():
    exc = JobRejected("job_1 is invalid", status=422, hint="submit it again")
    assert rejected_event(KEY, "job_1", exc) == {
        "event": "failed", "key": KEY, "jobId": "job_1", "error": "job_1 is invalid",
        "hint": "submit it again", "status": 422}


# --- the recovery verdict -----------------------------------------------------------

BODY = {"prompt": "a heron", "duration": "5s", "seed": 7}


def listed(job_id: str, sent: dict | None, cost: int | None = None) -> dict:
    """A job as the job list shows it: its echoed input and, maybe, what it cost."""
    return {"jobId": job_id, "metadata": {"input": sent} if sent is not None else {},
            **({"billing": {"cuCost": cost}} if cost is not None else {})}


def claimed(jobs: list[dict], *, known=(), others=(), could_be=lambda sent: False):
    found = claim(BODY, jobs, known=set(known), others=set(others), could_be=could_be)
    return found and found["jobId"]


def test_the_oldest_exact_match_is_claimed_first():
    # The list is newest first; samples of one body are interchangeable.
    assert claimed([listed("new", BODY), listed("old", BODY)]) == "old"


def test_a_job_some_ledger_holds_is_never_claimed():
    assert claimed([listed("new", BODY), listed("old", BODY)], known={"old"}) == "new"
    assert claimed([listed("old", BODY)], known={"old"}) is None


def test_an_exact_match_wins_over_an_echo_confirming_more_loosely():
    with_default = {**BODY, "loop": False}  # the API added a default: still this body
    assert claimed([listed("exact", BODY), listed("echo", with_default)]) == "exact"
    assert claimed([listed("echo", with_default)]) == "echo"


def test_an_echo_of_another_body_or_without_an_input_is_not_claimed():
    assert claimed([listed("other", {**BODY, "seed": 8}), listed("bare", None)]) is None


def test_a_loose_echo_that_is_another_lost_body_or_one_in_flight_is_not_claimed():
    loose = {"prompt": "a heron", "duration": "5s"}
    assert claimed([listed("j", loose)]) == "j"
    assert claimed([listed("j", loose)], others={canonical_json(loose)}) is None
    assert claimed([listed("j", loose)], could_be=lambda sent: sent == loose) is None


def test_a_claimed_job_is_recovered_with_its_cost_counted():
    assert recovery_verdict(KEY, listed("job_9", BODY, cost=30), listed_at=1.0, intent_at=0.0,
                            wait=60.0) == {"event": "recovered", "key": KEY, "jobId": "job_9",
                                           "cost": 30}
    assert recovery_verdict(KEY, listed("job_9", BODY), listed_at=1.0, intent_at=0.0,
                            wait=60.0) == {"event": "recovered", "key": KEY, "jobId": "job_9"}


def test_only_a_listing_started_the_wait_after_the_intent_proves_it_never_sent():
    assert recovery_verdict(KEY, None, listed_at=159.9, intent_at=100.0, wait=60.0) is None
    assert recovery_verdict(KEY, None, listed_at=160.0, intent_at=100.0,
                            wait=60.0) == {"event": "unsent", "key": KEY}
