"""The ledger as a run uses it: every event is made durable, then applied in memory.

The order matters: an event is appended (flushed and fsynced) before the in-memory
state that later decisions read is updated, so nothing is ever decided on a fact the
disk does not hold yet.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from batchgen.ledger import LedgerWriter
from batchgen.state import LedgerState


def parse_time(value: Any) -> float | None:
    """A ledger or API timestamp as POSIX seconds (None when absent or unreadable)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class RunLedger:
    """Appends events to the ledger file and keeps the replayed state in step."""

    def __init__(self, writer: LedgerWriter, state: LedgerState):
        self.writer = writer
        self.state = state

    def record(self, event: dict[str, Any], *, sync: bool = True) -> dict[str, Any]:
        """Append `event` durably (with its time), then apply it to the state."""
        written = self.writer.append(event, sync=sync)
        self.state.apply(written)
        return written
