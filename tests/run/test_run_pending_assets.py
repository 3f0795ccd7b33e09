"""A video still `pending` after its job succeeded is waited for, with back-off, up to
`DownloadTiming.pending_limit`; past it the download is reported as not done yet and the
next run fetches it without submitting the job again. Small limits, fast simulator."""

from __future__ import annotations

import time

from batchgen.run.download import DownloadTiming
from runkit import client_for, events, generate_calls, make_batch, make_job, run, simulator

ASSET_READS = ("GET /assets/{asset_id}", "POST /assets/get-bulk")


def _jobs(n: int):
    return [make_job(f"a slow harbour, take {i}", duration="5s") for i in range(n)]


def _reads(sim) -> int:
    return sum(sim.counters.calls[route] for route in ASSET_READS)


def test_the_default_limit_is_at_least_ten_minutes():
    assert DownloadTiming().pending_limit >= 600


def test_a_video_pending_after_success_is_waited_for_with_backoff(tmp_path):
    # Pending for 0.4 real seconds: far beyond the 6 attempts x 0.01 s of the failure
    # back-off, well within the pending limit.
    sim = simulator(asset_pending_for=40.0)
    batch = make_batch(tmp_path, _jobs(3))
    timing = DownloadTiming(attempts=6, retry_wait=0.01, pending_wait=0.01, pending_cap=0.1,
                            pending_limit=30.0)
    summary = run(batch, client_for(sim), download=timing)
    assert summary.exit_code == 0 and summary.downloaded == 3 and not summary.download_errors
    # Back-off: a doubling wait capped at 0.1 s asks a few times a second, not every 10 ms.
    assert _reads(sim) < 3 * 15


def test_past_the_limit_the_download_is_left_for_the_next_run_which_submits_nothing(tmp_path):
    sim = simulator(asset_pending_for=80.0)  # 0.8 real seconds after each job's end
    batch = make_batch(tmp_path, _jobs(2))
    short = DownloadTiming(attempts=6, retry_wait=0.01, pending_wait=0.01, pending_cap=0.02,
                           pending_limit=0.1)
    first = run(batch, client_for(sim), download=short)
    assert first.exit_code == 1 and first.downloaded == 0
    assert len(first.download_errors) == 2
    assert all("not downloaded yet" in e and "the next run fetches it" in e
               for e in first.download_errors)
    assert first.counts["failed"] == 0
    assert not events(batch, "file")
    assert not any(e["event"] == "failed" for e in events(batch))

    time.sleep(1.0)  # the videos become ready
    again = run(batch, client_for(sim), download=short)
    assert again.exit_code == 0 and again.submitted == 0 and again.downloaded == 2
    assert generate_calls(sim) == 2
    for job in batch.jobs:
        assert (batch.output / job.filename).is_file()
