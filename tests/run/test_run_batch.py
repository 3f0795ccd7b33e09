"""run_batch end to end against the in-process simulator: submit, poll, download, resume."""

from __future__ import annotations

import hashlib

import pytest

from batchgen.errors import LockedError, UsageError
from batchgen.jobs import LocalFrame
from batchgen.ledger.lock import OutputLock
from runkit import (client_for, events, generate_calls, make_batch, make_job, png, run,
                   sha256_of, simulator)


def _jobs(n: int, **params):
    return [make_job(f"a lighthouse at dusk, take {i}", duration="5s", **params) for i in range(n)]


def test_every_job_ends_with_its_video_under_its_name_and_its_sha256_in_the_ledger(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _jobs(5))
    summary = run(batch, client_for(sim), concurrency=3)
    assert summary.exit_code == 0
    assert summary.counts["succeeded"] == 5
    files = {e["key"]: e for e in events(batch, "file")}
    for job in batch.jobs:
        path = batch.output / job.filename
        assert path.read_bytes()[4:8] == b"ftyp"  # an MP4
        assert files[job.key]["sha256"] == sha256_of(path)
        assert files[job.key]["bytes"] == path.stat().st_size


def test_the_ledger_records_intent_before_submission_and_the_job_id_after(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _jobs(2))
    run(batch, client_for(sim))
    for job in batch.jobs:
        mine = [e for e in events(batch) if e.get("key") == job.key]
        assert [e["event"] for e in mine] == ["intent", "submitted", "succeeded", "file"]
        assert mine[0]["body"] == {"prompt": job.prompt, "duration": "5s"}
        assert mine[1]["jobId"] == mine[2]["jobId"] and mine[1]["cost"] > 0


def test_a_second_run_of_a_finished_batch_sends_and_fetches_nothing(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _jobs(3))
    run(batch, client_for(sim))
    calls_before = dict(sim.counters.calls)
    summary = run(batch, client_for(sim))
    assert summary.exit_code == 0 and summary.submitted == 0 and summary.downloaded == 0
    assert dict(sim.counters.calls) == calls_before


def test_an_edited_batch_runs_only_its_new_jobs(tmp_path):
    sim = simulator()
    first = _jobs(2)
    run(make_batch(tmp_path, first), client_for(sim))
    added = make_job("a new prompt about a harbour", duration="5s")
    summary = run(make_batch(tmp_path, [added, *reversed(first)]), client_for(sim))
    assert summary.submitted == 1 and generate_calls(sim) == 3
    assert summary.counts["succeeded"] == 3


def test_generations_in_flight_never_exceed_the_concurrency(tmp_path):
    sim = simulator(duration_range=(20.0, 40.0))
    summary = run(make_batch(tmp_path, _jobs(10)), client_for(sim), concurrency=3)
    assert summary.exit_code == 0
    assert sim.peak_in_flight == 3


def test_a_ceiling_stated_in_a_429_bounds_the_run_and_is_recorded(tmp_path):
    sim = simulator(ceiling=2, duration_range=(20.0, 40.0), retry_after=0.0)
    batch = make_batch(tmp_path, _jobs(8))
    summary = run(batch, client_for(sim), concurrency=6)
    assert summary.exit_code == 0 and summary.counts["succeeded"] == 8
    assert sim.peak_in_flight <= 2
    assert [e["limit"] for e in events(batch, "ceiling")] == [2]
    # a 429 created nothing, so the call was made again, each time after its own intent
    assert len(events(batch, "intent")) == generate_calls(sim) > 8
    assert summary.ceiling == 2
    # once stated, the ceiling holds: the 429s are the ones that taught it, not one per job
    assert sim.counters.rate_limited < 8


def test_a_local_frame_is_uploaded_once_and_reused_by_later_runs(tmp_path):
    image = tmp_path / "knight.png"
    image.write_bytes(png())
    frame = LocalFrame(path=image, sha256=hashlib.sha256(image.read_bytes()).hexdigest(),
                       display="knight.png")
    sim = simulator()
    jobs = [make_job(f"a knight, take {i}", frames={"startFrame": frame}, duration="5s")
            for i in range(3)]
    batch = make_batch(tmp_path, jobs[:2])
    run(batch, client_for(sim))
    run(make_batch(tmp_path, jobs), client_for(sim))
    assert sim.counters.calls["POST /assets"] == 1
    uploads = events(batch, "upload")
    assert [(u["sha256"], u["path"]) for u in uploads] == [(frame.sha256, "knight.png")]
    bodies = [e["body"] for e in events(batch, "intent")]
    assert {b["startFrame"] for b in bodies} == {uploads[0]["assetId"]}


def test_a_second_run_on_a_locked_output_folder_is_refused(tmp_path):
    batch = make_batch(tmp_path, _jobs(1))
    batch.output.mkdir()
    with OutputLock(batch.output):
        with pytest.raises(LockedError):
            run(batch, client_for(simulator()))


def test_results_of_the_simulator_and_of_a_real_api_never_share_a_folder(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _jobs(1))
    run(batch, client_for(sim), api="simulated")
    with pytest.raises(UsageError, match="--out"):
        run(batch, client_for(sim), api="https://api.cloud.scenario.com/v1")
    assert generate_calls(sim) == 1


def test_the_run_writes_a_batch_snapshot_and_start_and_end_events(tmp_path):
    batch = make_batch(tmp_path, _jobs(2))
    run(batch, client_for(simulator()))
    assert (batch.output / "batch.json").exists()
    names = [e["event"] for e in events(batch)]
    assert names[0] == "run" and names[-1] == "end"
    assert events(batch, "end")[0]["summary"]["counts"]["succeeded"] == 2


def test_against_an_api_that_starts_empty_recorded_uploads_are_not_reused(tmp_path):
    image = tmp_path / "knight.png"
    image.write_bytes(png())
    frame = LocalFrame(path=image, sha256=hashlib.sha256(image.read_bytes()).hexdigest(),
                       display="knight.png")
    jobs = [make_job(f"a knight, take {i}", frames={"startFrame": frame}, duration="5s")
            for i in range(2)]
    run(make_batch(tmp_path, jobs[:1]), client_for(simulator()), reuse_uploads=False)
    fresh = simulator()  # like a new in-process simulator: the earlier asset is unknown
    summary = run(make_batch(tmp_path, jobs), client_for(fresh), reuse_uploads=False)
    assert summary.exit_code == 0 and fresh.counters.calls["POST /assets"] == 1


def test_a_finished_run_leaves_a_checkpoint_covering_its_whole_ledger(tmp_path, monkeypatch):
    from batchgen.ledger import checkpoint
    from batchgen.run import journal as runledger
    from batchgen.ledger.events import ledger_path, read_events
    from batchgen.ledger.state import replay

    # As for a big ledger between two growth checkpoints: only the run's end saves one.
    monkeypatch.setattr(runledger, "due", lambda new_bytes, offset, last=False: last and new_bytes > 0)
    batch = make_batch(tmp_path, _jobs(4))
    run(batch, client_for(simulator()), concurrency=2)
    ledger = ledger_path(batch.output)
    briefs = checkpoint.load_brief(ledger)  # None unless it covers the whole ledger
    assert briefs is not None
    replayed = replay(read_events(ledger)).jobs
    assert {b.key: (b.state, b.job_id, b.files) for b in briefs} == {
        key: (ks.state, ks.job_id, ks.files) for key, ks in replayed.items()}
