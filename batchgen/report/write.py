"""Write the report and its results files, each atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from batchgen.report.choices import Choices, win_rates
from batchgen.report.html import render_html, report_data
from batchgen.report.model import ReportRow, rows_from_records, sweep_axes
from batchgen.report.results import results_csv, results_json

RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"


def write_report(records: Iterable[Mapping[str, Any]], axes: Mapping[str, Iterable[Any]] | None,
                 name: str, out_file: str | os.PathLike[str], *,
                 base_dir: str | os.PathLike[str], choices: Choices | None = None) -> Path:
    """Write the HTML comparison report to `out_file`, with results.csv and
    results.json beside it; returns the report's path.

    `records` are job records in the `status --json` shape, optionally with
    `variables`, `cost`, `submittedAt`, `finishedAt` and `output` (the folder its
    relative file paths are in; `base_dir` otherwise). `axes` maps each swept
    parameter or prompt variable to its values. `choices` (reviewers' merged
    choices.json files) add each job's verdict and the axes' win rates.
    """
    out = Path(os.path.abspath(out_file))
    rows = rows_from_records(records, base_dir=Path(base_dir), report_dir=out.parent)
    documents = report_documents(rows, axes, name, choices)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(out.parent / RESULTS_CSV, documents[RESULTS_CSV])
    _write_atomic(out.parent / RESULTS_JSON, documents[RESULTS_JSON])
    _write_atomic(out, documents[PAGE])
    return out


PAGE = "page"  # the key of the HTML page in report_documents' answer


def report_documents(rows: list[ReportRow], axes: Mapping[str, Iterable[Any]] | None, name: str,
                     choices: Choices | None) -> dict[str, str]:
    """The text of the page (key PAGE), results.csv and results.json for `rows`."""
    swept = sweep_axes(rows, axes)
    verdicts = {key: v.as_json() for key, v in (choices.verdicts if choices else {}).items()}
    rates = judged_rates(rows, swept, choices)
    return {
        RESULTS_CSV: results_csv(rows, verdicts),
        RESULTS_JSON: results_json(rows, swept, name, verdicts, rates),
        PAGE: render_html(report_data(rows, swept, name, choices.entries if choices else [])),
    }


def judged_rates(rows: list[Any], axes: Mapping[str, list[Any]],
                 choices: Choices | None) -> dict[str, dict[str, dict[str, int]]]:
    """The win rates of every axis value under `choices` (none: every row undecided)."""
    winners = {key: v.winners for key, v in (choices.verdicts if choices else {}).items()}
    return win_rates([r.identity() for r in rows], axes, winners)


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
