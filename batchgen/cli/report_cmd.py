"""`batchgen report [MANIFEST or OUTPUT DIR...] [--out FILE]`: the side-by-side report."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="HTML side-by-side comparison of the results",
        description="Write one self-contained HTML file that shows the sweep as a grid "
        "(prompts down, the values of a swept parameter across; playable videos), with "
        "results.csv and results.json beside it. Give a manifest, an output folder or a "
        "ledger file; several (e.g. the shards of one batch) are merged. Without one, the "
        "current folder.")
    parser.add_argument("targets", nargs="*", metavar="MANIFEST or OUTPUT DIR",
                        help="manifest, output folder or ledger.jsonl (default: .)")
    parser.add_argument("--out", metavar="FILE",
                        help="where to write the report (default: report.html in the output "
                        "folder, or in the folder holding all of them)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handle `batchgen report`; returns the exit code."""
    from batchgen.report.targets import report_targets

    path, records = report_targets(args.targets or ["."], args.out)
    states: dict[str, int] = {}
    for record in records:
        states[record["state"]] = states.get(record["state"], 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    relative = os.path.relpath(path)
    shown = str(path) if relative.startswith("..") else relative
    print(f"wrote {shown} ({len(records)} job{'s' if len(records) != 1 else ''}"
          f"{': ' + summary if summary else ''}), with results.csv and results.json beside it",
          file=sys.stdout)
    return 0
