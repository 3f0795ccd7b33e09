"""How many generations the API takes at once, as far as a run knows: the ceiling it
stated, or else a window found by trying.

- The ceiling the API stated in a 429 (`details.actionLimit`): once stated, held for
  the rest of the run, and kept in the ledger so the next run starts there.
- Until a ceiling is known, a window that starts small and grows by one with every
  accepted submission (a slow start: a burst of `--concurrency` calls above an unknown
  ceiling would all be refused); a 429 that states no ceiling shrinks it to the
  number of our jobs the API accepted, after which it probes one slot higher after
  a quiet spell, waiting twice as long after each probe the API refuses.

No slots, no waiting: `Limiter` (limiter.py) counts those against `allowed`.
"""

from __future__ import annotations


class CeilingSearch:
    """The stated ceiling, or the window searched for under a user's `limit`."""

    def __init__(self, limit: int, *, ceiling: int | None = None, probe_after: int = 8,
                 start: int = 4):
        self.limit = limit
        self.ceiling = ceiling
        self.window = min(limit, start)  # while no ceiling is stated
        self._start = self.window
        self.slow_start = True  # grow by one per accepted call until the first 429
        self._probe_after = probe_after  # accepted submissions before probing one higher
        self._quiet = 0  # accepted submissions since the window last moved
        self._probing = False  # the window was raised and the API has not yet taken that many
        self._refused = False  # a 429 shrank the window and no call was accepted since

    @property
    def searching(self) -> bool:
        """No ceiling is stated and the window is being pushed up (slow start, a probe one
        higher, or the other calls sent before the 429 that ended them came back)."""
        return self.ceiling is None and (self.slow_start or self._probing or self._refused)

    @property
    def allowed(self) -> int:
        """How many generations may be in flight: never above a stated ceiling."""
        if self.ceiling is not None:
            return max(1, min(self.limit, self.ceiling))
        return max(1, min(self.limit, self.window))

    def refused(self, most: int, *, on_the_way: int, held: int | None) -> None:
        """A 429 that states no ceiling, when the API held at most `most` of our jobs, or
        `most - on_the_way` if the calls still on their way are not among them; `held`,
        when known, is how many of our jobs the API holds (submitted and not final)."""
        if self.ceiling is not None:
            return
        if self._probing:
            self._probe_after *= 2  # that probe was refused: wait longer before the next
            self._probing = False
        if self.slow_start:
            # The 429 that ends the slow start: the API holds what it accepted, not the
            # slots of calls on their way. Never below the start window: a 429 that early
            # may be the API's momentary load, not its ceiling. Later 429s (often the API
            # being busy at random) shrink the window by one at a time, as before.
            most -= on_the_way
            if held is not None:
                most = max(min(most, held), self._start)
        self.slow_start = False
        self._refused = True
        self.window = max(1, most)
        self._quiet = 0

    def accepted(self, in_flight: int) -> bool:
        """A generate call was accepted with `in_flight` slots held; True when the window grew."""
        if self.ceiling is not None:
            return False
        self._refused = False
        if self.slow_start:
            if self.window < self.limit:
                self.window += 1
                return True
            return False
        if in_flight >= self.window:
            self._probing = False  # the API took as many as the window allows
        self._quiet += 1
        if self._quiet >= self._probe_after and self.window < self.limit:
            self._quiet = 0
            self.window += 1
            self._probing = True
            return True
        return False
