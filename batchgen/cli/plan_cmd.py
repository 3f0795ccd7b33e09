"""`batchgen plan MANIFEST [--json]`: the expanded jobs and, from the ledger, their states."""

from __future__ import annotations

import argparse
import gc
import sys

from batchgen.cli.validate_cmd import add_max_jobs, print_problems, print_warnings, summary
from batchgen.durable import paused_gc
from batchgen.errors import ManifestError
from batchgen.manifest.templates import plain
from batchgen.ledger.records import STATES, plan_states, write_plan_json
from batchgen.ledger.status import ledger_states
from batchgen.manifest.load import Batch, load_batch


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
    # 100,000 jobs and ledger states are many small acyclic objects: collections in
    # between, or the last one at exit, would find nothing to free.
    with paused_gc():
        try:
            batch = load_batch(args.manifest, max_jobs=args.max_jobs)
        except ManifestError as exc:
            print_problems(exc, args.manifest)
            return 2
        print_warnings(batch)
        ledger = ledger_states(batch.output)
        if args.json:
            write_plan_json(batch, ledger, sys.stdout)
        else:
            states, counts = plan_states(batch, ledger)
            print(f"{batch.name}: {summary(batch)}")
            print(format_table(batch, states))
            print(", ".join(f"{counts[s]:,} {s}" for s in STATES if counts[s]))
        gc.freeze()
    return 0


def format_table(batch: Batch, states: list[str]) -> str:
    """The jobs as an aligned text table, one row per job (`states` in job order)."""
    axes = list(batch.axes)
    header = ["STATE", "KEY", "PROMPT", "#", *[a.upper() for a in axes], "FILE"]
    jobs = batch.jobs
    # Built column by column: a 100,000-job plan spends its time here otherwise.
    columns = [states, [j.key for j in jobs], [j.id for j in jobs], [str(j.sample) for j in jobs]]
    for a in axes:
        columns.append([plain(j.params[a]) if a in j.params else j.variables.get(a, "")
                        for j in jobs])
    columns.append([j.filename for j in jobs])
    padded = [[title.ljust(width)] + [cell.ljust(width) for cell in column]
              for title, column in zip(header, columns)
              for width in [max(len(title), max(map(len, column), default=0))]]
    return "\n".join("  ".join(row).rstrip() for row in zip(*padded))
