"""`batchgen status [MANIFEST or OUTPUT DIR...] [--json]`: where every job stands."""

from __future__ import annotations

import argparse
import gc
import sys
from typing import Any, TextIO

from batchgen.cli.arguments import TARGETS_SAID, add_json, add_targets, command_parser
from batchgen.cli.scope import add_scope_options, target_scope

# As batchgen.ledger.state's, which is imported only when `status` runs.
STATES = ("pending", "running", "succeeded", "failed")


def register(subparsers: Any) -> None:
    parser = command_parser(
        subparsers, "status", run, "counts and per-job states from the ledger",
        "Show how many jobs are pending, running, succeeded and failed, then one line per "
        f"job. {TARGETS_SAID}")
    add_targets(parser)
    add_json(parser, 'print {"counts", "jobs"} as one JSON object; each job has key, id, '
             "sample, prompt, params, state, jobId, files, error, then variables, cost, "
             "submittedAt, finishedAt, hint, output and reusedFrom")
    add_scope_options(parser, "read")
    parser.add_argument("--state", action="append", choices=STATES, metavar="STATE",
                        help="list only the jobs in this state (pending, running, succeeded, "
                        "failed); may be repeated. The counts stay those of every job")


def run(args: argparse.Namespace) -> int:
    from batchgen.durable import paused_gc
    from batchgen.ledger.status import collect_records, count_states

    with paused_gc():  # 100,000 records make each collection slow, and they are all kept
        records, axes, name = collect_records(args.targets or ["."], scope=target_scope(args.targets, args.out, args.shard))
        counts = count_states(records)
        if args.state:
            records = [record for record in records if record["state"] in args.state]
        if args.json:
            print_json(counts, records, sys.stdout)
        else:
            _print_table(name, counts, records, sys.stdout, axes=list(axes),
                         filtered=bool(args.state))
        # Exiting runs one last collection over every object still alive: the records
        # are done with and hold no cycles, so keep the collector off them.
        gc.freeze()
    return 0


def print_json(counts: dict[str, int], records: list[dict[str, Any]], out: TextIO) -> None:
    """`{"counts": ..., "jobs": [...]}`, the shape of `status --json` and `plan --json`."""
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
                 out: TextIO, *, axes: list[str] = (), filtered: bool = False) -> None:
    total = sum(counts.values())
    summary = ", ".join(f"{n} {state}" for state, n in counts.items())
    reused = sum(1 for record in records if record.get("reusedFrom"))
    if reused:  # succeeded, but taken from another folder's result at no cost
        summary += f"; {reused} of them reused"
    out.write(f"{name or 'batch'}: {total} job{'s' if total != 1 else ''} ({summary})\n")
    if not records:
        if filtered:
            out.write("no job in that state\n")
        return
    varying = varying_values(records, axes)
    rows = [("ID", "SAMPLE", *(name.upper() for name in varying), "STATE", "COST", "JOB ID", "ERROR")]
    for record in records:
        error = record["error"] or ""
        if error and record["hint"]:
            error = f"{error} (hint: {record['hint']})"
        values = record_values(record)
        rows.append((str(record["id"] or "?"), str(record["sample"] or ""),
                     *(_cell(values.get(name)) for name in varying),
                     "reused" if record.get("reusedFrom") else record["state"],
                     _cost(record["cost"]), record["jobId"] or "-", error))
    widths = [max(map(len, column)) for column in list(zip(*rows))[:-1]]
    line = "  ".join(f"{{:<{width}}}" for width in widths) + "  {}"
    out.write("\n" + "\n".join(line.format(*row).rstrip() for row in rows) + "\n")


def varying_values(records: list[dict[str, Any]], axes: list[str] = ()) -> list[str]:
    """The parameters and prompt variables whose values differ between the records: the
    matrix `axes` first, then the others in the order they first appear. What tells the
    jobs of one prompt apart."""
    seen: dict[str, Any] = {}
    varying: dict[str, None] = {}
    for record in records:
        values = record_values(record)
        for name in seen.keys() | values.keys():
            if name not in varying and name in seen and seen[name] != values.get(name, _ABSENT):
                varying[name] = None
            seen.setdefault(name, values.get(name, _ABSENT))
    order = list(dict.fromkeys([*axes, *seen]))
    return sorted(varying, key=order.index)


_ABSENT = object()


def record_values(record: dict[str, Any]) -> dict[str, Any]:
    """A record's values on what can tell jobs apart: the model (where the ledger says),
    the parameters, the prompt variables."""
    model = {"model": record["model"]} if record.get("model") else {}
    return {**model, **record["params"], **record["variables"]}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cost(value: Any) -> str:
    if value is None:
        return "-"
    from batchgen.run.budget import format_cu

    return format_cu(float(value))
