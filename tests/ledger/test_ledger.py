"""The ledger file: append-only JSON lines, durable, tolerant of a torn last line only."""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime

import pytest

from batchgen.errors import LedgerError
from batchgen.ledger.events import LedgerWriter, encode_event, iter_events, ledger_path, read_events


@pytest.fixture
def path(tmp_path):
    return ledger_path(tmp_path / "out")


def write_lines(path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")


def test_append_writes_one_json_object_per_line_with_event_first(path):
    with LedgerWriter(path) as ledger:
        ledger.append({"event": "submitted", "key": "k1", "jobId": "job_1", "cost": 12})
        ledger.append({"key": "k1", "event": "failed", "error": "boom"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["submitted", "failed"]
    assert all(line.startswith('{"event":') for line in lines)


def test_append_adds_a_utc_iso_time_when_missing(path):
    with LedgerWriter(path) as ledger:
        written = ledger.append({"event": "run", "pid": 1})
    moment = datetime.fromisoformat(written["t"].replace("Z", "+00:00"))
    assert moment.utcoffset().total_seconds() == 0
    assert read_events(path)[0]["t"] == written["t"]


def test_append_keeps_a_given_time(path):
    with LedgerWriter(path) as ledger:
        ledger.append({"event": "run", "t": "2026-01-01T00:00:00.000Z"})
    assert read_events(path)[0]["t"] == "2026-01-01T00:00:00.000Z"


def test_append_returns_the_event_as_written(path):
    with LedgerWriter(path) as ledger:
        written = ledger.append({"event": "intent", "key": "k", "body": {"prompt": "é"}})
    assert read_events(path) == [written]


def test_append_refuses_an_event_without_a_name(path):
    with LedgerWriter(path) as ledger, pytest.raises(ValueError, match="event"):
        ledger.append({"key": "k"})


def test_events_are_on_disk_before_append_returns(path):
    with LedgerWriter(path) as ledger:
        ledger.append({"event": "intent", "key": "k"})
        # Another reader (a resumed run after kill -9) sees it without close().
        assert [e["key"] for e in read_events(path)] == ["k"]


def test_append_is_safe_from_many_threads(path):
    with LedgerWriter(path) as ledger:
        def write(n: int) -> None:
            for i in range(50):
                ledger.append({"event": "file", "key": f"{n}-{i}", "path": "x" * 500}, sync=False)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len({e["key"] for e in read_events(path)}) == 400


def test_reopening_appends_after_existing_events(path):
    for key in ("a", "b"):
        with LedgerWriter(path) as ledger:
            ledger.append({"event": "intent", "key": key})
    assert [e["key"] for e in read_events(path)] == ["a", "b"]


def test_a_missing_ledger_has_no_events(path):
    assert read_events(path) == []


def test_an_empty_or_blank_ledger_has_no_events(path):
    write_lines(path, "\n\n")
    assert read_events(path) == []


def test_blank_lines_between_events_are_ignored(path):
    write_lines(path, '{"event":"run"}\n', "\n", '{"event":"end"}\n')
    assert [e["event"] for e in read_events(path)] == ["run", "end"]


def test_a_torn_last_line_is_skipped_with_a_warning(path, caplog):
    write_lines(path, '{"event":"run"}\n', '{"event":"intent","key":"k"}\n', '{"event":"subm')
    with caplog.at_level(logging.WARNING, logger="batchgen.ledger.events"):
        events = read_events(path)
    assert [e["event"] for e in events] == ["run", "intent"]
    assert "torn last line" in caplog.text and ":3:" in caplog.text


def test_a_torn_last_line_followed_by_blank_lines_is_still_the_last(path):
    write_lines(path, '{"event":"run"}\n', '{"event":"inte\n', "\n")
    assert [e["event"] for e in read_events(path)] == ["run"]


def test_a_complete_last_line_without_newline_is_kept(path):
    write_lines(path, '{"event":"run"}\n', '{"event":"end"}')
    assert [e["event"] for e in read_events(path)] == ["run", "end"]


def test_a_corrupt_line_before_the_last_names_its_line_number(path):
    write_lines(path, '{"event":"run"}\n', "\n", "not json\n", '{"event":"end"}\n')
    with pytest.raises(LedgerError, match=r"ledger\.jsonl:3: .*not a JSON object"):
        read_events(path)


def test_a_line_that_is_json_but_not_an_object_is_corrupt(path):
    write_lines(path, "[1, 2]\n", '{"event":"end"}\n')
    with pytest.raises(LedgerError, match=":1: "):
        read_events(path)


def test_a_line_without_an_event_name_is_corrupt_even_when_last(path):
    write_lines(path, '{"event":"run"}\n', '{"key":"k"}\n')
    with pytest.raises(LedgerError, match=r":2: .*no 'event'"):
        read_events(path)


def test_streaming_reader_stops_at_a_corrupt_line_before_yielding_past_it(path):
    write_lines(path, '{"event":"run"}\n', "{oops\n", '{"event":"end"}\n')
    seen = []
    with pytest.raises(LedgerError, match=":2:"):
        for event in iter_events(path):
            seen.append(event["event"])
    assert seen == ["run"]


def test_reopening_drops_a_torn_last_line_so_new_events_stay_readable(path):
    write_lines(path, '{"event":"run"}\n', '{"event":"intent","key":"k","bo')
    with LedgerWriter(path) as ledger:
        ledger.append({"event": "end"})
    assert [e["event"] for e in read_events(path)] == ["run", "end"]


def test_reopening_drops_a_torn_line_even_when_blank_lines_follow_it(path):
    write_lines(path, '{"event":"run"}\n', '{"event":"inte\n', "\n\n")
    with LedgerWriter(path) as ledger:
        ledger.append({"event": "end"})
    assert [e["event"] for e in read_events(path)] == ["run", "end"]


def test_reopening_completes_a_last_line_that_only_lacks_its_newline(path):
    write_lines(path, '{"event":"run"}\n', '{"event":"intent","key":"k"}')
    with LedgerWriter(path) as ledger:
        ledger.append({"event": "end"})
    assert [e["event"] for e in read_events(path)] == ["run", "intent", "end"]


def test_reopening_drops_garbage_left_by_a_power_cut(path):
    write_lines(path, '{"event":"run"}\n', "\0" * 300 + "\n")
    with LedgerWriter(path) as ledger:
        ledger.append({"event": "end"})
    assert [e["event"] for e in read_events(path)] == ["run", "end"]


def test_reopening_finds_the_last_line_of_a_large_ledger(path):
    big = encode_event({"event": "intent", "key": "k", "body": {"prompt": "x" * 100_000}})
    path.parent.mkdir(parents=True)
    path.write_bytes(big + big[:-10])
    with LedgerWriter(path) as ledger:
        ledger.append({"event": "end"})
    assert [e["event"] for e in read_events(path)] == ["intent", "end"]


def test_ledger_lines_are_plain_utf8_json(path):
    with LedgerWriter(path) as ledger:
        ledger.append({"event": "intent", "key": "k", "body": {"prompt": "Ein Ritter im Nebel, ünd 霧"}})
    raw = path.read_bytes().decode("utf-8")
    assert "霧" in raw and json.loads(raw)["body"]["prompt"].endswith("霧")


def test_new_ledger_file_is_created_with_its_folder(tmp_path):
    path = ledger_path(tmp_path / "a" / "b")
    with LedgerWriter(path) as ledger:
        ledger.append({"event": "run"})
    assert path.is_file() and os.path.getsize(path) > 0


def test_an_intent_is_fsynced_before_its_append_returns_and_other_events_within_a_second(path, monkeypatch):
    """The run's ledger (RunLedger) fsyncs an intent at once, before its paid call; the
    events that follow share the next fsync, at most SYNC_WITHIN later, or the close."""
    from batchgen.ledger import events
    from batchgen.ledger.state import LedgerState
    from batchgen.run.journal import RunLedger

    clock = [1000.0]
    monkeypatch.setattr(events.time, "monotonic", lambda: clock[0])
    writer = LedgerWriter(path)
    writer.open()  # creating the file fsyncs its folder: not what this test counts
    synced_sizes = []
    real_fsync = os.fsync
    monkeypatch.setattr(events.os, "fsync", lambda fd: (synced_sizes.append(os.fstat(fd).st_size),
                                                        real_fsync(fd)))
    try:
        run = RunLedger(writer, LedgerState())
        run.record({"event": "intent", "key": "k1", "id": "a", "body": {}})
        assert synced_sizes == [path.stat().st_size]  # on disk before generate is sent
        run.record({"event": "submitted", "key": "k1", "jobId": "job_1"})
        run.record({"event": "succeeded", "key": "k1", "jobId": "job_1", "assetIds": []})
        assert len(synced_sizes) == 1  # waiting for the next fsync
        clock[0] += events.SYNC_WITHIN
        run.record({"event": "file", "key": "k1", "assetId": "a1", "path": "x.mp4", "size": 1})
        assert synced_sizes[-1] == path.stat().st_size and len(synced_sizes) == 2
        run.record({"event": "submitted", "key": "k2", "jobId": "job_2"})
    finally:
        writer.close()
    assert synced_sizes[-1] == path.stat().st_size and len(synced_sizes) == 3  # the close
    assert [e["event"] for e in read_events(path)] == ["intent", "submitted", "succeeded", "file", "submitted"]


def test_a_full_disk_at_the_last_fsync_is_a_disk_error_naming_the_ledger(path, monkeypatch):
    import errno

    from batchgen.errors import DiskError
    from batchgen.ledger import events

    writer = LedgerWriter(path)
    writer.open()
    writer.append({"event": "submitted", "key": "k1", "jobId": "job_1"}, sync=False)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(events.os, "fsync", full)
    with pytest.raises(DiskError, match="ledger.jsonl"):
        writer.close()
    assert writer._fd is None  # closed all the same
