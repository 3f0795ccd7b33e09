"""The replay checkpoint: `load_state` always equals a full replay of the ledger."""

from __future__ import annotations

import os

import pytest

from batchgen.ledger import checkpoint
from batchgen.ledger.checkpoint import checkpoint_path, load_state
from batchgen.ledger.events import LedgerWriter, ledger_path, read_events
from batchgen.ledger.state import replay
from ledgerkit import job_states


def job_events(n: int, outcome: str = "succeeded"):
    key = f"{n:016x}"
    events = [{"event": "intent", "key": key, "id": f"p{n}", "sample": 1, "body": {"prompt": f"take {n}"}},
              {"event": "submitted", "key": key, "jobId": f"job_{n}", "cost": 2}]
    if outcome == "succeeded":
        events += [{"event": "succeeded", "key": key, "jobId": f"job_{n}", "assetIds": [f"a{n}"]},
                   {"event": "file", "key": key, "assetId": f"a{n}", "path": f"{n}.mp4",
                    "bytes": 1, "sha256": "0" * 64}]
    elif outcome == "failed":
        events.append({"event": "failed", "key": key, "jobId": f"job_{n}", "error": "no"})
    return events


def append(ledger, events):
    with LedgerWriter(ledger) as writer:
        for event in events:
            writer.append(event, sync=False)


def full(ledger):
    state = replay(read_events(ledger))
    return state.jobs, state.uploads, state.ceiling, state.spent, state.known_job_ids


def loaded(ledger):
    state = load_state(ledger)
    return state.jobs, state.uploads, state.ceiling, state.spent, state.known_job_ids


@pytest.fixture
def ledger(tmp_path):
    return ledger_path(tmp_path)


@pytest.fixture
def always(monkeypatch):
    """Write a checkpoint after any replay, however small."""
    monkeypatch.setattr(checkpoint, "MIN_BYTES", 1)


def test_load_state_of_a_missing_ledger_is_empty(ledger):
    assert load_state(ledger).jobs == {}


def test_a_small_ledger_gets_no_checkpoint(ledger):
    append(ledger, job_events(1))
    assert loaded(ledger) == full(ledger)
    assert not checkpoint_path(ledger).exists()


def test_a_big_enough_replay_writes_a_checkpoint_hidden_beside_the_ledger(ledger, always):
    append(ledger, job_events(1))
    load_state(ledger)
    assert checkpoint_path(ledger) == ledger.parent / ".ledger.jsonl.checkpoint"
    assert checkpoint_path(ledger).is_file()


def test_a_replay_asked_not_to_save_writes_no_checkpoint(ledger, always):
    append(ledger, job_events(1))
    assert load_state(ledger, save=False).jobs == full(ledger)[0]
    assert not checkpoint_path(ledger).exists()


def test_plan_writes_no_checkpoint_into_an_output_folder_with_a_ledger(tmp_path, always):
    from batchgen.cli import main

    (tmp_path / "m.yaml").write_text("version: 1\nname: m\noutput: out\nprompts: [a valley]\n",
                                     encoding="utf-8")
    ledger = ledger_path(tmp_path / "out")
    ledger.parent.mkdir()
    append(ledger, job_events(1))
    before = sorted(p.name for p in ledger.parent.iterdir())
    assert main(["plan", str(tmp_path / "m.yaml")]) == 0
    assert sorted(p.name for p in ledger.parent.iterdir()) == before


def test_state_from_a_checkpoint_equals_the_full_replay(ledger, always):
    append(ledger, [*job_events(1), *job_events(2, "failed"), {"event": "ceiling", "limit": 3},
                    {"event": "upload", "sha256": "f" * 64, "assetId": "asset_f"}])
    load_state(ledger)
    assert loaded(ledger) == full(ledger)


def test_events_appended_after_the_checkpoint_are_replayed_on_top(ledger, always):
    append(ledger, job_events(1, "running"))
    load_state(ledger)
    append(ledger, [*job_events(1)[2:], *job_events(2)])
    assert loaded(ledger) == full(ledger)
    assert load_state(ledger).jobs[f"{1:016x}"].state == "succeeded"


def test_a_rewritten_ledger_ignores_the_old_checkpoint(ledger, always):
    append(ledger, job_events(1))
    load_state(ledger)
    ledger.unlink()
    append(ledger, job_events(7, "failed") + job_events(8))
    assert loaded(ledger) == full(ledger)
    assert f"{1:016x}" not in load_state(ledger).jobs


