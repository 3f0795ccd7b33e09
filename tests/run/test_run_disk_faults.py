"""Faults of the disk (issue 12 point 5): a write refused at the lock, `batch.json` or any
ledger append ends the run with one sentence naming the file (DiskError, exit 4), the
ledger keeps whole lines only, and once the disk is fixed the same run finishes with
nothing paid twice. The faults are injected (no small tmpfs in CI): the Nth ledger write
writes half its line, then fails as a full disk does.
"""

from __future__ import annotations

import errno
import os
from collections import Counter

import pytest

from batchgen.cli import main
from batchgen.errors import DiskError
from batchgen.jobs import canonical_json
from batchgen.ledger import events as ledger_events
from batchgen.ledger.events import ledger_path
from batchgen.ledger.state import replay
from runkit import client_for, events, make_batch, make_job, run, simulator

pytestmark = pytest.mark.timeout(120)


class FullAfter:
    """`_write_all` that fails like a full disk at its `n`th call, after writing half."""

    def __init__(self, n: int, code: int = errno.ENOSPC):
        self.n, self.code, self.calls = n, code, 0
        self.real = ledger_events._write_all

    def __call__(self, fd: int, data: bytes) -> None:
        self.calls += 1
        if self.calls == self.n:
            os.write(fd, data[: len(data) // 2])
            raise OSError(self.code, os.strerror(self.code))
        self.real(fd, data)


def _whole_lines(path) -> list[bytes]:
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), "a partial line was left at the end of the ledger"
    return data.splitlines()


@pytest.mark.parametrize("n", range(1, 9))
def test_a_full_disk_at_any_ledger_write_ends_the_run_and_the_next_run_pays_nothing_twice(
        tmp_path, monkeypatch, n):
    sim = simulator()
    jobs = [make_job(f"a lighthouse {i}") for i in range(2)]
    batch = make_batch(tmp_path, jobs)
    fault = FullAfter(n)
    monkeypatch.setattr(ledger_events, "_write_all", fault)

    with pytest.raises(DiskError) as raised:
        run(batch, client_for(sim), concurrency=1)
    assert str(raised.value).startswith(f"could not write {ledger_path(batch.output)}: "
                                        "No space left on device (ENOSPC); free some space")
    assert fault.calls >= n
    _whole_lines(ledger_path(batch.output))  # no torn line for the next writes to glue onto
    replay(events(batch))  # and it still replays

    monkeypatch.setattr(ledger_events, "_write_all", fault.real)
    again = run(batch, client_for(sim))
    assert again.exit_code == 0 and again.counts["succeeded"] == 2
    per_body = Counter(canonical_json(job.body) for job in sim.jobs.values())
    assert len(sim.jobs) == 2 and set(per_body.values()) == {1}, "a key was paid twice"


def test_a_ledger_that_could_not_be_cut_back_takes_no_further_line(tmp_path, monkeypatch):
    from batchgen.ledger.events import LedgerWriter

    path = tmp_path / "ledger.jsonl"
    monkeypatch.setattr(ledger_events, "_write_all", FullAfter(1))
    monkeypatch.setattr(ledger_events.os, "ftruncate", _refused)
    with LedgerWriter(path) as writer:
        with pytest.raises(DiskError):
            writer.append({"event": "intent", "key": "k"})
        monkeypatch.setattr(ledger_events, "_write_all", FullAfter(0))
        with pytest.raises(DiskError):
            writer.append({"event": "end"})  # would glue onto the partial line
    assert b"end" not in path.read_bytes()


def _refused(*args):
    raise OSError(errno.EROFS, os.strerror(errno.EROFS))


def _manifest(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\nname: t\nprompts:\n  - a misty valley\n")
    return manifest


def test_the_command_says_one_sentence_and_exits_4(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ledger_events, "_write_all", FullAfter(3))
    code = main(["run", str(_manifest(tmp_path)), "--simulate", "--yes", "--no-progress"])
    said = capsys.readouterr()
    assert code == 4, said
    assert "Traceback" not in said.err
    lines = [line for line in said.err.splitlines() if line.startswith("batchgen:")]
    assert lines == [f"batchgen: could not write {tmp_path / 'out' / 't' / 'ledger.jsonl'}: "
                     "No space left on device (ENOSPC); free some space, then run the same "
                     "command again (what was paid for is kept; nothing is paid twice)"]


@pytest.mark.parametrize("where", ["lock", "snapshot"])
def test_a_folder_that_refuses_writes_before_the_run_starts(tmp_path, monkeypatch, capsys, where):
    import batchgen.ledger.lock as lock
    import batchgen.ledger.status as status

    if where == "lock":
        monkeypatch.setattr(lock.os, "pwrite", lambda *a: _permission())
        name = ".batchgen.lock"
    else:
        monkeypatch.setattr(status.msgspec.json, "encode", lambda *a: _permission())
        name = "batch.json"
    code = main(["run", str(_manifest(tmp_path)), "--simulate", "--yes", "--no-progress"])
    said = capsys.readouterr().err
    assert code == 4 and "Traceback" not in said
    assert (f"batchgen: could not write {tmp_path / 'out' / 't' / name}: Permission denied "
            "(EACCES); make the folder writable, or run into another (--out)") in said
    assert not (tmp_path / "out" / "t" / "ledger.jsonl").exists()  # nothing sent
    assert not list((tmp_path / "out" / "t").glob(".batch.json.*"))  # no temporary left


def _permission():
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))


@pytest.mark.parametrize("out", ["afile", "afile/inside"])
def test_out_naming_a_file_is_refused_before_anything_is_sent(tmp_path, capsys, out):
    (tmp_path / "afile").write_text("mine\n")
    code = main(["run", str(_manifest(tmp_path)), "--simulate", "--yes", "--no-progress",
                 "--out", str(tmp_path / out)])
    said = capsys.readouterr().err
    assert code == 2 and "Traceback" not in said
    assert f"batchgen: --out {tmp_path / out}: " in said
    assert ("exists and is not a folder" if out == "afile" else
            f"cannot be created: {tmp_path / 'afile'} is a file, not a folder") in said
    assert (tmp_path / "afile").read_text() == "mine\n"
