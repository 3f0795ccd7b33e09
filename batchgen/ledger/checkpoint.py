"""A replay checkpoint, so a big ledger is not replayed from its first line every time.

`load_state(ledger)` is `replay(read_events(ledger))`, only faster: it starts from
`.ledger.jsonl.checkpoint` (the replayed state of the ledger's first N bytes) when that
still matches the ledger, and replays only the lines added since. The ledger stays the
one source of truth: a checkpoint is used only if the ledger's first bytes and the
bytes just before N are those it was made from, and anything wrong with it (missing,
damaged, an older format, a rewritten ledger) means a full replay. Deleting it is
always safe.

The file holds two separately encoded parts: the brief of each key (what `plan` and
`status` show, and all that later events read) and the rest (request bodies, and the
batch-wide fields); `load_state` joins them. Each is a msgpack byte string, which a
decoder skips without parsing, so `plan` reads the briefs alone (memory-mapped: the rest
is never touched), and replays the events added since on the few keys they name
(`load_brief`).

A checkpoint is written once the ledger has grown past the last one by `MIN_BYTES` and
by a twentieth of its size (`due`): small ledgers never have one, a big one is rewritten
rarely, and a reader never replays more than about 5 % of a big ledger. A run writes one
as it goes by the same rule, and a last one when it ends. Writing is best effort (a
read-only folder just goes without).
"""

from __future__ import annotations

import glob
import mmap
import os
from pathlib import Path
from typing import Any, Iterable

import msgspec

from batchgen.durable import paused_gc
from batchgen.ledger.events import EventReader
from batchgen.ledger.lock import process_alive
from batchgen.ledger.state import PENDING, RUNNING, KeyState, LedgerState, replay

VERSION = 6  # 1: one document, no briefs; 2, 3: briefs with fewer fields; 4: KeyStates twice; 5: no reused_from
MIN_BYTES = 4 << 20
_PROBE = 256  # bytes compared at the ledger's start and just before the checkpoint's offset


class _Rest(msgspec.Struct, array_like=True, gc=False):
    """What a KeyState holds beyond its Brief."""

    body: dict[str, Any] | None
    status: int | None
    ambiguous: bool


class _Saved(msgspec.Struct):
    """With the briefs, the replayed state of the ledger's first `offset` bytes."""

    rest: list[_Rest]  # one per brief, in the same order
    uploads: dict[str, str]
    ceiling: int | None
    spent: float
    known_job_ids: list[str]


class _Checkpoint(msgspec.Struct):
    version: int
    offset: int
    lines: int
    head: bytes
    tail: bytes
    brief: bytes  # list[Brief], msgpack
    state: bytes  # _Saved (the rest of each KeyState, and the batch-wide fields), msgpack


class Brief(msgspec.Struct, array_like=True, gc=False):
    """A KeyState without its request body (nor the HTTP status and ambiguity only the
    runner reads): all that `plan` and `status` show, and all that events appended
    later read to change it. Decoded in a fraction of the time of whole KeyStates."""

    key: str
    id: str | None = None
    sample: int | None = None
    state: str = PENDING
    job_id: str | None = None
    intent_t: str | None = None
    submitted_t: str | None = None
    finished_t: str | None = None
    asset_ids: list[str] = []
    files: list[dict[str, Any]] = []
    error: str | None = None
    hint: str | None = None
    cost: float | None = None
    generated: bool = False
    reused_from: str | None = None

    @classmethod
    def of(cls, ks: KeyState) -> Brief:
        return cls(ks.key, ks.id, ks.sample, ks.state, ks.job_id, ks.intent_t, ks.submitted_t,
                   ks.finished_t, ks.asset_ids, ks.files, ks.error, ks.hint, ks.cost, ks.generated,
                   ks.reused_from)

    def key_state(self, rest: _Rest | None = None) -> KeyState:
        """The KeyState, whole with `rest`; without, exact but for the body and status
        (enough to replay later events on). Positional, in KeyState's field order:
        load_state makes 100,000 of them."""
        # Without `rest`, ambiguity follows from the brief: an intent and nothing since
        # (no jobId, no answer, no success). A resend's intent after a 429 reads it.
        ambiguous = rest.ambiguous if rest else (
            self.state == RUNNING and self.job_id is None and self.submitted_t is None
            and not self.generated)
        return KeyState(self.key, self.id, self.sample, self.state, self.job_id,
                        rest.body if rest else None, self.intent_t, self.submitted_t,
                        self.finished_t, list(self.asset_ids), list(self.files), self.error,
                        self.hint, rest.status if rest else None, self.cost,
                        ambiguous, self.generated, self.reused_from)


class _BriefCheckpoint(msgspec.Struct):
    version: int
    offset: int
    lines: int
    head: bytes
    tail: bytes
    brief: bytes


_decoder = msgspec.msgpack.Decoder(_Checkpoint)
_saved_decoder = msgspec.msgpack.Decoder(_Saved)
_brief_decoder = msgspec.msgpack.Decoder(_BriefCheckpoint)
_briefs_decoder = msgspec.msgpack.Decoder(list[Brief])


def checkpoint_path(ledger: str | os.PathLike[str]) -> Path:
    """Where the checkpoint of a ledger lives (beside it, hidden)."""
    ledger = Path(ledger)
    return ledger.with_name(f".{ledger.name}.checkpoint")


def load_state(ledger: str | os.PathLike[str], *, save: bool = True) -> LedgerState:
    """The replayed state of a ledger, starting from a valid checkpoint if there is one.

    With `save`, a long replay leaves a checkpoint for the next reader; `plan` passes
    False because it promises to write nothing.
    """
    ledger = Path(ledger)
    with paused_gc():
        start = _read_checkpoint(ledger)
        state = _state(start) if start else None
        if state is None:
            start, state = None, LedgerState()
        reader = EventReader(ledger, offset=start.offset if start else 0,
                             lines=start.lines if start else 0)
        replay(reader, state)
        if save and reader.clean and due(reader.offset - (start.offset if start else 0), reader.offset):
            save_checkpoint(ledger, state, reader.offset, reader.lines)
    return state


