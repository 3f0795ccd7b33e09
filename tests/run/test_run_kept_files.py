"""A run never overwrites a verified file the ledger gives to another key: the earlier
file is kept under `<name>.<its key><ext>` and the ledger records it there."""

from __future__ import annotations

from batchgen.ledger.events import ledger_path, read_events
from batchgen.ledger.state import replay
from batchgen.run.download import kept_name
from runkit import client_for, events, make_batch, make_job, run, sha256_of, simulator


def files_of(batch):
    state = replay(read_events(ledger_path(batch.output)))
    return {key: [(f["path"], f["sha256"]) for f in ks.files] for key, ks in state.jobs.items()}


def test_an_edited_prompt_under_a_template_without_key_keeps_the_paid_video(tmp_path):
    sim = simulator()
    first = make_job("A knight in fog", filename="knight.mp4")
    batch = make_batch(tmp_path, [first])
    assert run(batch, client_for(sim)).exit_code == 0
    paid = sha256_of(batch.output / "knight.mp4")

    edited = make_job("A knight in heavy fog", filename="knight.mp4")
    batch.jobs = [edited]
    assert run(batch, client_for(sim)).exit_code == 0

    kept = kept_name("knight.mp4", first.key)
    assert kept == f"knight.{first.key}.mp4"
    assert sha256_of(batch.output / kept) == paid
    assert sha256_of(batch.output / "knight.mp4") != paid
    assert files_of(batch)[first.key] == [(kept, paid)]
    assert files_of(batch)[edited.key] == [("knight.mp4", sha256_of(batch.output / "knight.mp4"))]
    moved = [e for e in events(batch, "file") if e.get("keptFrom")]
    assert [(e["key"], e["path"], e["keptFrom"]) for e in moved] == [(first.key, kept, "knight.mp4")]


def test_going_back_to_the_first_prompt_loses_neither_video(tmp_path):
    sim = simulator()
    first = make_job("A knight in fog", filename="knight.mp4")
    edited = make_job("A knight in heavy fog", filename="knight.mp4")
    batch = make_batch(tmp_path, [first])
    for jobs in ([first], [edited], [first]):
        batch.jobs = jobs
        assert run(batch, client_for(sim)).exit_code == 0
    assert sum(sim.counters.jobs_created.values()) == 2  # nothing paid twice
    for key, records in files_of(batch).items():
        for path, sha in records:
            assert sha256_of(batch.output / path) == sha, (key, path)
    assert {path for records in files_of(batch).values() for path, _ in records} == {
        "knight.mp4", kept_name("knight.mp4", edited.key)}


def test_a_file_no_key_verifies_is_replaced_without_keeping(tmp_path):
    # A file altered by hand is nobody's paid result any more: nothing to keep.
    sim = simulator()
    first = make_job("A knight in fog", filename="knight.mp4")
    batch = make_batch(tmp_path, [first])
    run(batch, client_for(sim))
    (batch.output / "knight.mp4").write_bytes(b"edited by hand")
    batch.jobs = [make_job("A knight in heavy fog", filename="knight.mp4")]
    assert run(batch, client_for(sim)).exit_code == 0
    assert not list(batch.output.glob("knight.*.mp4"))
    assert not [e for e in events(batch, "file") if e.get("keptFrom")]
