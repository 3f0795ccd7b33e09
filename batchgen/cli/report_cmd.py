"""`batchgen report [MANIFEST or OUTPUT DIR...] [--out FILE] [--shard I/N]
[--choices FILE...] [--zip [FILE]] [--json]`: the side-by-side report, with reviewers' choices."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

from batchgen.cli.arguments import TARGETS_SAID, add_json, add_shard, add_targets, command_parser
from batchgen.cli.scope import target_scope
from batchgen.errors import UsageError


def register(subparsers: Any) -> None:
    parser = command_parser(
        subparsers, "report", run, "HTML side-by-side comparison of the results",
        "Write one self-contained HTML file that shows the sweep as a grid (prompts down, the "
        "values of a swept parameter across; playable videos), with results.csv and "
        f"results.json beside it. {TARGETS_SAID} With --choices, reviewers' exported "
        "choices.json files are merged in and the win rate of every axis value is printed.")
    add_targets(parser)
    parser.add_argument("--out", metavar="FILE",
                        help="where to write the report; a folder gets report.html in it "
                        "(default: report.html in the output folder, or in the folder "
                        "holding all of them)")
    add_shard(parser, "with one manifest: only shard I of N, read in its folder "
              "(<output>/shard-I-of-N/)")
    parser.add_argument("--choices", nargs="+", metavar="FILE", default=[],
                        help="choices.json files exported from the report (one per reviewer) "
                        "to merge into the page, results.csv and results.json")
    add_json(parser, "print the win rates (and choices naming unknown jobs) as JSON")
    parser.add_argument("--zip", nargs="?", const=True, default=None, metavar="FILE",
                        help="also write one archive of the page, results and videos (at paths "
                        "relative to the page) that opens offline once extracted (default "
                        "FILE: the report's name with .zip)")
    parser.add_argument("--force", action="store_true",
                        help="with --out: overwrite results.csv/results.json beside FILE even "
                        "if they are not this batch's")


def run(args: argparse.Namespace) -> int:
    """Handle `batchgen report`; returns the exit code."""
    from batchgen.report.choices import win_rate_table
    from batchgen.report.targets import judged_report

    targets = args.targets or ["."]
    if args.out and Path(args.out).is_dir():
        # `--out DIR` as cp takes it: the report goes into that folder, under its usual name.
        from batchgen.report.targets import REPORT_NAME

        args.out = str(Path(args.out) / REPORT_NAME)
    if args.out and not args.force:
        _refuse_foreign_results(Path(args.out))
    if isinstance(args.zip, str) and Path(args.zip).is_dir():  # before anything is written
        raise UsageError(f"--zip {args.zip}: is a folder; give the archive's file name, e.g. "
                         f"{Path(args.zip) / 'report.zip'}")
    path, records, judgement = judged_report(targets, args.out, args.choices, scope=target_scope(args.targets, None, args.shard),
                                             zip_file=args.zip)
    unknown = judgement.choices.unknown
    archive = judgement.archive
    if args.json:
        print(json.dumps({"report": str(path), "jobs": len(records), "winRates": judgement.win_rates,
                          "unknownKeys": unknown, **({"zip": str(archive.path)} if archive else {})},
                         indent=2))
    else:
        print(_wrote(path, records))
        if archive:
            print(f"wrote {_shown(archive.path)} (the page, results and {archive.videos} "
                  f"video{'s' if archive.videos != 1 else ''}, {archive.video_bytes / 1e6:.1f} MB): "
                  "extract it anywhere and open the page")
        if args.choices:
            print(f"win rates ({len(judgement.choices.entries)} choices merged):")
            print(win_rate_table(judgement.win_rates))
    if archive and archive.missing:
        print(f"batchgen: {len(archive.missing)} video file{'s' if len(archive.missing) != 1 else ''} "
              f"the records name {'are' if len(archive.missing) != 1 else 'is'} not on disk, left out of "
              f"the archive: {', '.join(str(p) for p in archive.missing[:3])}"
              f"{' ...' if len(archive.missing) > 3 else ''}", file=sys.stderr)
    for file, keys in unknown.items():
        print(f"batchgen: {file}: {len(keys)} choice{'s name jobs' if len(keys) != 1 else ' names a job'} "
              f"this batch does not have, left out: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}",
              file=sys.stderr)
    return 0


def _wrote(path: Path, records: list[dict[str, Any]]) -> str:
    states: dict[str, int] = {}
    for record in records:
        states[record["state"]] = states.get(record["state"], 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    return (f"wrote {_shown(path)} ({len(records)} job{'s' if len(records) != 1 else ''}"
            f"{': ' + summary if summary else ''}), with results.csv and results.json beside it")


def _shown(path: Path) -> str:
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _refuse_foreign_results(out: Path) -> None:
    """--out FILE writes results.csv/json beside FILE: never over someone else's."""
    from batchgen.report.results import CSV_SIGNATURE

    folder = out.resolve().parent
    for name in ("results.csv", "results.json"):
        existing = folder / name
        if existing.exists() and not _ours(existing, CSV_SIGNATURE):
            raise UsageError(f"{existing} exists and was not written by batchgen report; the "
                             "report writes results.csv and results.json beside --out FILE. "
                             "Choose another folder, or add --force to overwrite it")


def _ours(path: Path, columns: tuple[str, ...]) -> bool:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            if path.suffix == ".csv":
                header = next(csv.reader(handle), [])
                return tuple(header[:len(columns)]) == columns
            document = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(document, dict) and {"name", "axes", "jobs"} <= set(document)
