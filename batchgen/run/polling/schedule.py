"""When the batched poller asks, and when it frees a slot early.

The rules are those of `batched.py`'s docstring: a list call just after a cluster of
latest predicted ends (at most `gather_max` long), else at half a typical job's life,
between `min_gap` and `interval`; a slot freed `release_margin` after a job's latest
predicted end, a margin each blamed 429 doubles until the third turns it off. Only the
clock and the predictions decide, so it is tested without any API.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from batchgen.run.polling.predict import EndPredictor
from batchgen.run.polling.watchlist import Watch

if TYPE_CHECKING:
    from batchgen.run.polling.batched import ListPollTiming

_REFUSALS = 3  # 429s blamed on early releases before they are turned off


class Schedule:
    """The timing of the poller's rounds and early releases over its watched jobs."""

    def __init__(self, timing: ListPollTiming, predictor: EndPredictor, watched: dict[str, Watch],
                 clock: Callable[[], float], on_expected_end: Callable[[str], None] | None):
        self.timing = timing
        self.predictor = predictor
        self.on_expected_end = on_expected_end
        self.early_release = True
        self.early_releases = 0
        self.refusals = 0
        self._release_margin = timing.release_margin
        self._watched = watched
        self._clock = clock
        self._first_watch: float | None = None
        self._last_round = -math.inf

    def watching(self, now: float) -> None:
        """A job is now watched: the first jobs just started, so the gap starts from them."""
        if self._first_watch is None:
            self._first_watch = self._last_round = now

    def round_at(self, now: float) -> None:
        """A list call starts now."""
        self._last_round = now

    def next_round(self) -> float:
        """When the next list call is due (client clock)."""
        t = self.timing
        gap = self._gap()
        due = self._last_round + gap
        # A job a listing stopped early left unread waits for the next round, at most
        # gather_max from the last: no call of its own, nor for its past end.
        deferred = any(w.deferred for w in self._watched.values())
        if deferred:
            due = min(due, self._last_round + t.gather_max)
        predicted = [w for w in self._watched.values()
                     if w.latest is not None and not w.overdue and not w.deferred]
        ends = sorted(w.latest for w in predicted)
        if ends:
            gather = min(gap, self._gather())
            cluster = [e for e in ends if e <= ends[0] + gather]
            due = min(due, cluster[-1] + t.margin)
        # An end whose slot only this call can free (its prediction is not firm enough to
        # free it early) waits for no company: the next job waits with it.
        holding = [w.latest for w in predicted if self._frees_early() and not w.firm]
        if holding:
            due = min(due, min(holding) + t.margin)
        return max(due, self._last_round + t.min_gap)

    def _frees_early(self) -> bool:
        return self.on_expected_end is not None and self.early_release

    def _gap(self) -> float:
        """The pace for jobs nobody can predict: half a typical life, or before any job
        finished, a third of the time the first one has been watched: calls 1.5x further
        apart each time, so the first end is seen at most a third of its life late (at half,
        a job of 2.2 s waited for the call at 4 s)."""
        t = self.timing
        life = self.predictor.typical_life()
        if life is not None:
            gap = life / 2
        else:
            gap = (self._clock() - (self._first_watch or self._clock())) / 3
        return min(t.interval, max(t.min_gap, gap))

    def _gather(self) -> float:
        """How long it takes about `ends_per_round` of the watched jobs to end."""
        life = self.predictor.typical_life()
        if life is None:
            return self.timing.min_gap
        gather = self.timing.ends_per_round * life / max(1, len(self._watched))
        return min(self.timing.gather_max, gather)

    def next_release(self) -> float:
        if not self._frees_early():
            return math.inf
        return min((w.latest + self._release_margin for w in self._watched.values()
                    if self._releasable(w)), default=math.inf)

    @staticmethod
    def _releasable(watch: Watch) -> bool:
        return (watch.latest is not None and watch.firm and not watch.overdue
                and not watch.released and not watch.settled)

    def release_due(self) -> None:
        """Tell the runner which jobs have (by prediction) just ended: their slots are free."""
        if not self._frees_early():
            return
        now = self._clock()
        for watch in list(self._watched.values()):
            if self._releasable(watch) and now >= watch.latest + self._release_margin:
                watch.released = True
                self.early_releases += 1
                self.on_expected_end(watch.job_id)

    def refused(self) -> None:
        """The API refused a submission after slots were freed by prediction: the
        predictions were early. Wait twice as long past them; the third time, stop.
        Without an early release so far, the refusal is not about predictions."""
        if not self.early_releases:
            return
        self.refusals += 1
        self._release_margin *= 2
        if self.refusals >= _REFUSALS:
            self.early_release = False
