"""Shards: split one batch over several machines (or API keys) deterministically.

`--shard I/N` (1-based, 1 <= I <= N) runs the jobs whose request-body hash (the key
without the sample, `Job.request_hash`), read as a hexadecimal number, leaves remainder
I-1 when divided by N. So every sample of one request body is in the same shard: only
one run ever tells them apart when it recovers lost answers. The hash never depends on
the manifest's order, so every shard of every machine agrees on the split without
talking to the others, and the N shards together cover each job exactly once.

Each `run` event records the split (`"split": "body"`). Shard folders written before
that (no `split`) were split by job key; a set of N shards keeps the split its folders
were started with (`recorded_split`), so it stays a partition. A run in any folder of
the batch sees the others' ledgers (`ledger.family`), so re-splitting never pays twice.

Each shard keeps its own ledger in its own output folder: by default
`<output>/shard-I-of-N/`. Separate folders mean separate locks, so shards can share
one volume, and `status`/`report` merge them when given several folders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, TypeVar

import msgspec

from batchgen.errors import UsageError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 10_000
BY_BODY, BY_KEY = "body", "key"  # what a shard's hexadecimal number is: see the module doc

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`, split by request body (or, in folders started
    by older versions, by job key)."""

    index: int
    count: int
    split: str = BY_BODY

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def folder_name(self) -> str:
        """The shard's default sub-folder inside the batch's output folder."""
        return f"shard-{self.index}-of-{self.count}"

    def owns(self, number: str) -> bool:
        """True when a job whose split number (hexadecimal) is `number` is this shard's."""
        return int(number, 16) % self.count == self.index - 1

    def owns_job(self, job: Any) -> bool:
        """True when `job` (a Job) belongs to this shard."""
        return self.owns(job.request_hash() if self.split == BY_BODY else job.key)


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
    """The jobs that belong to `shard`, in their order."""
    if shard is None:
        return list(jobs)
    return [job for job in jobs if shard.owns_job(job)]


def recorded_split(ledgers: Iterable[Path], shard: Shard) -> Shard:
    """`shard` with the split its set was started with: key, when a ledger among
    `ledgers` (the batch's folders) was written by a shard of the same count before runs
    recorded their split; else the one recorded, else by body."""
    for ledger in ledgers:
        event = first_run_event(ledger)
        earlier = parse_shard(event["shard"]) if event and event.get("shard") else None
        if earlier is not None and earlier.count == shard.count:
            return replace(shard, split=event.get("split") or BY_KEY)
    return shard


def first_run_event(ledger: Path) -> dict[str, Any] | None:
    """A ledger's first `run` event (its first line, as `run` writes it), or None."""
    try:
        with open(ledger, "rb") as handle:
            line = handle.readline(1 << 20)
        event = msgspec.json.decode(line)
    except (OSError, msgspec.DecodeError):
        return None
    return event if isinstance(event, dict) and event.get("event") == "run" else None


def shard_output(output: str | Path, shard: Shard | None) -> Path:
    """The default output folder of a shard: its own sub-folder of the batch's folder."""
    base = Path(output)
    return base if shard is None else base / shard.folder_name


def check_ledger_shard(run_events: Iterable[Mapping], shard: Shard | None, ledger: str) -> None:
    """Refuse to mix shards in one ledger: a job's shard decides where it is recorded.

    `run_events` are the ledger's `run` events; each records the shard it ran with
    (`"1/4"` or None) and how the shards split (`split`, absent before it was recorded:
    by key). Resuming a folder with a different split would re-run jobs that another
    shard owns, so that is a UsageError naming both splits.
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
        if earlier and shard and (event.get("split") or BY_KEY) != shard.split:
            raise UsageError(f"{ledger} was split by {event.get('split') or BY_KEY}, "
                             f"not by {shard.split}: use another output folder (--out)")

