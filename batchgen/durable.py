"""Making writes survive a crash: the parts shared by the ledger, the downloads and reuse."""

from __future__ import annotations

import errno
import gc
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from batchgen.errors import DiskError

# What to do about the usual reasons a write fails, said in the one sentence a run ends with.
_ADVICE = {
    errno.ENOSPC: "free some space",
    errno.EDQUOT: "free some space (the disk quota is used up)",
    errno.EROFS: "run into a writable folder (--out)",
    errno.EACCES: "make the folder writable, or run into another (--out)",
    errno.EPERM: "make the folder writable, or run into another (--out)",
}


def disk_error(exc: OSError, path: str | os.PathLike[str] | None = None) -> DiskError:
    """The one sentence a write failing with `exc` ends a command with (exit 4)."""
    where = path if path is not None else exc.filename
    reason = exc.strerror or str(exc) or type(exc).__name__
    code = errno.errorcode.get(exc.errno or 0)
    return DiskError(f"could not write {where if where is not None else 'a file'}: {reason}"
                     f"{f' ({code})' if code else ''}; {_ADVICE.get(exc.errno, 'fix that')}, "
                     "then run the same command again (what was paid for is kept; nothing is "
                     "paid twice)")


@contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn an OSError of the writes inside into the DiskError naming `path`."""
    try:
        yield
    except OSError as exc:
        raise disk_error(exc, path) from exc


def fsync_dir(folder: Path) -> None:
    """Make a newly created or renamed file's name durable too (where the platform allows).

    A rename or an O_CREAT is only on disk once the directory entry is.
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def link_or_copy(source: Path, target: Path) -> None:
    """`target` becomes a durable copy of `source` (a hard link where the filesystem has them)."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects.

    Decoding a 600,000-line ledger or expanding 100,000 jobs otherwise triggers hundreds
    of collections that find nothing to free and cost a third to two thirds of the time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