def test_a_truncated_ledger_ignores_the_checkpoint(ledger, always):
    append(ledger, job_events(1) + job_events(2))
    load_state(ledger)
    lines = ledger.read_bytes().splitlines(keepends=True)
    ledger.write_bytes(b"".join(lines[:3]))
    assert loaded(ledger) == full(ledger)


def test_a_damaged_checkpoint_is_ignored(ledger, always):
    append(ledger, job_events(1))
    load_state(ledger)
    checkpoint_path(ledger).write_bytes(b"\x00garbage")
    assert loaded(ledger) == full(ledger)


def test_no_checkpoint_is_made_at_a_torn_last_line(ledger, always):
    append(ledger, job_events(1))
    with open(ledger, "ab") as handle:
        handle.write(b'{"event":"subm')
    assert loaded(ledger) == full(ledger)
    assert not checkpoint_path(ledger).exists()
    append(ledger, job_events(2))  # the writer drops the torn line
    assert loaded(ledger) == full(ledger)


def test_a_corrupt_line_after_the_checkpoint_names_its_line_number(ledger, always):
    from batchgen.errors import LedgerError

    append(ledger, job_events(1))  # 4 lines
    load_state(ledger)
    with open(ledger, "ab") as handle:
        handle.write(b'{"event":"run"}\n{oops\n{"event":"end"}\n')
    with pytest.raises(LedgerError, match=r"ledger\.jsonl:6:"):
        load_state(ledger)


def plan_view(output):
    """job_states as plan shows it, computed by a full replay (no checkpoint shortcut)."""
    from batchgen.ledger.status import _files

    state = replay(read_events(ledger_path(output)))
    return {key: {"state": ks.state, "jobId": ks.job_id, "files": _files(ks.files, str(output)),
                  "error": ks.error if ks.state == "failed" else None}
            for key, ks in state.jobs.items()}


def test_plan_states_read_from_a_checkpoint_equal_the_full_replay(tmp_path, always):
    append(ledger_path(tmp_path), job_events(1) + job_events(2, "failed") + job_events(3, "running"))
    load_state(ledger_path(tmp_path))
    assert checkpoint.load_brief(ledger_path(tmp_path)) is not None
    assert job_states(tmp_path) == plan_view(tmp_path)


def test_plan_states_include_events_appended_after_the_checkpoint(tmp_path, always):
    append(ledger_path(tmp_path), job_events(1, "failed"))
    load_state(ledger_path(tmp_path))
    append(ledger_path(tmp_path), job_events(1) + job_events(2))
    assert checkpoint._read_checkpoint(ledger_path(tmp_path)).offset < ledger_path(tmp_path).stat().st_size
    assert checkpoint.load_brief(ledger_path(tmp_path)) is not None  # replayed on top
    assert job_states(tmp_path)["0000000000000001"]["state"] == "succeeded"
    assert job_states(tmp_path) == plan_view(tmp_path)


def test_plan_states_take_a_resend_after_a_429_appended_after_the_checkpoint(tmp_path, always):
    # The brief has no ambiguity flag: a key with an intent and nothing since is still
    # waiting for its answer, so the resend's intent moves its time (as a full replay does).
    first = [{**job_events(1, "running")[0], "t": "2026-01-01T00:00:00.000Z"}]
    append(ledger_path(tmp_path), first)
    load_state(ledger_path(tmp_path))
    append(ledger_path(tmp_path), [{**first[0], "t": "2026-01-01T00:05:00.000Z"}])
    briefs = checkpoint.load_brief(ledger_path(tmp_path))
    assert [b.intent_t for b in briefs] == ["2026-01-01T00:05:00.000Z"]
    assert job_states(tmp_path) == plan_view(tmp_path)


def test_a_checkpoint_in_the_first_format_is_replaced_not_trusted(ledger, always):
    import msgspec

    append(ledger, job_events(1) + job_events(2, "failed"))
    stale = replay(read_events(ledger))
    stale.jobs[f"{1:016x}"].state = "failed"  # what a wrong checkpoint would claim
    head, tail = checkpoint._probes(ledger, ledger.stat().st_size)
    checkpoint_path(ledger).write_bytes(msgspec.msgpack.encode({
        "version": 1, "offset": ledger.stat().st_size, "lines": 8, "head": head, "tail": tail,
        "jobs": list(stale.jobs.values()), "uploads": {}, "ceiling": None, "spent": 0.0,
        "known_job_ids": []}))
    assert checkpoint.load_brief(ledger) is None
    assert loaded(ledger) == full(ledger)
    assert checkpoint.load_brief(ledger) is not None  # the replay wrote the current format


