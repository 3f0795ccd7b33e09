"""The `batchgen` command: a thin layer over the library.

Each command lives in its own module exposing `register(subparsers)`, which adds its
parser and sets `func(args) -> int` as the handler.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from batchgen import redact
from batchgen.cli.logs import level_for, logging_to_stderr
from batchgen.durable import disk_error
from batchgen.errors import BatchgenError, ManifestError, leaves

COMMANDS = ["init", "validate", "plan", "run", "status", "estimate", "schema", "report", "simulate"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batchgen",
        description="Run manifests of prompts and parameter sweeps as Luma Ray 3.2 "
        "video generations on Scenario's API.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log to stderr what happens: -v for batchgen's events (INFO), -vv "
                        "for everything including HTTP requests (DEBUG). "
                        "BATCHGEN_LOG=debug|info|warning does the same")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"batchgen.cli.{name}_cmd").register(sub)
    for command in subcommands(parser):
        # Also after the command or subcommand (`batchgen run m.yaml -v`, `batchgen
        # schema check -v`), where people type it; SUPPRESS keeps a command without it
        # from resetting the count given before it.
        command.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                             help="log what happens to stderr (-vv: everything)")
    return parser


def subcommands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every command's and subcommand's parser below `parser`, depth first."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
                found += [child, *subcommands(child)]
    return found



def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(words)
    args.words = words  # the command as typed, for the commands printed to paste again
    try:
        with logging_to_stderr(level_for(args.verbose)):
            code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, where it can still be handled
        return code
    except ManifestError as exc:
        # One problem per line, like `validate`, so every command reads the same way.
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("batchgen: the manifest is invalid; nothing was sent", file=sys.stderr)
        return exc.exit_code
    except BatchgenError as exc:
        print(f"batchgen: {redact.text(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BaseExceptionGroup as group:
        # Concurrent work that failed on purpose: say the gravest error, as for one alone.
        errors = [disk_error(e) if _disk_fault(e) else e for e in leaves(group)]
        if not errors or not all(isinstance(e, BatchgenError) for e in errors):
            raise
        worst = max(errors, key=lambda e: e.exit_code)
        print(f"batchgen: {redact.text(str(worst))}", file=sys.stderr)
        return worst.exit_code
    except BrokenPipeError:
        # `batchgen status | head`: the reader left; stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("batchgen: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # A write no module turned into a DiskError itself: still one sentence, exit 4.
        if not _disk_fault(exc):
            raise
        error = disk_error(exc)
        print(f"batchgen: {redact.text(str(error))}", file=sys.stderr)
        return error.exit_code


def _disk_fault(exc: BaseException) -> bool:
    """An OSError of the file system (not a closed pipe or a network error)."""
    return isinstance(exc, OSError) and not isinstance(exc, (BrokenPipeError, ConnectionError)) \
        and exc.errno is not None


if __name__ == "__main__":
    sys.exit(main())
