"""`batchgen validate MANIFEST...`: check manifests, print every problem, send nothing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from batchgen.cli.arguments import add_max_jobs, command_parser
from batchgen.errors import ManifestError
from batchgen.manifest.document import display_path
from batchgen.manifest.load import Batch, load_batch


MANIFEST_SUFFIXES = (".yaml", ".yml", ".csv")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = command_parser(
        subparsers, "validate", run, "check manifests and print every problem; sends nothing",
        "Check manifests (YAML or CSV) against the manifest format and their models' rules. "
        "Prints every problem as file:line: job: rule. Sends nothing, writes nothing. Exit 0 "
        "when all are valid, 2 otherwise.")
    parser.add_argument("manifests", nargs="+", metavar="MANIFEST",
                        help="manifest files (.yaml, .yml, .csv), or folders holding them")
    add_max_jobs(parser)


def print_problems(error: ManifestError, source: str) -> None:
    """Every problem on its own line on stderr, then a one-line verdict."""
    for problem in error.problems:
        print(problem, file=sys.stderr)
    count = len(error.problems)
    print(f"batchgen: {source} is invalid ({count} problem{'s' if count != 1 else ''}); "
          "nothing was sent", file=sys.stderr)


def print_warnings(batch: Batch) -> None:
    """Warnings (such as combinations skipped by on_invalid: skip) on stderr."""
    for warning in batch.warnings:
        print(warning, file=sys.stderr)


def summary(batch: Batch) -> str:
    """One line: how many jobs, from how many prompts, what is swept, where files go."""
    prompts = len({job.index for job in batch.jobs})
    jobs = len(batch.jobs)
    swept = f"; swept: {', '.join(batch.axes)}" if batch.axes else ""
    images = len(batch.frames)
    frames = f"; {images} local image{'s' if images != 1 else ''} to upload" if images else ""
    return (f"{jobs:,} job{'s' if jobs != 1 else ''} from {prompts:,} "
            f"prompt{'s' if prompts != 1 else ''}{swept}{frames}; output {display_path(batch.output)}")


def run(args: argparse.Namespace) -> int:
    invalid = 0
    for path in _manifest_paths(args.manifests):
        try:
            batch = load_batch(path, max_jobs=args.max_jobs)
        except ManifestError as exc:
            invalid += 1
            print_problems(exc, path)
            continue
        print_warnings(batch)
        print(f"{path}: ok, {summary(batch)}")
    return 2 if invalid else 0


def _manifest_paths(arguments: list[str]) -> list[str]:
    """The arguments, with each folder replaced by the manifests directly inside it.

    So `batchgen validate manifests/` and `batchgen validate manifests/*` both work even
    though manifests/ also holds a folder of frame images.
    """
    paths = []
    for argument in arguments:
        folder = Path(argument)
        if not folder.is_dir():
            paths.append(argument)
            continue
        found = sorted(str(p) for p in folder.iterdir()
                       if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES)
        if not found:
            print(f"{argument}: a folder without manifests ({', '.join(MANIFEST_SUFFIXES)}); "
                  "skipped", file=sys.stderr)
        paths += found
    return paths
