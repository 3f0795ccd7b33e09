"""results.csv and results.json: the report's table, for spreadsheets and scripts.

One row per job. File paths are relative to the folder the results are written in
(the report's folder), so the three files can be moved together with the videos.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Mapping

from batchgen.report.model import ReportRow

CSV_COLUMNS = ("key", "id", "sample", "prompt", "params", "variables", "state", "jobId",
               "files", "sha256", "bytes", "cost", "submittedAt", "finishedAt", "seconds",
               "error", "votes", "ratings", "meanScore", "winnerCount", "notes",
               "reusedFrom", "model")  # added at the end: older files still read as ours
CSV_SIGNATURE = CSV_COLUMNS[:17]  # what every results.csv batchgen wrote starts with
NO_VERDICT = {"ratings": [], "votes": 0, "meanScore": None, "scores": [], "winnerCount": 0, "notes": []}


def result_record(row: ReportRow, verdict: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON form of one job's result, with what reviewers said of it."""
    return {
        **row.identity(),
        "files": [{"path": f.relative, "sha256": f.sha256, "bytes": f.bytes} for f in row.files],
        "cost": row.cost,
        "submittedAt": row.submitted_at,
        "finishedAt": row.finished_at,
        "seconds": row.seconds,
        "error": row.error,
        "reusedFrom": row.reused_from,
        **(verdict or NO_VERDICT),
    }


def results_json(rows: list[ReportRow], axes: Mapping[str, list[Any]], name: str,
                 verdicts: Mapping[str, Mapping[str, Any]] | None = None,
                 win_rates: Mapping[str, Any] | None = None) -> str:
    """results.json: the batch name, its axes, one object per job and the win rates
    of every axis value (see choices.win_rates)."""
    verdicts = verdicts or {}
    document = {"name": name, "axes": dict(axes),
                "jobs": [result_record(r, verdicts.get(r.key)) for r in rows],
                "winRates": dict(win_rates or {})}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def results_csv(rows: list[ReportRow], verdicts: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """results.csv: one line per job; params and variables as JSON, several files
    joined with `;`. Values are written as they are, never rewritten for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        verdict = (verdicts or {}).get(row.key, NO_VERDICT)
        writer.writerow([
            row.key, row.id, row.sample, row.prompt,
            json.dumps(row.params, ensure_ascii=False, sort_keys=True),
            json.dumps(row.variables, ensure_ascii=False, sort_keys=True),
            row.state, row.job_id or "",
            ";".join(f.relative for f in row.files),
            ";".join(f.sha256 or "" for f in row.files),
            ";".join("" if f.bytes is None else str(f.bytes) for f in row.files),
            _number(row.cost), row.submitted_at or "", row.finished_at or "",
            _number(row.seconds), row.error or "",
            verdict["votes"], ";".join(str(r) for r in verdict["ratings"]),
            _number(verdict["meanScore"]), verdict["winnerCount"],
            json.dumps(verdict["notes"], ensure_ascii=False) if verdict["notes"] else "",
            row.reused_from or "",  # the folder the result was taken from (cost 0 here)
            row.model or "",  # the model id (a sweep may compare models), where known
        ])
    return buffer.getvalue()


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else str(value)
