"""One batch, many folders: the other ledgers a run must see before it pays.

A batch's results may sit in its output folder, in the `shard-I-of-N` folders below it
and, for a run in a shard folder, in the folder above and its other shard folders: the
batch's *family*. A run reads those ledgers and never writes them (each run writes
only its own ledger, under its own lock), so that
- a key succeeded, running or failed in any of them is not submitted again (only
  `--retry-failed` submits a failed one, in this folder);
- a jobId any of them holds is never claimed for another key by recovery, nor a job
  whose body is another ledger's lost answer (`Family.refresh` re-reads them as
  they grow, so shards running side by side see each other's claims);
- runs that would cover the same keys at once (the folder above and a shard, or
  shards of different counts) are refused; shards of one split may run side by side.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import msgspec

from batchgen.errors import LedgerError, UsageError
from batchgen.jobs import canonical_json
from batchgen.ledger.events import ledger_path
from batchgen.ledger.lock import LOCK_NAME, holder_info, process_alive
from batchgen.ledger.state import FAILED, PENDING, RUNNING, SUCCEEDED, KeyState, LedgerState

SHARD_FOLDER = re.compile(r"^shard-(\d+)-of-(\d+)$")
_RANK = {PENDING: 0, FAILED: 1, RUNNING: 2, SUCCEEDED: 3}  # as ledger.status ranks them
_decode = msgspec.json.Decoder(dict).decode


def family_root(folder: str | os.PathLike[str]) -> Path:
    """The batch's top folder: the folder above a shard folder, else the folder itself."""
    path = Path(os.path.abspath(folder))
    return path.parent if SHARD_FOLDER.match(path.name) else path


def family_folders(folder: str | os.PathLike[str]) -> list[Path]:
    """Every folder of the batch `folder` belongs to: its top folder and the shard
    folders below it (absolute), `folder` itself included."""
    root = family_root(folder)
    folders = [root, *sorted(p for p in root.glob("shard-*-of-*")
                             if p.is_dir() and SHARD_FOLDER.match(p.name))]
    own = Path(os.path.abspath(folder))
    return folders if own in folders else [own, *folders]


class _Tail:
    """A ledger another run may still be writing, replayed as far as its last full line."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.state = LedgerState()

    def read(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # a line being written is read once it is whole
        for line in data[:end].splitlines():
            try:
                self.state.apply(_decode(line))
            except (msgspec.DecodeError, LedgerError, KeyError):
                continue  # that folder's own run reports its damaged lines
        self.offset += end


class Family:
    """The ledgers of the other folders of a run's batch, read-only."""

    def __init__(self, own: str | os.PathLike[str]):
        self.own = Path(os.path.abspath(own))
        self._tails: dict[Path, _Tail] = {}
        self.refresh()

    def refresh(self) -> None:
        """Read what the other ledgers gained since (and ledgers of new folders)."""
        for folder in family_folders(self.own):
            ledger = ledger_path(folder)
            if folder != self.own and ledger.is_file():
                self._tails.setdefault(folder, _Tail(ledger)).read()

    def best(self, key: str) -> tuple[KeyState, Path] | None:
        """The most advanced state another folder records for `key` (pending ignored),
        with that folder."""
        found = None
        for folder, tail in self._tails.items():
            ks = tail.state.jobs.get(key)
            if ks is not None and ks.state != PENDING and (
                    found is None or _RANK[ks.state] > _RANK[found[0].state]):
                found = (ks, folder)
        return found

    def job_ids(self) -> set[str]:
        """Every jobId another folder's ledger holds."""
        return set().union(*(tail.state.known_job_ids for tail in self._tails.values()))

    def lost_bodies(self) -> set[str]:
        """The bodies (canonical JSON) of the other folders' keys whose answer is lost:
        a listed job with exactly such a body is theirs."""
        return {canonical_json(ks.body) for tail in self._tails.values()
                for ks in tail.state.jobs.values() if ks.ambiguous and ks.body is not None}

    def refuse_overlapping_runs(self, shard_count: int | None, shard_index: int | None) -> None:
        """UsageError when a run busy in another folder covers keys this one covers."""
        for folder, pid in self._busy():
            match = SHARD_FOLDER.match(folder.name) if folder != family_root(self.own) else None
            if match and shard_count == int(match.group(2)) and shard_index != int(match.group(1)):
                continue  # another shard of the same split: no key in common
            raise UsageError(
                f"another batchgen run (pid {pid}) is working in {folder}, a folder of the same "
                "batch whose jobs overlap this run's: wait for it to finish, or run only shards "
                "of one split (--shard I/N with the same N) side by side")

    def _busy(self) -> Iterator[tuple[Path, int]]:
        for folder in family_folders(self.own):
            if folder != self.own and (folder / LOCK_NAME).exists():
                pid = holder_info(folder).get("pid")
                if process_alive(pid):
                    yield folder, pid
