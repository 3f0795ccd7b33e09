"""The report of manifests, output folders or ledger files: what `batchgen report`
and the end of `run` write."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from batchgen.report.write import write_report

REPORT_NAME = "report.html"


def report_targets(targets: list[str], out_file: str | os.PathLike[str] | None = None
                   ) -> tuple[Path, list[dict[str, Any]]]:
    """Write the report of `targets` (merged, as `status` merges them); returns the
    report's path and the job records it shows.

    Without `out_file` the report goes to the output folder, or to the folder that
    holds all of them when several (e.g. shards) are merged.
    """
    from batchgen.ledger.status import collect_records  # the ledger stack is only needed here

    records, axes, name = collect_records(targets)
    out = Path(out_file) if out_file else default_report_path(targets, records)
    return write_report(records, axes, name, out, base_dir=Path.cwd()), records


def default_report_path(targets: list[str], records: list[dict[str, Any]]) -> Path:
    """`report.html` in the folder common to every output folder the records come from."""
    folders = sorted({os.path.abspath(r["output"]) for r in records if r.get("output")})
    if not folders:
        folders = [os.path.abspath(_output_of(t)) for t in targets]
    return Path(os.path.commonpath(folders)) / REPORT_NAME


def _output_of(target: str) -> Path:
    path = Path(target)
    if path.is_dir():
        return path
    if path.suffix == ".jsonl":
        return path.parent
    from batchgen.manifest.load import load_batch

    return Path(load_batch(path).output)
