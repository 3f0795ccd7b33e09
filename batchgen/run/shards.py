"""Shards: split one batch over several machines (or API keys) deterministically.

`--shard I/N` (1-based, 1 <= I <= N) runs the jobs whose key, read as a hexadecimal
number, leaves remainder I-1 when divided by N. A job's key never depends on the
manifest's order, so every shard of every machine agrees on the split without
talking to the others, and the N shards together cover each job exactly once.

Each shard keeps its own ledger in its own output folder: by default
`<output>/shard-I-of-N/`. Separate folders mean separate locks, so shards can share
one volume, and `status`/`report` merge them when given several folders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, TypeVar

from batchgen.errors import UsageError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 10_000

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def folder_name(self) -> str:
        """The shard's default sub-folder inside the batch's output folder."""
        return f"shard-{self.index}-of-{self.count}"

    def owns(self, key: str) -> bool:
        """True when the job with this key belongs to this shard."""
        return int(key, 16) % self.count == self.index - 1


def parse_shard(text: str) -> Shard:
    """Parse `I/N` (1 <= I <= N); a UsageError says what is wrong otherwise."""
    match = _SPEC.match(text or "")
    if not match:
        raise UsageError(f"--shard {text!r} is not of the form I/N, e.g. --shard 2/4 "
                         "(shard 2 of 4, counting from 1)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or count > MAX_SHARDS:
        raise UsageError(f"--shard {text}: the number of shards must be between 1 and {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text}: the shard number must be between 1 and {count} "
                         "(shards count from 1)")
    return Shard(index, count)


def select(jobs: Iterable[T], shard: Shard | None) -> list[T]:
    """The jobs (anything with a hex `key`) that belong to `shard`, in their order."""
    if shard is None:
        return list(jobs)
    return [job for job in jobs if shard.owns(job.key)]  # type: ignore[attr-defined]


def shard_output(output: str | Path, shard: Shard | None) -> Path:
    """The default output folder of a shard: its own sub-folder of the batch's folder."""
    base = Path(output)
    return base if shard is None else base / shard.folder_name


def check_ledger_shard(run_events: Iterable[Mapping], shard: Shard | None, ledger: str) -> None:
    """Refuse to mix shards in one ledger: a job's shard decides where it is recorded.

    `run_events` are the ledger's `run` events; each records the shard it ran with
    (`"1/4"` or None). Resuming a folder with a different split would re-run jobs that
    another shard owns, so that is a UsageError naming both splits.
    """
    wanted = str(shard) if shard else None
    for event in run_events:
        if event.get("event") != "run":
            continue
        earlier = event.get("shard")
        if earlier != wanted:
            raise UsageError(
                f"{ledger} was written by a run with "
                f"{'--shard ' + earlier if earlier else 'no --shard'}, not "
                f"{'--shard ' + wanted if wanted else 'without --shard'}: "
                "use that shard's own output folder (--out), or the same --shard")

