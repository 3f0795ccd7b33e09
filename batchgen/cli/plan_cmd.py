"""`batchgen plan MANIFEST... [--json]`: the expanded jobs and, from the ledger, their states.

One manifest (the usual case, benchmarked at 100,000 jobs) is expanded and matched
against the ledgers of its output folder (or of --out, or of --shard's folder). Output
folders, ledger files and several manifests are read as `status` reads them.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import TextIO

from batchgen.cli.scope import add_scope_options, scope, target_scope
from batchgen.cli.arguments import TARGETS_HELP, add_json, add_max_jobs, command_parser
from batchgen.cli.validate_cmd import print_problems, print_warnings, summary
from batchgen.durable import paused_gc
from batchgen.errors import ManifestError
from batchgen.manifest.templates import plain
from batchgen.ledger.records import STATES, plan_states, write_plan_json
from batchgen.ledger.status import ledger_states
from batchgen.manifest.load import Batch, load_batch
from batchgen.run.shards import parse_shard


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = command_parser(
        subparsers, "plan", run, "list the expanded jobs and their states",
        "Expand a manifest and list its jobs: state (from the ledger in the output folder: "
        "pending, running, succeeded or failed), key, prompt id, sample, the swept values and "
        "the file each job writes. Also takes output folders and ledger files (the jobs they "
        "record), or several of these (shards), merged. Sends nothing, writes nothing.")
    parser.add_argument("targets", nargs="+", metavar="MANIFEST", help=TARGETS_HELP)
    add_scope_options(parser, "read")
    add_json(parser, "print one JSON object: counts by state and every job")
    add_max_jobs(parser)


def run(args: argparse.Namespace) -> int:
    target_scope(args.targets, args.out, args.shard)  # refuses --out/--shard unless one manifest is given
    target = args.targets[0]
    if len(args.targets) > 1 or not os.path.isfile(target) or target.endswith(".jsonl"):
        return _plan_of_records(args)
    # 100,000 jobs and ledger states are many small acyclic objects: collections in
    # between, or the last one at exit, would find nothing to free.
    with paused_gc():
        try:
            batch = load_batch(target, max_jobs=args.max_jobs)
        except ManifestError as exc:
            print_problems(exc, target)
            return 2
        print_warnings(batch)
        shard = parse_shard(args.shard) if args.shard is not None else None
        batch, _, folder = scope(batch, args.out, shard)
        ledger = ledger_states(folder)
        if args.json:
            write_plan_json(batch, ledger, sys.stdout)
        else:
            states, counts = plan_states(batch, ledger)
            print(f"{batch.name}: {summary(batch)}")
            print(format_table(batch, states))
            print(", ".join(f"{counts[s]:,} {s}" for s in STATES if counts[s]))
        print_generated_elsewhere(
            [job.key for job in batch.jobs if job.key not in ledger
             or ledger[job.key][0].state == "pending"], folder,
            sys.stderr if args.json else sys.stdout)
        gc.freeze()
    return 0


def print_generated_elsewhere(keys: list[str], folder: str | os.PathLike[str],
                              out: TextIO, *, api: str | None = None) -> None:
    """Say how many of the keys to submit the index of paid results knows from other
    folders (their files still there; made on `api`, None: on any API), and what --reuse
    does about it."""
    from batchgen.reuse.ask import generated_elsewhere
    from batchgen.reuse.sources import look_elsewhere

    found, problem = look_elsewhere(keys, folder, api=api)
    if found:
        print(f"{generated_elsewhere(found, folder)}; run --reuse takes them at no cost",
              file=out)
    if problem:
        print(f"warning: {problem}", file=sys.stderr)


def _plan_of_records(args: argparse.Namespace) -> int:
    """The plan of output folders, ledgers or several manifests: their recorded jobs."""
    from batchgen.cli.status_cmd import print_json, record_values, varying_values
    from batchgen.ledger.status import collect_records, count_states

    with paused_gc():
        records, axes, name = collect_records(args.targets)
        counts = count_states(records)
        if args.json:
            print_json(counts, records, sys.stdout)
            return 0
        varying = varying_values(records, list(axes))
        header = ["STATE", "KEY", "PROMPT", "#", *[a.upper() for a in varying], "FILE"]
        rows = [header]
        for r in records:
            values = record_values(r)
            rows.append([r["state"], r["key"], str(r["id"] or "?"), str(r["sample"] or ""),
                         *[plain(values[a]) if a in values else "" for a in varying],
                         "; ".join(f["path"] for f in r["files"])])
        widths = [max(map(len, column)) for column in zip(*rows)]
        print(f"{name or 'batch'}: {len(records):,} job{'s' if len(records) != 1 else ''}")
        print("\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                        for row in rows))
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
        columns.append([plain(j.axis_value(a, "")) for j in jobs])
    columns.append([j.filename for j in jobs])
    padded = [[title.ljust(width)] + [cell.ljust(width) for cell in column]
              for title, column in zip(header, columns)
              for width in [max(len(title), max(map(len, column), default=0))]]
    return "\n".join("  ".join(row).rstrip() for row in zip(*padded))
