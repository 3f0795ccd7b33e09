"""`batchgen status [MANIFEST or OUTPUT DIR...] [--json]`: where every job stands."""

from __future__ import annotations

import argparse
import gc
import sys
from typing import Any, TextIO


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status", help="counts and per-job states from the ledger",
        description="Show how many jobs are pending, running, succeeded and failed, then "
        "one line per job. Give a manifest, an output folder or a ledger file; several "
        "(e.g. the shards of one batch) are merged. Without one, the current folder.")
    parser.add_argument("targets", nargs="*", metavar="MANIFEST or OUTPUT DIR",
                        help="manifest, output folder or ledger.jsonl (default: .)")
    parser.add_argument("--json", action="store_true",
                        help='print {"counts", "jobs"} as one JSON object; each job has key, id, '
                        "sample, prompt, params, state, jobId, files, error, then variables, "
                        "cost, submittedAt, finishedAt, hint and output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from batchgen.durable import paused_gc
    from batchgen.ledger.status import collect_records, count_states

    with paused_gc():  # 100,000 records make each collection slow, and they are all kept
        records, _axes, name = collect_records(args.targets or ["."])
        counts = count_states(records)
        if args.json:
            _print_json(counts, records, sys.stdout)
        else:
            _print_table(name, counts, records, sys.stdout)
        # Exiting runs one last collection over every object still alive: the records
        # are done with and hold no cycles, so keep the collector off them.
        gc.freeze()
    return 0


def _print_json(counts: dict[str, int], records: list[dict[str, Any]], out: TextIO) -> None:
    import msgspec

    document = msgspec.json.encode({"counts": counts, "jobs": records})
    out.flush()
    buffer = getattr(out, "buffer", None)
    if buffer is not None:  # 40 MB for 100,000 jobs: skip decoding it to text and back
        buffer.write(document + b"\n")
        buffer.flush()
    else:
        out.write(document.decode() + "\n")


def _print_table(name: str, counts: dict[str, int], records: list[dict[str, Any]],
                 out: TextIO) -> None:
    total = sum(counts.values())
    summary = ", ".join(f"{n} {state}" for state, n in counts.items())
    out.write(f"{name or 'batch'}: {total} job{'s' if total != 1 else ''} ({summary})\n")
    if not records:
        return
    rows = [("ID", "SAMPLE", "STATE", "JOB ID", "ERROR")]
    for record in records:
        error = record["error"] or ""
        if error and record["hint"]:
            error = f"{error} (hint: {record['hint']})"
        rows.append((str(record["id"] or "?"), str(record["sample"] or ""), record["state"],
                     record["jobId"] or "-", error))
    widths = [max(map(len, column)) for column in list(zip(*rows))[:4]]
    line = "  ".join(f"{{:<{width}}}" for width in widths) + "  {}"
    out.write("\n" + "\n".join(line.format(*row).rstrip() for row in rows) + "\n")
