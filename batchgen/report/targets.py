"""The report of manifests, output folders or ledger files: what `batchgen report`
and the end of `run` write."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from batchgen.report.choices import Choices, load_choices
from batchgen.report.model import rows_from_records, sweep_axes
from batchgen.report.write import judged_rates, write_report

REPORT_NAME = "report.html"


def report_targets(targets: list[str], out_file: str | os.PathLike[str] | None = None,
                   choices: Iterable[str | os.PathLike[str]] = (), *, scope: Any = None,
                   ) -> tuple[Path, list[dict[str, Any]]]:
    """Write the report of `targets` (merged, as `status` merges them); returns the
    report's path and the job records it shows.

    Without `out_file` the report goes to the output folder, or to the folder that
    holds all of them when several (e.g. shards) are merged. `choices` are
    choices.json files to merge in; `scope` as for `collect_records` (--out/--shard).
    """
    path, records, _ = judged_report(targets, out_file, choices, scope=scope)
    return path, records


def judged_report(targets: list[str], out_file: str | os.PathLike[str] | None,
                  choices: Iterable[str | os.PathLike[str]], *, scope: Any = None,
                  zip_file: str | os.PathLike[str] | bool | None = None,
                  ) -> tuple[Path, list[dict[str, Any]], Judgement]:
    """`report_targets`, also returning the merged choices and the win rates; with
    `zip_file` (True: the report's name with .zip) also the archive of the page and
    its videos (see archive.py)."""
    from batchgen.ledger.status import collect_records  # the ledger stack is only needed here

    records, axes, name = collect_records(targets, scope=scope)
    if out_file:
        out = Path(out_file)
    elif scope is not None:  # one manifest's shard: the report goes in the shard's folder
        from batchgen.manifest.load import load_batch

        out = Path(scope(load_batch(Path(targets[0])))[1]) / REPORT_NAME
    else:
        out = default_report_path(targets, records)
    files = list(choices)
    merged = load_choices(files, {r["key"] for r in records})
    path = write_report(records, axes, name, out, base_dir=Path.cwd(), choices=merged)
    rates: dict[str, dict[str, dict[str, int]]] = {}
    if files:
        rows = rows_from_records(records, base_dir=Path.cwd(), report_dir=path.parent)
        rates = judged_rates(rows, sweep_axes(rows, axes), merged)
    archive = None
    if zip_file:
        from batchgen.report.archive import write_archive

        target = path.with_suffix(".zip") if zip_file is True else Path(zip_file)
        archive = write_archive(records, axes, name, target, base_dir=Path.cwd(), report_dir=path.parent,
                                page_name=path.name, choices=merged)
    return path, records, Judgement(merged, rates, archive)


@dataclass(frozen=True)
class Judgement:
    """The reviewers' merged choices, the win rates they give each axis value, and the
    archive when one was asked for."""

    choices: Choices
    win_rates: dict[str, dict[str, dict[str, int]]]
    archive: Any = None  # archive.Archive


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
