"""Files belong to keys: what a filename template may name in the output folder.

Every path a run writes is either one job's file or one of batchgen's own: the ledger,
its checkpoint, the lock, `batch.json`, the report and its `results.csv`/`results.json`,
the temporary `.part` files, the shards' folders. A template that could reach one of
those, the manifest itself or any file the manifest reads (CSV files, frames) is
refused when the manifest is validated, before anything is sent, because the first
download would overwrite it.

Names are also kept short enough to be written: a file name of more than
`MAX_NAME_BYTES` (UTF-8) is refused, since the API would be paid for a video that can
never be stored (most filesystems stop at 255 bytes, and batchgen adds up to 41 for its
temporary and kept names of the same file).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Sequence

from batchgen.errors import Problem
from batchgen.jobs import Job

# batchgen's own files in an output folder (their modules define them; a test keeps
# these in step): ledger.events.LEDGER_NAME, ledger.status.SNAPSHOT_NAME,
# report.targets.REPORT_NAME, report.write.RESULTS_CSV and RESULTS_JSON.
BATCHGEN_FILES = frozenset({"ledger.jsonl", "batch.json", "report.html", "results.csv",
                            "results.json"})
SHARD_FOLDER = re.compile(r"shard-\d+-of-\d+\Z", re.IGNORECASE)
MAX_NAME_BYTES = 200  # a file's name; +41 for ".<name>.<8 hex>.part" and ".<16 hex key>"
MAX_FOLDER_BYTES = 255
MAX_PATH_BYTES = 1024  # the relative path, well inside PATH_MAX once the folder is added


def name_problem(filename: str) -> str | None:
    """Why a job's relative file name (POSIX) cannot be batchgen's to write, or None."""
    parts = filename.split("/")
    for depth, part in enumerate(parts):
        if part.startswith("."):
            return (f"{filename}: names starting with '.' are batchgen's own (its lock, "
                    "checkpoint and temporary files); start the name with a letter or digit")
        if depth == 0 and (part.casefold() in BATCHGEN_FILES or SHARD_FOLDER.match(part)):
            what = "folder of a shard" if SHARD_FOLDER.match(part) else "file"
            return (f"{filename}: {part} is batchgen's own {what} in the output folder; "
                    "choose another name")
        limit = MAX_NAME_BYTES if depth == len(parts) - 1 else MAX_FOLDER_BYTES
        size = len(part.encode("utf-8"))
        if size > limit:
            return (f"{filename[:60]}...: the name {part[:40]}... is {size} bytes long, more "
                    f"than the {limit} bytes a name may have; shorten the filename template "
                    "or the values it uses")
    if len(filename.encode("utf-8")) > MAX_PATH_BYTES:
        return (f"{filename[:60]}...: the path is longer than {MAX_PATH_BYTES} bytes; "
                "shorten the filename template or the values it uses")
    return None


def owned_problems(jobs: Sequence[Job], output: Path, inputs: Iterable[Path], file: str,
                   line: int | None, *, limit: int = 20) -> list[Problem]:
    """Every job whose file would be one of batchgen's, a file the manifest reads, or a
    name too long to write (the first `limit` of them)."""
    problems: list[Problem] = []
    protected = _inputs_below(output, inputs)
    for job in jobs:
        reason = name_problem(job.filename)
        if reason is None and protected:
            name = protected.get(job.filename.casefold())
            if name is not None:
                reason = (f"{job.filename} in {output} is {name}, a file this manifest reads: "
                          "its download would overwrite it; use another output folder or "
                          "filename template")
        if reason is not None:
            problems.append(Problem(file, line, reason, job=job.label()))
            if len(problems) >= limit:
                break
    return problems


def _inputs_below(output: Path, inputs: Iterable[Path]) -> dict[str, str]:
    """The manifest's files inside the output folder: relative POSIX path (case folded,
    as a case-insensitive filesystem compares) -> the file's name."""
    root = _real(output)
    found = {}
    for path in inputs:
        real = _real(path)
        if real.startswith(root + os.sep):
            found[Path(os.path.relpath(real, root)).as_posix().casefold()] = Path(path).name
    return found


def _real(path: Path) -> str:
    # The folder may not exist yet: realpath resolves what exists and keeps the rest.
    return os.path.normcase(os.path.realpath(path))
