"""The arguments several commands share, declared once.

A command is a name, a one-line summary, a description and a handler; what it is given
(one manifest, or manifests, output folders and ledger files) and the options that
mean the same in every command that takes them (--json, --concurrency, --max-jobs)
are added here, so their names, metavars and help read alike everywhere. Options of
one command stay in its module; --out/--shard are in scope.py, --simulate/--base-url
in connect.py.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from batchgen.cli.argtypes import concurrency, positive_int
from batchgen.manifest.load import DEFAULT_MAX_JOBS

TARGETS_HELP = "manifest, output folder or ledger.jsonl"
TARGETS_SAID = ("Give a manifest, an output folder or a ledger file; several (e.g. the shards "
                "of one batch) are merged. Without one, the current folder.")


def command_parser(subparsers: Any, name: str, handler: Callable[[argparse.Namespace], int],
            summary: str, description: str) -> argparse.ArgumentParser:
    """The parser of command `name`, run by `handler(args)` (its exit code)."""
    parser = subparsers.add_parser(name, help=summary, description=description)
    parser.set_defaults(func=handler)
    return parser


def add_manifest(parser: argparse.ArgumentParser) -> None:
    """The one manifest a command works on."""
    parser.add_argument("manifest", metavar="MANIFEST", help="a YAML or CSV manifest")


def add_targets(parser: argparse.ArgumentParser) -> None:
    """What a command reads records from: manifests, output folders or ledger files,
    several of them merged (e.g. the shards of one batch); none: the current folder."""
    parser.add_argument("targets", nargs="*", metavar="MANIFEST or OUTPUT DIR",
                        help=f"{TARGETS_HELP} (default: .)")


def add_json(parser: argparse.ArgumentParser, help: str = "print one JSON object") -> None:
    """--json: the command's result as JSON on stdout, for scripts."""
    parser.add_argument("--json", action="store_true", help=help)


def add_concurrency(parser: argparse.ArgumentParser, default: int, help: str) -> None:
    """--concurrency N: how many calls of the command are in flight at once."""
    parser.add_argument("--concurrency", metavar="N", type=concurrency, default=default,
                        help=help)


def add_shard(parser: argparse.ArgumentParser, help: str) -> None:
    """--shard I/N: one shard of a batch split N ways (the commands say which part of it)."""
    parser.add_argument("--shard", metavar="I/N", help=help)


def add_max_jobs(parser: argparse.ArgumentParser) -> None:
    """The --max-jobs option, shared by the commands that expand a manifest."""
    parser.add_argument(
        "--max-jobs", type=positive_int, metavar="N", default=None,
        help=f"allow expanding to more than {DEFAULT_MAX_JOBS:,} jobs (overrides the "
        "manifest's max_jobs)")
