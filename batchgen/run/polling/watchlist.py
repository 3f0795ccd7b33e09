"""What the batched poller knows of the jobs it waits for, apart from the calls it makes.

Each report of a job (from the list or asked alone) bounds the clock offset between client and server, and gives the job
a predicted end; a job unseen too long is asked for alone, then given up for this run.
The list's cursor moves to the newest `updatedAt` of a listing read to its end only
(`listed`): a listing stopped early leaves rows unseen behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from batchgen.jobs import FINAL_STATUSES
from batchgen.run.polling.predict import EndPredictor
from batchgen.timestamps import epoch

if TYPE_CHECKING:
    from batchgen.run.polling.batched import ListPollTiming


@dataclass
class Watch:
    """One job the poller waits for, and what it knows of its end."""

    job_id: str
    registered: float
    last_seen: float
    done: anyio.Event = field(default_factory=anyio.Event)
    final: dict[str, Any] | None = None
    error: BaseException | None = None
    unreadable: bool = False  # given up for this run: not seen for the grace period
    expected: float | None = None  # predicted end, client clock
    latest: float | None = None
    firm: bool = False  # the latest end may free the slot (`Prediction.firm`)
    overdue: bool = False  # a prediction proved wrong: keep to the gap for this job
    released: bool = False  # on_expected_end was called for it
    deferred: bool = False  # due, left unread by a listing stopped early: the next round reads it
    waiters: int = 0

    @property
    def settled(self) -> bool:
        return self.final is not None or self.error is not None or self.unreadable


class Watchlist:
    """The watched jobs by jobId, and what their reports taught."""

    def __init__(self, timing: ListPollTiming, predictor: EndPredictor):
        self.timing = timing
        self.predictor = predictor
        self.jobs: dict[str, Watch] = {}
        self._cursor: float | None = None  # server clock: newest update of a whole listing
        self._offset = math.inf  # client clock minus server clock, at most

    def updated_after(self) -> float:
        """Where the next list call starts (server clock), a little behind what was seen."""
        if self._cursor is not None:
            return self._cursor - self.timing.overlap
        # Nothing seen yet: reach back to just before the first job was watched.
        first = min(w.registered for w in self.jobs.values())
        return first - self.timing.overlap - self.timing.interval

    @property
    def started(self) -> bool:
        """A whole listing has been read: the cursor is set."""
        return self._cursor is not None

    def listed(self, jobs: list[dict[str, Any]]) -> None:
        """A listing was read to its end: everything updated up to its newest row is seen."""
        self._cursor = max((u for u in (epoch(j.get("updatedAt")) for j in jobs) if u is not None),
                           default=self._cursor)

    def due(self, now: float) -> set[str]:
        """Jobs predicted to have ended by now, not yet seen final."""
        return {w.job_id for w in self.jobs.values()
                if w.latest is not None and not w.overdue and not w.settled and now >= w.latest}

    def observe(self, job: dict[str, Any], now: float, arrived: float) -> None:
        updated = epoch(job.get("updatedAt"))
        if updated is not None:
            # The update happened before the answer arrived: this bounds the clock
            # offset from above, so predictions err late, never early.
            self._offset = min(self._offset, arrived - updated)
        watch = self.jobs.get(str(job.get("jobId")))
        if job.get("status") in FINAL_STATUSES:
            # Learnt once per job: listings overlap, so a final job is often listed again.
            if watch is not None and not watch.settled:
                self.predictor.finished(job)
                watch.last_seen, watch.final = now, job
            return
        if watch is None or watch.settled:
            return
        watch.last_seen = now
        predicted = self.predictor.observe(job)
        if predicted is not None and not watch.overdue and math.isfinite(self._offset):
            watch.expected = predicted.expected + self._offset
            watch.latest = predicted.latest + self._offset
            watch.firm = predicted.firm

    def to_ask_alone(self, started: float, list_failing: bool) -> list[Watch]:
        """Jobs the list has not reported for `stale_after` (all of them while it fails)."""
        return [w for w in self.jobs.values() if not w.settled and (
            list_failing or started - w.last_seen >= self.timing.stale_after)]

    def after_round(self, started: float, unread: set[str] = frozenset()) -> None:
        """Predictions a round proved wrong, and jobs unseen for the grace period; the
        jobs due it left `unread` (a listing stopped early) wait for the next round."""
        for watch in self.jobs.values():
            watch.deferred = watch.job_id in unread
            if (not watch.settled and not watch.deferred and watch.latest is not None
                    and started >= watch.latest):
                watch.overdue = True  # the prediction was wrong for this job
            if not watch.settled and started - watch.last_seen >= self.timing.unreadable_grace:
                watch.unreadable = True

    def take_settled(self) -> tuple[list[Watch], list[str]]:
        """Remove the settled jobs; they and the asset ids of those that succeeded."""
        finished = [w for w in self.jobs.values() if w.settled]
        asset_ids: list[str] = []
        for watch in finished:
            del self.jobs[watch.job_id]
            self.predictor.forget(watch.job_id)
            if watch.final is not None and watch.final.get("status") == "success":
                asset_ids += [str(a) for a in (watch.final.get("metadata") or {}).get("assetIds") or []]
        return finished, asset_ids
