"""kill -9 at many moments of `batchgen run` over loopback: nothing is ever submitted twice.

BATCHGEN_CRASH_KILLS sets the number of kills that must land inside a run (12 here;
the benchmark runs 50).
"""

from __future__ import annotations

import os

from crashkit import crash_campaign

KILLS = int(os.environ.get("BATCHGEN_CRASH_KILLS", "12"))


def test_sigkill_at_random_moments_never_duplicates_a_generation_or_corrupts_a_file(tmp_path):
    # Two batches or more: the second saves replay checkpoints as a big ledger's run does.
    report = crash_campaign(tmp_path, kills=KILLS, seed=11, time_scale=20.0,
                            kills_per_batch=max(1, KILLS // 2))
    assert report.kills_inside_run == KILLS
    assert report.kills_inside_run >= 0.8 * report.kills  # kills hit runs at work, not start-up
    assert report.killed_right_after_intent > 0  # the dangerous moment was really hit
    assert report.duplicates == []
    assert report.bad_files == []
    assert report.unreadable_ledger == []
    assert report.leftovers == []
    assert report.checkpoints_checked > 0 and report.bad_checkpoints == []
    assert set(report.final_exit_codes) == {0}
    assert report.final_counts == {"succeeded": 40 * report.batches}
