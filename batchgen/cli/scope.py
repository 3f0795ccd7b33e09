"""`--out DIR` and `--shard I/N`: which jobs of a manifest, in which folder.

`run` writes there; `plan` and `status` read there, so `plan m.yaml --shard 2/4` shows
exactly what `run m.yaml --shard 2/4` would do.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from batchgen.cli.arguments import add_shard
from batchgen.errors import UsageError

if TYPE_CHECKING:  # imported when a shard is asked for: plan and status start fast
    from batchgen.run.shards import Shard


def add_scope_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """The --out and --shard options of a command that reads a manifest's output folder."""
    parser.add_argument("--out", metavar="DIR",
                        help=f"{verb} this output folder instead of the manifest's `output` "
                        "(as given to run --out)")
    add_shard(parser, f"only shard I of N: its jobs, {verb} in its folder "
              "(<output>/shard-I-of-N/ unless --out)")


def scope(batch: Any, out: str | None, shard: Shard | None) -> tuple[Any, Shard | None, Path]:
    """(the batch's jobs of `shard`, the shard with the split its folders were started
    with, the folder a run with --out/--shard works in)."""
    if shard is None:
        return batch, None, Path(out).resolve() if out else Path(batch.output)
    from batchgen.ledger.events import ledger_path
    from batchgen.ledger.family import family_folders
    from batchgen.run.shards import recorded_split, select, shard_output

    folder = Path(out).resolve() if out else shard_output(batch.output, shard)
    shard = recorded_split([ledger_path(f) for f in family_folders(folder)], shard)
    batch = dataclasses.replace(batch, jobs=select(batch.jobs, shard),
                                output=shard_output(batch.output, shard))
    return batch, shard, folder


def target_scope(targets: list[str], out: str | None,
                 shard_text: str | None) -> Callable[[Any], tuple[Any, Path]] | None:
    """For `plan`/`status`/`report` targets: what --out DIR and --shard I/N make of the
    one manifest given (UsageError for other targets)."""
    if out is None and shard_text is None:
        return None
    given = [flag for flag, value in (("--out", out), ("--shard", shard_text)) if value]
    if len(targets) != 1 or not Path(targets[0]).is_file() or targets[0].endswith(".jsonl"):
        raise UsageError(f"{' and '.join(given)} appl{'y' if len(given) > 1 else 'ies'} to "
                         "one manifest; for output folders, "
                         "give the folder itself (e.g. out/batch/shard-2-of-4)")
    from batchgen.run.shards import parse_shard

    shard = parse_shard(shard_text) if shard_text is not None else None

    def apply(batch: Any) -> tuple[Any, Path]:
        scoped, _, folder = scope(batch, out, shard)
        return scoped, folder

    return apply
