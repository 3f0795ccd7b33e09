"""Time as batchgen writes and reads it: UTC ISO-8601 with milliseconds and a "Z".

The ledger's `t`, the API's `createdAt`/`updatedAt`/`statusHistory` dates and the job
list's `createdAfter`/`updatedAfter` filters all use this one form; reading also takes
an offset instead of the "Z" and, with none, counts the time as UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def iso(t: float | datetime | None = None, timespec: str = "milliseconds") -> str:
    """`t` (epoch seconds or a datetime; default now) as `2026-12-02T19:40:00.123Z`
    (`timespec="seconds"`: `2026-12-02T19:40:00Z`, as the report's page dates itself)."""
    if t is None:
        moment = datetime.now(timezone.utc)
    elif isinstance(t, datetime):
        moment = t if t.tzinfo else t.replace(tzinfo=timezone.utc)
    else:
        moment = datetime.fromtimestamp(t, timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse(text: str) -> float:
    """Epoch seconds of an ISO-8601 text; ValueError if it is not one."""
    found = epoch(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"not an ISO-8601 time: {text!r}")
    return found


def epoch(value: Any) -> float | None:
    """Epoch seconds of an ISO-8601 text, a datetime or a number; None if it is none of them."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            # fromisoformat only learned the trailing "Z" in Python 3.11.
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
