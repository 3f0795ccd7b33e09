"""What the report shows: one `ReportRow` per job, and the axes of the sweep.

Input records have the `status --json` job shape ({key, id, sample, prompt, params,
state, jobId, files, error}) plus, where known, `variables`, `cost`, `submittedAt`,
`finishedAt` and `output` (the output folder its relative file paths live in). This
module only normalises them; the grid itself is laid out in the browser so the user
can switch the axis across without rebuilding the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import quote

from batchgen.timestamps import epoch

STATES = ("pending", "running", "succeeded", "failed")


@dataclass(frozen=True)
class ReportFile:
    """One output file of a job, located both on disk and from the report's folder."""

    path: Path  # absolute
    relative: str  # POSIX path from the report's folder (absolute if there is none)
    sha256: str | None
    bytes: int | None

    @property
    def src(self) -> str:
        """The URL the report's video element loads."""
        if Path(self.relative).is_absolute():
            return self.path.as_uri()
        return quote(self.relative, safe="/")


@dataclass(frozen=True)
class ReportRow:
    """One job as the report and results files show it."""

    key: str
    id: str
    sample: int
    prompt: str
    params: dict[str, Any]
    variables: dict[str, Any]
    state: str
    job_id: str | None
    files: tuple[ReportFile, ...]
    error: str | None
    cost: int | float | None
    submitted_at: str | None
    finished_at: str | None
    seconds: float | None = None  # generation time, when both times are known
    model: str | None = None  # the model id, where the record says
    reused_from: str | None = None  # its result was taken from this folder (cost 0 here)

    def identity(self) -> dict[str, Any]:
        """The fields every JSON form of a job starts with (the page's data, results.json)."""
        return {"key": self.key, "id": self.id, "sample": self.sample,
                **({"model": self.model} if self.model else {}), "prompt": self.prompt,
                "params": self.params, "variables": self.variables, "state": self.state,
                "jobId": self.job_id}

    def value(self, axis: str) -> Any:
        """This job's value on an axis: a model parameter, the model, else a prompt variable."""
        if axis in self.params:
            return self.params[axis]
        if axis == "model":
            return self.model
        return self.variables.get(axis)


def rows_from_records(records: Iterable[Mapping[str, Any]], *, base_dir: Path,
                      report_dir: Path) -> list[ReportRow]:
    """Normalise job records; relative file paths resolve against the record's
    `output` folder, else `base_dir`, and become URLs relative to `report_dir`."""
    report_dir = Path(os.path.abspath(report_dir))
    return [_row(record, Path(base_dir), report_dir) for record in records]


def _row(record: Mapping[str, Any], base_dir: Path, report_dir: Path) -> ReportRow:
    folder = Path(record.get("output") or base_dir)
    submitted = _text_or_none(record.get("submittedAt"))
    finished = _text_or_none(record.get("finishedAt"))
    state = str(record.get("state") or "pending")
    return ReportRow(
        key=str(record.get("key") or ""),
        # A job only an old ledger knows may lack its id, sample or prompt.
        id=str(record.get("id") or "?"),
        sample=int(record.get("sample") or 1),
        prompt=str(record.get("prompt") or ""),
        params=dict(record.get("params") or {}),
        variables=dict(record.get("variables") or {}),
        state=state if state in STATES else "pending",
        job_id=_text_or_none(record.get("jobId")),
        files=tuple(_file(f, folder, report_dir) for f in record.get("files") or ()),
        error=_error_text(record.get("error"), record.get("hint")),
        cost=_number_or_none(record.get("cost")),
        submitted_at=submitted,
        finished_at=finished,
        seconds=_seconds_between(submitted, finished),
        model=_text_or_none(record.get("model")),
        reused_from=_text_or_none(record.get("reusedFrom")),
    )


def _file(entry: Mapping[str, Any] | str, folder: Path, report_dir: Path) -> ReportFile:
    if isinstance(entry, str):
        entry = {"path": entry}
    path = Path(entry["path"])
    if not path.is_absolute():
        path = folder / path
    path = Path(os.path.abspath(path))
    try:
        relative = Path(os.path.relpath(path, report_dir)).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        relative = str(path)
    size = entry.get("bytes")
    return ReportFile(path=path, relative=relative, sha256=entry.get("sha256"),
                      bytes=int(size) if size is not None else None)


def _error_text(error: Any, hint: Any = None) -> str | None:
    """Errors arrive as a sentence (with the record's `hint` beside it) or as
    {message|error, hint}; the report shows one line of text."""
    if error in (None, ""):
        return None
    if isinstance(error, Mapping):
        hint = error.get("hint") or hint
        error = error.get("message") or error.get("error") or ""
    return f"{error} (hint: {hint})" if hint else str(error)


def _text_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _number_or_none(value: Any) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value  # 12 CU stays 12, not 12.0, in results.json
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    started, ended = epoch(start), epoch(end)
    if started is None or ended is None:
        return None
    return round(ended - started, 1)


def sweep_axes(rows: list[ReportRow], declared: Mapping[str, Iterable[Any]] | None) -> dict[str, list[Any]]:
    """The axes the grid can put across and filter by.

    The declared axes come first, in their order, each extended by any value the jobs
    have that it does not list (merged output folders may have swept more values).
    Then any other parameter or variable that differs between jobs of the same prompt,
    which is a sweep even if nobody declared it; a value that differs only between
    prompts (a prompt's own field) is not.
    """
    axes: dict[str, list[Any]] = {name: list(values) for name, values in (declared or {}).items()}
    by_prompt: dict[str, dict[str, list[Any]]] = {}
    for row in rows:
        seen = by_prompt.setdefault(row.id, {})
        for name, value in [*row.params.items(), *row.variables.items(),
                            *([("model", row.model)] if row.model else [])]:
            values = seen.setdefault(name, [])
            if value not in values:
                values.append(value)
    for seen in by_prompt.values():
        for name, values in seen.items():
            if name in axes or len(values) > 1:
                target = axes.setdefault(name, [])
                target.extend(v for v in values if v not in target)
    return {name: kept for name, values in axes.items()
            if (kept := _present_values(rows, name, values))}


def _present_values(rows: list[ReportRow], axis: str, values: list[Any]) -> list[Any]:
    """The values some job has, in axis order; None last when a job lacks the axis.

    A shard or a partial run has only some of the declared values, and empty columns
    would only be noise. An axis no job has at all is dropped.
    """
    present = [row.value(axis) for row in rows]
    if all(v is None for v in present):
        return []
    kept = [v for v in values if v is not None and v in present]
    return kept + [None] if None in present else kept
