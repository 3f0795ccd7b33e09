"""Logging for the command line: quiet by default, `-v`/`-vv` or BATCHGEN_LOG for more.

`-v` shows batchgen's own INFO events (renewed URLs, retried downloads); `-vv` shows
DEBUG from everything, httpx and httpcore included: httpcore logs response headers
whole, so every line passes `redact.LogFilter` (credentials an API echoes are hidden).
Third-party libraries stay at WARNING below `-vv`: httpx logs every request at INFO,
which would bury batchgen's own lines. Everything goes to stderr, so `--json` output
on stdout stays clean.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Iterator

from batchgen.redact import LogFilter
from batchgen.errors import UsageError

ENV = "BATCHGEN_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def level_for(verbose: int, environ: dict[str, str] | os._Environ = os.environ) -> int | None:
    """The level `-v` counts ask for, else BATCHGEN_LOG's, else None (Python's default)."""
    if verbose:
        return logging.INFO if verbose == 1 else logging.DEBUG
    name = environ.get(ENV, "").strip().lower()
    if not name:
        return None
    if name not in LEVELS:
        raise UsageError(f"{ENV}={environ[ENV]} is not one of {', '.join(LEVELS)}")
    return LEVELS[name]


@contextlib.contextmanager
def logging_to_stderr(level: int | None) -> Iterator[None]:
    """Send log records at `level` and above to stderr for the duration of a command.

    Restores the loggers afterwards, so a program (or a test) that calls `main()`
    several times does not pile up handlers or inherit a previous command's level.
    """
    if level is None:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
    handler.addFilter(LogFilter())  # -vv shows response headers, which an API may echo into
    root, own = logging.getLogger(), logging.getLogger("batchgen")
    saved = root.level, own.level
    root.addHandler(handler)
    root.setLevel(level if level <= logging.DEBUG else logging.WARNING)
    own.setLevel(level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        own.setLevel(saved[1])
