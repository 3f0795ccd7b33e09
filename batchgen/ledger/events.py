"""The ledger: an append-only JSON-lines file that makes runs resumable.

One JSON object per line, always with `event` and `t` (UTC ISO-8601), readable with
`jq`. Each line is written with a single `write` (a killed process can only ever tear
the last line), and fsynced before the action it guards when its writer says so (an
intent before its paid call); other lines reach the disk with the next fsync, at most
`SYNC_WITHIN` seconds later, so a run of hundreds of jobs in flight does not spend
its time waiting on the disk. Reading tolerates
that torn last line (with a warning); any other unreadable line is a `LedgerError`
naming its line number, because silently skipping it could resubmit a job.

Decoding uses msgspec: the standard library's json needs about 1.5 s for a
100,000-job ledger on a modest machine, msgspec a quarter of that.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

import msgspec

from batchgen.durable import disk_error, fsync_dir, paused_gc, writing
from batchgen.timestamps import iso
from batchgen.errors import LedgerError

LEDGER_NAME = "ledger.jsonl"

log = logging.getLogger(__name__)

_decode = msgspec.json.Decoder(dict).decode
_encode = msgspec.json.Encoder().encode
_TAIL_BLOCK = 1 << 16
SYNC_WITHIN = 1.0  # seconds a line written without sync may wait for the next fsync


def ledger_path(output_dir: str | os.PathLike[str]) -> Path:
    """Where the ledger of an output folder lives."""
    return Path(output_dir) / LEDGER_NAME


def encode_event(event: Mapping[str, Any]) -> bytes:
    """One ledger line (with its newline); `event` and `t` come first for people reading it."""
    if "event" not in event:
        raise ValueError("a ledger event needs an 'event' field")
    ordered = {"event": event["event"], "t": event.get("t") or iso()}
    ordered.update((k, v) for k, v in event.items() if k not in ordered)
    return _encode(ordered) + b"\n"


class LedgerWriter:
    """Appends events to a ledger file; safe to share between threads and tasks.

    Opening repairs a torn last line left by a crash (drops it, or adds the missing
    newline if the line is complete) so new events never glue onto garbage.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.size = 0  # bytes in the file, kept up to date by append
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._opened_size = 0
        self._opened_lines: int | None = None  # counted when first asked for
        self._appended = 0
        self._torn: OSError | None = None  # a failed write that could not be cut back
        self._synced_at = time.monotonic()  # the last fsync
        self._unsynced = False  # lines written since, not yet fsynced

    def __enter__(self) -> LedgerWriter:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Open (creating folder and file if needed) and repair a torn last line."""
        with writing(self.path):
            self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        if created:
            fsync_dir(self.path.parent)
        else:
            _repair_tail(self._fd, self.path)
        self.size = self._opened_size = os.lseek(self._fd, 0, os.SEEK_END)
        self._opened_lines, self._appended = (0 if created else None), 0

    @property
    def lines(self) -> int:
        """Lines in the file (after the repair of a torn last line, each ends with a newline)."""
        with self._lock:
            if self._opened_lines is None:
                self._opened_lines = _count_lines(self.path, self._opened_size)
            return self._opened_lines + self._appended

    def close(self) -> None:
        """Close the file, every appended event on disk."""
        with self._lock:
            if self._fd is not None:
                try:
                    if self._unsynced:
                        os.fsync(self._fd)
                except OSError as exc:
                    # A full disk can show only now, at the fsync of lines already written.
                    raise disk_error(exc, self.path) from exc
                finally:
                    os.close(self._fd)
                    self._fd = None

    def append(self, event: Mapping[str, Any], *, sync: bool = True) -> dict[str, Any]:
        """Write one event (adding `t` if missing) and, if `sync`, fsync it.

        Returns the event as written, so callers can apply exactly that to their state.
        """
        line = encode_event(event)
        with self._lock:
            if self._fd is None:
                raise RuntimeError("the ledger is not open")
            if self._torn is not None:
                raise disk_error(self._torn, self.path)
            try:
                _write_all(self._fd, line)
                now = time.monotonic()
                if sync or now - self._synced_at >= SYNC_WITHIN:
                    os.fsync(self._fd)  # also makes every unsynced event before it durable
                    self._synced_at, self._unsynced = now, False
                else:
                    self._unsynced = True
            except OSError as exc:
                # Disk full or read-only: cut a partial line off, so that whatever comes
                # next (this run's end event, the next run) follows whole lines only.
                self._cut_back(exc)
                raise disk_error(exc, self.path) from exc
            self.size += len(line)
            self._appended += 1
        return _decode(line)

    def _cut_back(self, exc: OSError) -> None:
        try:
            os.ftruncate(self._fd, self.size)
        except OSError:
            self._torn = exc  # a partial line may remain: append nothing after it


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every event of a ledger, in order; a missing file has none.

    A torn last line is skipped with a warning; any other line that is not a JSON
    object with an `event` field raises `LedgerError` naming the file and line.
    """
    with paused_gc():
        return list(iter_events(path))


