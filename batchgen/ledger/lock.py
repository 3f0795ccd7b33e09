"""One `run` per output folder: `<output>/.batchgen.lock`.

The lock is the kernel's `flock` on that file, not the file's existence: the kernel
drops it when its holder exits in any way, kill -9 included, so a lock left by a dead
process is simply free, and two processes that find the same stale file cannot both
take it (flock is exclusive). The file holds the holder's pid, host and start time,
for the message a second run prints, and is removed when the holder lets go.

Creating the file uses O_EXCL and, after locking, we check that the path still names
the file we locked: a holder that was just letting go may have unlinked it, and then
a newer run may lock a new file under the same name.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path

from batchgen.durable import disk_error, writing
from batchgen.errors import LockedError
from batchgen.timestamps import iso

LOCK_NAME = ".batchgen.lock"

log = logging.getLogger(__name__)


class OutputLock:
    """Exclusive right to run in an output folder; a context manager.

    Raises `LockedError` naming the holder's pid when another live process holds it.
    """

    def __init__(self, output_dir: str | os.PathLike[str]):
        self.output_dir = Path(output_dir)
        self.path = self.output_dir / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise `LockedError`; a lock left by a dead process is taken over."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this OutputLock")
        with writing(self.path):
            self.output_dir.mkdir(parents=True, exist_ok=True)
        while True:
            with writing(self.path):
                fd = _open(self.path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise LockedError(self._held_message()) from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # we locked a file its holder unlinked while letting go: try again
        previous = _read_holder(fd)
        if previous.get("pid") not in (None, os.getpid()):
            log.warning("%s: taking over the lock left by pid %s, which is no longer running",
                        self.path, previous["pid"])
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                      "since": iso()}).encode() + b"\n", 0)
        except OSError as exc:
            os.close(fd)  # lets go of the flock: the empty file left is taken over next time
            raise disk_error(exc, self.path) from exc
        self._fd = fd

    def release(self) -> None:
        """Let go: remove the file, then drop the flock (in that order, see the module doc)."""
        if self._fd is None:
            return
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None

    def _held_message(self) -> str:
        holder = holder_info(self.output_dir)
        who = f"pid {holder['pid']}" if holder.get("pid") else "a process whose pid is unknown"
        host = holder.get("host")
        if host and host != socket.gethostname():
            who += f" on {host}"
        since = f" since {holder['since']}" if holder.get("since") else ""
        return (f"another batchgen run ({who}) is working in {self.output_dir}{since}; wait "
                "for it to finish or stop it, or use another output folder (--out)")


def holder_info(output_dir: str | os.PathLike[str]) -> dict:
    """What the lock file of an output folder says about its holder ({} if nothing)."""
    path = Path(output_dir) / LOCK_NAME
    # A new holder writes its pid just after locking (over a stale file's dead pid):
    # give it a moment rather than name nobody, or the dead process.
    holder: dict = {}
    for _ in range(20):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        try:
            holder = _read_holder(fd)
        finally:
            os.close(fd)
        if process_alive(holder.get("pid")):
            return holder
        time.sleep(0.01)
    return holder


def process_alive(pid: object) -> bool:
    """Whether a process with this pid exists (on this machine)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _open(path: Path) -> int:
    """Open the lock file, creating it exclusively if absent (O_EXCL: one creator wins)."""
    while True:
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        try:
            return os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue  # unlinked between the two calls by a holder letting go


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _read_holder(fd: int) -> dict:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}
