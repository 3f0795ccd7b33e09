"""When will a running job end? Learnt from what the API reports, never assumed.

A job in `in-progress` reports its `progress` (0..1) and, in `updatedAt`, when that
progress was reached; `statusHistory` says when it entered `in-progress`. Together
they give the pace of its run: `T = (updatedAt - inProgressAt) / progress`, the time
the run would take at that pace. How the job's end relates to that pace is learnt
from the jobs that succeeded: each one gives `rho = (end - inProgressAt) / T` from
the last pace seen for it. A running job is then expected to end at
`inProgressAt + median(rho) * T`, and at the latest at `inProgressAt + max(rho) * T`
(the last 50 samples). One finished job is enough to time list calls by (a wrong
guess costs one call); the latest bound may free a slot only once it rests on
MIN_SAMPLES jobs (`Prediction.firm`): a wrong one costs a 429.

Nothing here knows at what share of its life a job changes status, how long it
queues or how its progress is stepped: an API whose progress says little gives
scattered samples, hence late bounds, hence no early slot release.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from typing import Any

from batchgen.timestamps import epoch

_SAMPLES = 50  # finished jobs remembered
MIN_SAMPLES = 3  # before a bound may free a slot


@dataclass(frozen=True)
class Pace:
    """The latest pace seen for one running job (server clock, epoch seconds)."""

    started: float  # entered in-progress
    run: float  # T: how long its run takes at the reported pace


@dataclass(frozen=True)
class Prediction:
    """When a job should end (server clock): expected, and at the latest."""

    expected: float
    latest: float
    firm: bool = True  # rests on at least MIN_SAMPLES finished jobs


class EndPredictor:
    """Learns how jobs end from the finished ones and predicts the running ones."""

    def __init__(self) -> None:
        self._paces: dict[str, Pace] = {}
        self._rho: deque[float] = deque(maxlen=_SAMPLES)
        self._lives: deque[float] = deque(maxlen=_SAMPLES)

    @property
    def samples(self) -> int:
        return len(self._rho)

    def observe(self, job: dict[str, Any]) -> Prediction | None:
        """Record what a running job reports; its predicted end if one can be made."""
        job_id = str(job.get("jobId"))
        pace = _pace(job)
        if pace is not None:
            self._paces[job_id] = pace
        else:
            pace = self._paces.get(job_id)
        if pace is None or not self._rho:
            return None
        return Prediction(pace.started + statistics.median(self._rho) * pace.run,
                          pace.started + max(self._rho) * pace.run,
                          firm=len(self._rho) >= MIN_SAMPLES)

    def finished(self, job: dict[str, Any]) -> None:
        """Learn from a final job (only successes teach how runs end); forget its pace."""
        pace = self._paces.pop(str(job.get("jobId")), None)
        if job.get("status") != "success":
            return
        history = history_of(job)
        end = next((t for s, t in reversed(history) if s == "success"), None)
        created = epoch(job.get("createdAt"))
        if end is None:
            return
        if created is not None and end > created:
            self._lives.append(end - created)
        if pace is not None and end > pace.started:
            self._rho.append((end - pace.started) / pace.run)

    def forget(self, job_id: str) -> None:
        self._paces.pop(job_id, None)

    def typical_life(self) -> float | None:
        """The median time from creation to success of the jobs seen finishing."""
        return statistics.median(self._lives) if self._lives else None


def _pace(job: dict[str, Any]) -> Pace | None:
    try:
        progress = float(job.get("progress") or 0)
    except (TypeError, ValueError):
        return None
    started = next((t for s, t in history_of(job) if s == "in-progress"), None)
    updated = epoch(job.get("updatedAt"))
    if started is None or updated is None or not 0 < progress <= 1 or updated <= started:
        return None
    return Pace(started, (updated - started) / progress)


def history_of(job: dict[str, Any]) -> list[tuple[str, float]]:
    """(status, epoch seconds) of the job's statusHistory, in its order."""
    out = []
    for entry in job.get("statusHistory") or []:
        t = epoch(entry.get("date")) if isinstance(entry, dict) else None
        if t is not None:
            out.append((str(entry.get("status")), t))
    return out