def test_a_checkpoint_with_a_damaged_state_part_is_ignored(ledger, always):
    import msgspec

    append(ledger, job_events(1))
    load_state(ledger)
    document = msgspec.msgpack.decode(checkpoint_path(ledger).read_bytes())
    checkpoint_path(ledger).write_bytes(msgspec.msgpack.encode({**document, "state": b"\xc1"}))
    assert loaded(ledger) == full(ledger)


def test_the_writer_knows_the_size_and_line_count_of_its_file(ledger):
    append(ledger, job_events(1))
    with open(ledger, "ab") as handle:
        handle.write(b'{"event":"subm')  # torn: dropped when the writer opens
    with LedgerWriter(ledger) as writer:
        assert (writer.size, writer.lines) == (ledger.stat().st_size, 4)
        writer.append({"event": "ceiling", "limit": 2}, sync=False)
        assert (writer.size, writer.lines) == (ledger.stat().st_size, 5)
    assert ledger.read_bytes().count(b"\n") == 5


def test_a_run_saves_checkpoints_as_its_ledger_grows_and_a_last_one_at_its_end(ledger, always):
    """What a run leaves after a crash: a checkpoint at most about 5 % behind, which
    readers replay from, and after a run that ends, one that covers everything."""
    from batchgen.run.journal import RunLedger

    with LedgerWriter(ledger) as writer:
        run = RunLedger(writer, replay([]))
        for n in range(1, 201):
            for event in job_events(n, "succeeded" if n % 3 else "failed"):
                run.record(event)
            saved = checkpoint._read_checkpoint(ledger)
            assert saved is not None and saved.offset >= 0.95 * writer.size - 300
            assert saved.lines == ledger.read_bytes()[:saved.offset].count(b"\n")
            if n % 50 == 0:
                state = load_state(ledger, save=False)
                assert (state.jobs, state.known_job_ids) == full(ledger)[::4]
        assert checkpoint._read_checkpoint(ledger).offset < writer.size  # the last few are not in it
        run.save_checkpoint()
    assert checkpoint.load_brief(ledger) is not None
    assert checkpoint._read_checkpoint(ledger).offset == ledger.stat().st_size
    assert loaded(ledger) == full(ledger)


def eventful_history():
    """Every way a key's plan view changes: retries, lost answers, several assets,
    files before and after success, a file fetched again, unsent intents."""
    k = [f"{n:016x}" for n in range(6)]
    return [
        {"event": "run"},
        {"event": "intent", "key": k[0], "id": "a", "sample": 1, "body": {"prompt": "a"}},
        {"event": "submitted", "key": k[0], "jobId": "j0", "cost": 3},
        {"event": "intent", "key": k[1], "id": "b", "sample": 1, "body": {"prompt": "b"}},
        {"event": "failed", "key": k[0], "jobId": "j0", "error": "refused", "hint": "reword"},
        {"event": "unsent", "key": k[1]},
        {"event": "intent", "key": k[2], "id": "c", "sample": 1, "body": {"prompt": "c"},
         "t": "2026-11-27T10:00:00.000Z"},  # the submission time a recovery assumes
        {"event": "recovered", "key": k[2], "jobId": "j2", "t": "2026-11-27T10:05:00.000Z"},
        {"event": "succeeded", "key": k[2], "jobId": "j2", "assetIds": ["x", "y"]},
        {"event": "file", "key": k[2], "assetId": "x", "path": "c/x.mp4", "bytes": 1, "sha256": "1" * 64},
        {"event": "upload", "sha256": "f" * 64, "assetId": "frame"},
        {"event": "intent", "key": k[0], "id": "a", "sample": 1, "body": {"prompt": "a"}},
        {"event": "file", "key": k[2], "assetId": "y", "path": "c/y.mp4", "bytes": 2, "sha256": "2" * 64},
        {"event": "submitted", "key": k[0], "jobId": "j0b", "cost": 3},
        {"event": "file", "key": k[3], "assetId": "z", "path": "d.mp4", "bytes": 1, "sha256": "3" * 64},
        {"event": "succeeded", "key": k[3], "jobId": "j3", "assetIds": ["z"]},
        {"event": "succeeded", "key": k[0], "jobId": "j0b", "assetIds": ["w"]},
        {"event": "ceiling", "limit": 4},
        {"event": "file", "key": k[0], "assetId": "w", "path": "a.mp4", "bytes": 5, "sha256": "4" * 64},
        {"event": "file", "key": k[2], "assetId": "x", "path": "c/x.mp4", "bytes": 1, "sha256": "5" * 64},
        {"event": "failed", "key": k[4], "error": "The prompt was refused", "status": 400},
        {"event": "succeeded", "key": k[5], "jobId": "j5", "assetIds": ["p", "q"]},
        {"event": "file", "key": k[5], "assetId": "p", "path": "f/p.mp4", "bytes": 1, "sha256": "6" * 64},
        {"event": "end"},  # k[5] is still running: one of its two files is missing
    ]


