"""`report --zip`: the report and its videos in one archive that opens offline.

The archive holds the page, results.csv, results.json and every video at the path the
page names it by, relative to the page, so extracting it anywhere and opening the page
from disk plays everything. A video outside the report's folder (an --out elsewhere,
shards merged from far apart) cannot keep a path that climbs out of the archive: it
goes under `media/<n>/` and the archived page and results name it there. Videos are
stored as they are (MP4 is compressed already); the texts are deflated.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Mapping

from batchgen.errors import UsageError
from batchgen.report.choices import Choices
from batchgen.report.model import ReportFile, ReportRow, rows_from_records
from batchgen.report.write import PAGE, RESULTS_CSV, RESULTS_JSON, report_documents


@dataclasses.dataclass(frozen=True)
class Archive:
    """What `write_archive` wrote: the archive, how many videos it holds and their
    bytes, and the files the records name that were not on disk (left out)."""

    path: Path
    videos: int
    video_bytes: int
    missing: list[Path]


def write_archive(records: Iterable[Mapping[str, Any]], axes: Mapping[str, Iterable[Any]] | None,
                  name: str, zip_file: str | os.PathLike[str], *, base_dir: str | os.PathLike[str],
                  report_dir: str | os.PathLike[str], page_name: str = "report.html",
                  choices: Choices | None = None) -> Archive:
    """Write the report of `records` (as for `write_report`) and its videos into one zip.

    Video paths are taken relative to `report_dir` (where the page itself is, or would
    be), the page is `page_name` at the archive's top.
    """
    target = Path(os.path.abspath(zip_file))
    if target.is_dir():
        raise UsageError(f"{zip_file}: is a folder; give the archive's file name, e.g. "
                         f"{Path(zip_file) / 'report.zip'}")
    rows = rows_from_records(records, base_dir=Path(base_dir), report_dir=Path(report_dir))
    rows, members = _inside(rows)
    documents = report_documents(rows, axes, name, choices)
    texts = {page_name: documents[PAGE], RESULTS_CSV: documents[RESULTS_CSV],
             RESULTS_JSON: documents[RESULTS_JSON]}
    target.parent.mkdir(parents=True, exist_ok=True)
    present = [(arcname, source) for arcname, source in members if source.is_file()]
    _write_zip(target, texts, present)
    return Archive(path=target, videos=len(present), video_bytes=sum(s.stat().st_size for _, s in present),
                   missing=[source for _, source in members if not source.is_file()])


def _inside(rows: list[ReportRow]) -> tuple[list[ReportRow], list[tuple[str, Path]]]:
    """`rows` with every file at a path inside the archive, and (archive name, file on
    disk) for each distinct file."""
    members: dict[Path, str] = {}
    taken: set[str] = set()
    moved = []
    for row in rows:
        files = []
        for f in row.files:
            if f.path not in members:
                members[f.path] = _archive_name(f, len(members), taken)
                taken.add(members[f.path])
            files.append(dataclasses.replace(f, relative=members[f.path]))
        moved.append(dataclasses.replace(row, files=tuple(files)))
    return moved, [(arcname, path) for path, arcname in members.items()]


def _archive_name(f: ReportFile, n: int, taken: set[str]) -> str:
    relative = PurePosixPath(f.relative)
    if not relative.is_absolute() and ".." not in relative.parts and str(relative) not in taken:
        return str(relative)
    return f"media/{n + 1}/{f.path.name}"


def _write_zip(target: Path, texts: Mapping[str, str], videos: list[tuple[str, Path]]) -> None:
    # Written beside the target and renamed over it: a half-written archive is never seen.
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(temp, "w") as archive:
            for arcname, text in texts.items():
                archive.writestr(arcname, text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
            for arcname, source in videos:
                archive.write(source, arcname, compress_type=zipfile.ZIP_STORED)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        os.unlink(temp)
        raise
