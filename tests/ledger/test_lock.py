"""One run per output folder: the lock, its message, and stale locks of dead processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from batchgen.errors import LockedError
from batchgen.ledger.lock import LOCK_NAME, OutputLock, holder_info

HOLD = textwrap.dedent("""
    import sys, time
    from batchgen.ledger.lock import OutputLock
    lock = OutputLock(sys.argv[1])
    lock.acquire()
    print("locked", flush=True)
    time.sleep(60)
""")


def start_holder(folder):
    """A separate process holding the lock of `folder` until killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.fixture
def holder(tmp_path):
    proc = start_holder(tmp_path)
    yield proc
    proc.kill()
    proc.wait()


def test_the_lock_file_names_its_holder_while_held(tmp_path):
    with OutputLock(tmp_path) as lock:
        assert lock.held
        assert holder_info(tmp_path)["pid"] == os.getpid()


def test_releasing_removes_the_lock_file(tmp_path):
    with OutputLock(tmp_path):
        pass
    assert not (tmp_path / LOCK_NAME).exists()


def test_the_lock_can_be_taken_again_after_release(tmp_path):
    with OutputLock(tmp_path):
        pass
    with OutputLock(tmp_path) as lock:
        assert lock.held


def test_a_missing_output_folder_is_created(tmp_path):
    with OutputLock(tmp_path / "new" / "out"):
        assert (tmp_path / "new" / "out" / LOCK_NAME).is_file()


def test_a_second_run_is_refused_naming_the_holders_pid(tmp_path, holder):
    with pytest.raises(LockedError, match=rf"pid {holder.pid}\b") as refused:
        OutputLock(tmp_path).acquire()
    assert str(tmp_path) in str(refused.value)


def test_a_second_lock_in_the_same_process_is_refused(tmp_path):
    with OutputLock(tmp_path):
        with pytest.raises(LockedError, match=f"pid {os.getpid()}"):
            OutputLock(tmp_path).acquire()


def test_refusing_leaves_the_holders_lock_intact(tmp_path, holder):
    with pytest.raises(LockedError):
        OutputLock(tmp_path).acquire()
    assert holder_info(tmp_path)["pid"] == holder.pid


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path, holder, caplog):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (tmp_path / LOCK_NAME).exists()  # kill -9 leaves the file behind
    with OutputLock(tmp_path) as lock:
        assert lock.held and holder_info(tmp_path)["pid"] == os.getpid()
    assert f"pid {holder.pid}" in caplog.text


def test_a_stale_lock_file_with_a_dead_pid_is_taken_over(tmp_path):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 999_999_999}))
    with OutputLock(tmp_path) as lock:
        assert lock.held


def test_an_empty_stale_lock_file_is_taken_over(tmp_path):
    (tmp_path / LOCK_NAME).write_text("")
    with OutputLock(tmp_path) as lock:
        assert lock.held


RACE = textwrap.dedent("""
    import sys, time
    from batchgen.errors import LockedError
    from batchgen.ledger.lock import OutputLock
    folder, start = sys.argv[1], float(sys.argv[2])
    time.sleep(max(0.0, start - time.time()))
    try:
        with OutputLock(folder):
            print("won", flush=True)
            time.sleep(2.5)
    except LockedError:
        print("refused", flush=True)
""")


def test_only_one_of_many_processes_takes_over_a_stale_lock(tmp_path):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 999_999_999}))
    start = time.time() + 1.0  # every contender is up and waiting before the race starts
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(tmp_path), str(start)],
                              stdout=subprocess.PIPE, text=True) for _ in range(6)]
    outcomes = sorted(proc.communicate(timeout=60)[0].strip() for proc in procs)
    assert outcomes == ["refused"] * 5 + ["won"]
