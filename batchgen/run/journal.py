"""The ledger as a run uses it: every event is written, then applied in memory.

The order matters: an event is appended (written to the file) before the in-memory
state that later decisions read is updated, so nothing is ever decided on a fact the
file does not hold yet. An intent is also fsynced before its generate call is sent: a
power cut must never lose the one record that stops a second payment. Every other
event may be lost to a power cut at no cost (the next run asks the API again, or
downloads again), so it waits at most `events.SYNC_WITHIN` for the next fsync, which
serves many events at once.
"""

from __future__ import annotations

from typing import Any

from batchgen import redact
from batchgen.ledger.checkpoint import due, save_checkpoint
from batchgen.ledger.events import LedgerWriter
from batchgen.ledger.state import LedgerState


_API_WORDS = ("error", "hint")
_SYNCED_AT_ONCE = frozenset({"intent", "run", "end"})


class RunLedger:
    """Appends events to the ledger file and keeps the replayed state in step.

    The state is the replay of the whole file at every moment, so it is also saved as
    the replay checkpoint as the ledger grows (`checkpoint.due`) and when the run ends:
    `status` and `plan` after a crash then replay only the last few percent.
    """

    def __init__(self, writer: LedgerWriter, state: LedgerState):
        self.writer = writer
        self.state = state
        self._checkpointed = 0  # ledger size at this run's last checkpoint

    def record(self, event: dict[str, Any]) -> dict[str, Any]:
        """Append `event` (with its time), then apply it to the state; see the module
        docstring for when it is fsynced.

        The API's words (`error`, `hint`) are untrusted text: credentials they echo are
        redacted here, the one door every failure takes into the ledger."""
        for name in _API_WORDS:
            if isinstance(event.get(name), str):
                event = {**event, name: redact.text(event[name])}
        written = self.writer.append(event, sync=event["event"] in _SYNCED_AT_ONCE)
        self.state.apply(written)
        self._save()
        return written

    def save_checkpoint(self) -> None:
        """Save the state as the checkpoint of the ledger as it is now (if big enough to
        have one): at the end of a run, so reading it afterwards replays nothing."""
        self._save(last=True)

    def _save(self, *, last: bool = False) -> None:
        size = self.writer.size
        if due(size - self._checkpointed, size, last=last):
            save_checkpoint(self.writer.path, self.state, size, self.writer.lines)
            self._checkpointed = size