def due(new_bytes: int, offset: int, *, last: bool = False) -> bool:
    """Whether a ledger of `offset` bytes, `new_bytes` past its checkpoint, needs a new one.

    `last`: nothing more will be appended for a while (a run ends), so any new bytes do.
    """
    if last:
        return new_bytes > 0 and offset >= MIN_BYTES
    return new_bytes >= max(MIN_BYTES, offset // 20)


def load_brief(ledger: str | os.PathLike[str]) -> list[Brief] | None:
    """Each key's Brief (what `plan` shows), from the checkpoint plus the events appended
    since, if any; None when there is no usable checkpoint (the caller replays with
    `load_state`). Raises LedgerError for a corrupt line after the checkpoint."""
    ledger = Path(ledger)
    with paused_gc():
        try:
            with open(checkpoint_path(ledger), "rb") as handle, \
                    mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                checkpoint = _brief_decoder.decode(mapped)
            size = ledger.stat().st_size
            if checkpoint.version != VERSION or not 0 < checkpoint.offset <= size:
                return None
            if _probes(ledger, checkpoint.offset) != (checkpoint.head, checkpoint.tail):
                return None
            briefs = _briefs_decoder.decode(checkpoint.brief)
        except (OSError, ValueError, msgspec.DecodeError):  # ValueError: an empty file
            return None
        if checkpoint.offset == size:
            return briefs
        return _replay_briefs(briefs, EventReader(ledger, offset=checkpoint.offset,
                                                  lines=checkpoint.lines))


def _replay_briefs(briefs: list[Brief], events: Iterable[dict[str, Any]]) -> list[Brief]:
    """`briefs` updated by `events`: the keys the events name are replayed in full on
    KeyStates made from their briefs (every handler reads only its own key's state)."""
    events = list(events)  # at most about 5 % of the ledger (see `due`)
    named = {event.get("key") for event in events}
    by_key = {brief.key: brief for brief in briefs}
    state = LedgerState()
    state.jobs = {key: by_key[key].key_state() for key in named if key in by_key}
    replay(events, state)
    by_key.update((key, Brief.of(ks)) for key, ks in state.jobs.items())
    return list(by_key.values())


def _state(checkpoint: _Checkpoint) -> LedgerState | None:
    try:
        briefs = _briefs_decoder.decode(checkpoint.brief)
        saved = _saved_decoder.decode(checkpoint.state)
    except msgspec.DecodeError:
        return None
    if len(briefs) != len(saved.rest):
        return None
    state = LedgerState()
    state.jobs = {brief.key: brief.key_state(rest) for brief, rest in zip(briefs, saved.rest)}
    state.uploads = saved.uploads
    state.ceiling = saved.ceiling
    state.spent = saved.spent
    state.known_job_ids = set(saved.known_job_ids)
    return state


def _read_checkpoint(ledger: Path) -> _Checkpoint | None:
    try:
        checkpoint = _decoder.decode(checkpoint_path(ledger).read_bytes())
    except (OSError, msgspec.DecodeError):  # ValidationError is a DecodeError
        return None
    if checkpoint.version != VERSION or checkpoint.offset <= 0:
        return None
    head, tail = _probes(ledger, checkpoint.offset)
    if (head, tail) != (checkpoint.head, checkpoint.tail):
        return None
    return checkpoint


def _probes(ledger: Path, offset: int) -> tuple[bytes | None, bytes | None]:
    """The ledger's first bytes and those just before `offset` (None if it is shorter)."""
    try:
        with open(ledger, "rb") as handle:
            head = handle.read(min(_PROBE, offset))
            handle.seek(max(0, offset - _PROBE))
            tail = handle.read(offset - max(0, offset - _PROBE))
    except OSError:
        return None, None
    if len(tail) != offset - max(0, offset - _PROBE):
        return None, None
    return head, tail


def save_checkpoint(ledger: str | os.PathLike[str], state: LedgerState, offset: int,
                    lines: int) -> None:
    """Save `state` as the replay of the ledger's first `offset` bytes (`lines` lines).

    Best effort: a folder that cannot be written goes without, and readers replay.
    """
    ledger = Path(ledger)
    head, tail = _probes(ledger, offset)
    if head is None or tail is None:
        return
    jobs = list(state.jobs.values())
    encode = msgspec.msgpack.encode
    checkpoint = _Checkpoint(
        version=VERSION, offset=offset, lines=lines, head=head, tail=tail,
        brief=encode([Brief.of(ks) for ks in jobs]),
        state=encode(_Saved(rest=[_Rest(ks.body, ks.status, ks.ambiguous) for ks in jobs],
                            uploads=state.uploads, ceiling=state.ceiling, spent=state.spent,
                            known_job_ids=sorted(state.known_job_ids))))
    path = checkpoint_path(ledger)
    _remove_stale_temporaries(path)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(msgspec.msgpack.encode(checkpoint))
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)


def _remove_stale_temporaries(path: Path) -> None:
    """Delete the half-written checkpoints of processes killed while saving (named by
    their pid; as big as a checkpoint each, so not left to pile up)."""
    for leftover in path.parent.glob(f"{glob.escape(path.name)}.*.tmp"):
        pid = leftover.name[len(path.name) + 1:-len(".tmp")]
        if pid.isdigit() and not process_alive(int(pid)):
            leftover.unlink(missing_ok=True)