def checkpointed_after_each_line(ledger):
    """For each line N of the ledger, save the checkpoint of its first N lines (the rest
    is then replayed on top) and yield N."""
    data = ledger.read_bytes()
    ends = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    for lines, offset in enumerate(ends, 1):
        ledger.write_bytes(data[:offset])
        state = load_state(ledger, save=False)
        ledger.write_bytes(data)
        checkpoint.save_checkpoint(ledger, state, offset, lines)
        assert checkpoint.load_brief(ledger) is not None
        yield lines


def test_plan_states_from_a_checkpoint_at_any_line_plus_the_rest_equal_the_full_replay(tmp_path):
    ledger = ledger_path(tmp_path)
    append(ledger, eventful_history())
    expected = plan_view(tmp_path)
    for lines in checkpointed_after_each_line(ledger):
        assert job_states(tmp_path) == expected, f"checkpoint after line {lines}"


def test_saving_removes_the_half_written_checkpoints_of_killed_processes(ledger, always):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    append(ledger, job_events(1))
    killed = checkpoint_path(ledger).with_name(f".ledger.jsonl.checkpoint.{dead}.tmp")
    saving = checkpoint_path(ledger).with_name(f".ledger.jsonl.checkpoint.{os.getppid()}.tmp")
    killed.write_bytes(b"\x00" * 64)
    saving.write_bytes(b"\x00" * 64)  # a live process's, still being written
    load_state(ledger)
    assert checkpoint_path(ledger).is_file()
    assert not killed.exists() and saving.exists()


def test_status_records_through_a_checkpoint_at_any_line_equal_the_full_replay(tmp_path, monkeypatch):
    import json

    from batchgen.ledger.status import collect_records

    ledger = ledger_path(tmp_path)
    history = eventful_history()
    append(ledger, history)
    keys = dict.fromkeys(e["key"] for e in history if "key" in e)
    (tmp_path / "batch.json").write_text(json.dumps({"name": "t", "axes": {}, "jobs": [
        {"key": key, "id": f"p{n}", "sample": 1, "prompt": f"take {n}", "params": {},
         "variables": {}, "filename": f"{n}.mp4"} for n, key in enumerate(keys)]}))
    monkeypatch.setattr(checkpoint, "MIN_BYTES", 1 << 40)  # readers save no checkpoint here
    expected = collect_records([str(tmp_path)])
    assert [r["state"] for r in expected[0]] == ["succeeded", "pending", "succeeded", "succeeded",
                                                 "failed", "running"]
    for lines in checkpointed_after_each_line(ledger):
        assert collect_records([str(tmp_path)]) == expected, f"checkpoint after line {lines}"


def test_a_reused_key_is_the_same_from_a_checkpoint_and_its_briefs(ledger, always):
    reused = {"event": "reused", "key": "00000000000000ff", "id": "p255", "sample": 1,
              "from": "/data/first", "jobId": "job_255", "assetIds": ["a255"],
              "files": [{"assetId": "a255", "path": "255.mp4", "bytes": 1, "sha256": "0" * 64,
                         "source": "/data/first/255.mp4"}], "originalCost": 30}
    append(ledger, [*job_events(1), reused])
    load_state(ledger)
    assert loaded(ledger) == full(ledger)
    [brief] = [b for b in checkpoint.load_brief(ledger) if b.key == reused["key"]]
    assert (brief.state, brief.cost, brief.reused_from) == ("succeeded", 0.0, "/data/first")
    assert full(ledger)[3] == 2  # spent: only the key paid for here
