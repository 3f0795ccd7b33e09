"""`batchgen plan MANIFEST [--json]`: the expanded jobs and, from the ledger, their states."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from batchgen.cli.validate_cmd import add_max_jobs, print_problems, print_warnings, summary
from batchgen.errors import ManifestError
from batchgen.naming import plain
from batchgen.plan import STATES, plan_records
from batchgen.status import job_states
from batchgen.validate import Batch, load_batch


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan", help="list the expanded jobs and their states",
        description="Expand a manifest and list its jobs: state (from the ledger in the output "
        "folder: pending, running, succeeded or failed), key, prompt id, sample, the swept "
        "values and the file each job writes. Sends nothing.")
    parser.add_argument("manifest", metavar="MANIFEST")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: counts by state and every job")
    add_max_jobs(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        batch = load_batch(args.manifest, max_jobs=args.max_jobs)
    except ManifestError as exc:
        print_problems(exc, args.manifest)
        return 2
    print_warnings(batch)
    records = plan_records(batch, job_states(batch.output))
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(f"{batch.name}: {summary(batch)}")
        print(format_table(batch, records))
        print(", ".join(f"{records['counts'][s]:,} {s}" for s in STATES if records["counts"][s]))
    return 0


def format_table(batch: Batch, records: dict[str, Any]) -> str:
    """The jobs as an aligned text table, one row per job."""
    axes = list(batch.axes)
    header = ["STATE", "KEY", "PROMPT", "#", *[a.upper() for a in axes], "FILE"]
    rows = [header]
    for job, record in zip(batch.jobs, records["jobs"]):
        values = [plain(job.params[a]) if a in job.params else job.variables.get(a, "")
                  for a in axes]
        rows.append([record["state"], job.key, job.id, str(job.sample), *values, job.filename])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in rows)
