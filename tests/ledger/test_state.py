"""Replaying ledger events into per-key states."""

from __future__ import annotations

import pytest

from batchgen.errors import LedgerError
from batchgen.ledger.state import LedgerState, replay
from ledgerkit import BODY, KEY, failed, file, intent, state_of, submitted, succeeded

# --- replay -------------------------------------------------------------------------

def test_an_intent_alone_is_running_and_ambiguous():
    ks = state_of(intent())
    assert (ks.state, ks.ambiguous, ks.job_id) == ("running", True, None)
    assert (ks.id, ks.sample, ks.body, ks.intent_t) == ("knight", 1, BODY, "2026-01-01T00:00:00.000Z")


def test_a_submitted_job_is_running_with_its_job_id_and_cost():
    ks = state_of(intent(), submitted())
    assert (ks.state, ks.job_id, ks.cost, ks.ambiguous) == ("running", "job_1", 20, False)
    assert ks.submitted_t == "2026-01-01T00:00:01.000Z"


def test_unsent_makes_an_intent_pending_again():
    ks = state_of(intent(), {"event": "unsent", "key": KEY})
    assert (ks.state, ks.ambiguous) == ("pending", False)


def test_recovered_gives_the_lost_job_id_back():
    ks = state_of(intent(), {"event": "recovered", "key": KEY, "jobId": "job_9"})
    assert (ks.state, ks.job_id, ks.ambiguous) == ("running", "job_9", False)
    assert ks.submitted_t == ks.intent_t


def test_succeeded_without_its_files_is_still_running():
    ks = state_of(intent(), submitted(), succeeded())
    assert (ks.state, ks.generated, ks.asset_ids) == ("running", True, ["asset_1"])


def test_succeeded_with_every_file_recorded_is_succeeded():
    ks = state_of(intent(), submitted(), succeeded(assets=["asset_1", "asset_2"]),
                  file(asset="asset_1"), file(asset="asset_2", path="knight/2.mp4"))
    assert ks.state == "succeeded"
    assert [f["path"] for f in ks.files] == ["knight/1.mp4", "knight/2.mp4"]
    assert ks.finished_t == "2026-01-01T00:01:00.000Z"


def test_one_file_of_two_is_not_enough():
    ks = state_of(intent(), submitted(), succeeded(assets=["asset_1", "asset_2"]), file())
    assert ks.state == "running"


def test_a_file_downloaded_again_replaces_its_earlier_record():
    ks = state_of(intent(), submitted(), succeeded(), file(sha="a" * 64), file(sha="b" * 64))
    assert [f["sha256"] for f in ks.files] == ["b" * 64]


def test_failed_records_the_apis_message_and_hint():
    ks = state_of(intent(), submitted(), failed())
    assert (ks.state, ks.error, ks.hint, ks.job_id) == ("failed", "provider failure", "try again", "job_1")


def test_a_rejected_submission_fails_without_a_job_id():
    ks = state_of(intent(), {"event": "failed", "key": KEY, "error": "bad", "status": 422})
    assert (ks.state, ks.job_id, ks.status, ks.ambiguous) == ("failed", None, 422, False)


def test_a_new_intent_after_a_failure_starts_a_fresh_attempt():
    ks = state_of(intent(), submitted(), failed(), intent(t="2026-01-02T00:00:00.000Z"))
    assert (ks.state, ks.job_id, ks.error, ks.hint, ks.ambiguous) == ("running", None, None, None, True)
    assert ks.intent_t == "2026-01-02T00:00:00.000Z"


def test_a_retry_resets_the_same_key_state_object_in_place():
    state = LedgerState()
    for event in (intent(), submitted(), failed()):
        state.apply(event)
    held = state.jobs[KEY]
    state.apply(intent())
    assert state.jobs[KEY] is held and held.state == "running"


def test_spent_sums_the_cost_of_every_submission_across_attempts():
    state = replay([intent(), submitted(cost=20), failed(), intent(), submitted(job_id="job_2", cost=30)])
    assert state.spent == 50
    assert state.known_job_ids == {"job_1", "job_2"}


def test_uploads_map_frame_hashes_to_asset_ids():
    state = replay([{"event": "upload", "sha256": "f" * 64, "path": "k.png", "assetId": "asset_f"}])
    assert state.uploads == {"f" * 64: "asset_f"}


def test_the_latest_stated_ceiling_wins():
    state = replay([{"event": "ceiling", "limit": 5}, {"event": "ceiling", "limit": 3}])
    assert state.ceiling == 3


def test_run_end_and_unknown_events_change_nothing():
    state = replay([{"event": "run", "pid": 1}, {"event": "from-the-future", "key": KEY},
                    {"event": "end", "summary": {}}])
    assert state.jobs == {} and state.ceiling is None


def test_counts_list_every_state():
    state = replay([intent(key="a"), intent(key="b"), submitted(key="b"), failed(key="b")])
    assert state.counts() == {"pending": 0, "running": 1, "succeeded": 0, "failed": 1}


def test_incremental_apply_matches_replay():
    events = [intent(), submitted(), succeeded(), file()]
    state = LedgerState()
    for event in events:
        state.apply(event)
    assert state.jobs == replay(events).jobs


def test_an_event_missing_its_key_is_a_ledger_error():
    with pytest.raises(LedgerError, match="'submitted' ledger event .* no 'key'"):
        replay([{"event": "submitted", "t": "x", "jobId": "job_1"}])


@pytest.mark.parametrize("files", [None, "a.mp4", [{"assetId": "a1"}], [{"assetId": "a1", "path": 3}]])
def test_a_reused_event_whose_files_have_no_place_is_a_ledger_error(files):
    event = {"event": "reused", "t": "x", "key": "k1", "jobId": "job_1", "from": "/elsewhere",
             "files": files}
    with pytest.raises(LedgerError, match="'reused' ledger event .* no 'files'"):
        replay([event])


def test_a_reused_event_takes_its_files_in_place():
    event = {"event": "reused", "t": "x", "key": "k1", "jobId": "job_1", "from": "/elsewhere",
             "files": [{"assetId": "a1", "path": "k/1.mp4", "bytes": 5, "sha256": "0" * 64}]}
    ks = replay([event]).jobs["k1"]
    assert ks.state == "succeeded" and [f["path"] for f in ks.files] == ["k/1.mp4"]
