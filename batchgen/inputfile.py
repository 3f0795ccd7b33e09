"""Reading a file a manifest names (the manifest itself, a CSV file, a frame image), bounded.

Only regular files are read, and only up to a documented size. A FIFO would block
`validate` forever and `/dev/zero` would read until memory runs out, so the kind and
size come from `stat` (which opens nothing) before the file is opened; the file is then
opened non-blocking and checked again by `fstat`, so one swapped in between is still
refused, and at most one byte past the limit is read, so one that grows is too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from batchgen.errors import Problem

MIB = 1024 * 1024
# A 100,000-row CSV of long prompts is well under this; a bigger manifest is a mistake
# (a log or a video given by accident) or is better split into several files.
MAX_TEXT_BYTES = 64 * MIB
# A start or end frame is uploaded whole; photos straight from a camera stay under it.
MAX_IMAGE_BYTES = 64 * MIB

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def kind(path: Path) -> str:
    """What a path that exists is, as a message says it ("a FIFO (named pipe)")."""
    return "a regular file" if path.is_file() else _kind(os.stat(path).st_mode)


def read_bytes(path: Path, file: str, line: int | None, shown: str, *, what: str,
               limit: int) -> tuple[bytes | None, list[Problem]]:
    """The file's bytes, or the Problem (located at `file`:`line`) that says why not."""
    try:
        before = os.stat(path)
        if not stat.S_ISREG(before.st_mode):
            return None, [_not_regular(file, line, shown, what, before.st_mode)]
        if before.st_size > limit:
            return None, [_too_big(file, line, shown, what, before.st_size, limit)]
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        try:
            now = os.fstat(fd)
            if not stat.S_ISREG(now.st_mode):
                return None, [_not_regular(file, line, shown, what, now.st_mode)]
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(limit + 1)
        finally:
            os.close(fd)
    except FileNotFoundError:
        return None, [Problem(file, line, f"the {what} {shown} does not exist")]
    except OSError as exc:
        return None, [Problem(file, line, f"the {what} {shown} cannot be read "
                              f"({exc.strerror or exc})")]
    if len(data) > limit:
        return None, [_too_big(file, line, shown, what, len(data), limit)]
    return data, []


def _not_regular(file: str, line: int | None, shown: str, what: str, mode: int) -> Problem:
    return Problem(file, line, f"the {what} {shown} is {_kind(mode)}, not a regular file; "
                   "batchgen reads only regular files")


def _too_big(file: str, line: int | None, shown: str, what: str, size: int, limit: int) -> Problem:
    return Problem(file, line, f"the {what} {shown} is {size:,} bytes, more than the "
                   f"{limit // MIB} MiB batchgen reads; split it into smaller files"
                   if not what.endswith("image") else
                   f"the {what} {shown} is {size:,} bytes, more than the {limit // MIB} MiB "
                   "batchgen uploads; save it smaller")
