"""Write the report and its results files, each atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from batchgen.report.html import render_html, report_data
from batchgen.report.model import rows_from_records, sweep_axes
from batchgen.report.results import results_csv, results_json

RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"


def write_report(records: Iterable[Mapping[str, Any]], axes: Mapping[str, Iterable[Any]] | None,
                 name: str, out_file: str | os.PathLike[str], *,
                 base_dir: str | os.PathLike[str]) -> Path:
    """Write the HTML comparison report to `out_file`, with results.csv and
    results.json beside it; returns the report's path.

    `records` are job records in the `status --json` shape, optionally with
    `variables`, `cost`, `submittedAt`, `finishedAt` and `output` (the folder its
    relative file paths are in; `base_dir` otherwise). `axes` maps each swept
    parameter or prompt variable to its values.
    """
    out = Path(os.path.abspath(out_file))
    rows = rows_from_records(records, base_dir=Path(base_dir), report_dir=out.parent)
    swept = sweep_axes(rows, axes)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(out.parent / RESULTS_CSV, results_csv(rows))
    _write_atomic(out.parent / RESULTS_JSON, results_json(rows, swept, name))
    _write_atomic(out, render_html(report_data(rows, swept, name)))
    return out


def _write_atomic(path: Path, text: str) -> None:
    # A reader (or a browser refreshing the report) never sees half a file.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temp, 0o644)  # mkstemp's 0600 would hide the report from a web server
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