def iter_events(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The events of a ledger one at a time (as `read_events`, without holding them all)."""
    return iter(EventReader(path))


class EventReader:
    """Iterates a ledger's events, optionally from a byte offset (a checkpoint's).

    A bad line is only known to be the torn last one once nothing but blank lines
    follows it, so it is held back until the next line decides. After iterating,
    `offset` is the byte offset reached and `lines` the number of lines read so far;
    `clean` says whether the data ended with a complete, newline-terminated line (so
    `offset` is a place to resume from).
    """

    def __init__(self, path: str | os.PathLike[str], *, offset: int = 0, lines: int = 0):
        self.path = Path(path)
        self.offset = offset
        self.lines = lines
        self.clean = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        path = self.path
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            return
        decode = _decode
        bad: tuple[int, str] | None = None
        number = self.lines
        line = b"\n"
        with handle:
            handle.seek(self.offset)
            for number, line in enumerate(handle, self.lines + 1):
                try:
                    event = decode(line)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    if not line.strip():
                        continue
                    if bad is not None:
                        raise _corrupt(path, *bad) from None
                    bad = (number, str(exc))
                    continue
                if bad is not None:
                    raise _corrupt(path, *bad)
                if "event" not in event:
                    raise LedgerError(f"{path}:{number}: this ledger line has no 'event' "
                                      "field; repair or remove that line, then try again")
                yield event
            self.offset = handle.tell()
        self.lines = number
        self.clean = bad is None and line.endswith(b"\n")
        if bad is not None:
            log.warning("%s:%d: skipping the torn last line (a crash cut it short)", path, bad[0])


def _corrupt(path: Path, number: int, reason: str) -> LedgerError:
    return LedgerError(
        f"{path}:{number}: this ledger line is not a JSON object ({reason}); only the last "
        "line may be torn by a crash, so this one was damaged otherwise: repair or remove "
        "it, then try again")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _count_lines(path: Path, size: int) -> int:
    count = 0
    with open(path, "rb") as handle:
        while size > 0:
            block = handle.read(min(size, 1 << 20))
            if not block:
                break
            count += block.count(b"\n")
            size -= len(block)
    return count


def _repair_tail(fd: int, path: Path) -> None:
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return
    start, tail = _last_line(fd, size)
    if not tail.strip():
        return
    try:
        _decode(tail)
    except (msgspec.DecodeError, msgspec.ValidationError):
        log.warning("%s: dropping its torn last line (a crash cut it short)", path)
        os.ftruncate(fd, start)
        os.fsync(fd)
        return
    if not tail.endswith(b"\n"):
        _write_all(fd, b"\n")
        os.fsync(fd)


def _last_line(fd: int, size: int) -> tuple[int, bytes]:
    """Offset of the file's last non-blank line, and the bytes from there to the end."""
    buf = b""
    pos = size
    while pos > 0:
        start = max(0, pos - _TAIL_BLOCK)
        buf = os.pread(fd, pos - start, start) + buf
        pos = start
        end = len(buf.rstrip())
        if end:
            newline = buf.rfind(b"\n", 0, end)
            if newline >= 0:
                return pos + newline + 1, buf[newline + 1:]
    return 0, buf
