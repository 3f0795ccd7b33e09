"""How many generations may be in flight at once: one small, explicit, adaptive limiter.

A slot is held from just before a generate call until the job is final on the server
(downloads do not hold one). The limit is the smallest of:
- what the user asked for (`--concurrency`);
- the ceiling the API stated in a 429 (`details.actionLimit`): once stated, held for
  the rest of the run, and kept in the ledger so the next run starts there;
- until a ceiling is known, a window that starts small and grows by one with every
  accepted submission (a slow start: a burst of `--concurrency` calls above an unknown
  ceiling would all be refused); a 429 that states no ceiling shrinks it to the
  number of our jobs the API accepted, after which it probes one slot higher after
  a quiet spell, waiting twice as long after each probe the API refuses;
- during that slow start, at most SLOW_START_CALLS generate calls unanswered at once
  (`calling()`): the window grows with every answer, so a burst sent on a grown window
  would cross an unstated ceiling by the whole burst, each call of it a 429.
Waiters are served first come, first served, so jobs start in manifest order.
"""

from __future__ import annotations

import contextlib
from collections import deque
from typing import AsyncIterator

import anyio

SLOW_START_CALLS = 2


class Limiter:
    """Counts generations in flight and makes callers wait for a free slot."""

    def __init__(self, limit: int, *, ceiling: int | None = None, probe_after: int = 8,
                 start: int = 4):
        if limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.limit = limit
        self.ceiling = ceiling
        self.window = min(limit, start)  # while no ceiling is stated
        self._start = self.window
        self._slow_start = True  # grow by one per accepted call until the first 429
        self.in_flight = 0
        self.peak = 0
        self._probe_after = probe_after  # accepted submissions before probing one higher
        self._quiet = 0  # accepted submissions since the window last moved
        self._probing = False  # the window was raised and the API has not yet taken that many
        self._refused = False  # a 429 shrank the window and no call was accepted since
        self._waiters: deque[anyio.Event] = deque()
        self._calls = 0  # generate calls sent and not answered yet
        self._call_waiters: deque[anyio.Event] = deque()

    @property
    def exploring(self) -> bool:
        """No ceiling is stated and the window is being pushed up (slow start, a probe one
        higher, or the other calls sent before the 429 that ended them came back): a 429
        now is the API saying where its limit is, nothing more."""
        return self.ceiling is None and (self._slow_start or self._probing or self._refused)

    @property
    def effective(self) -> int:
        """How many generations may be in flight now: never above a stated ceiling."""
        if self.ceiling is not None:
            return max(1, min(self.limit, self.ceiling))
        return max(1, min(self.limit, self.window))

    async def acquire(self) -> None:
        """Wait for a free slot and take it."""
        if not self._waiters and self.in_flight < self.effective:
            self._take()
            return
        granted = anyio.Event()
        self._waiters.append(granted)
        try:
            await granted.wait()
        except BaseException:
            if granted.is_set():
                # The slot was handed over just as we were cancelled: give it back.
                self.release()
            else:
                self._waiters.remove(granted)
            raise

    @contextlib.asynccontextmanager
    async def calling(self) -> AsyncIterator[None]:
        """Around one generate call made with a slot held: while the slow start looks for
        an unstated ceiling, waits until fewer than SLOW_START_CALLS calls are unanswered.
        A call is never sent while more slots are held than the window allows (a 429 or a
        stated ceiling shrank it since the slot was taken): the slot is queued for again
        first, so the calls on their way are not all sent past the ceiling just found."""
        while True:
            if self.ceiling is None and self._slow_start and self._calls >= SLOW_START_CALLS:
                turn = anyio.Event()
                self._call_waiters.append(turn)
                try:
                    await turn.wait()
                finally:
                    if turn in self._call_waiters:
                        self._call_waiters.remove(turn)
            elif self.in_flight > self.effective:
                self.release()
                try:
                    await self.acquire()
                except BaseException:
                    self.occupy()  # the caller gives back the slot it believes it holds
                    raise
            else:
                break
        self._calls += 1
        try:
            yield
        except BaseException:
            # Refused or lost: whoever handles it (`backoff()` for a 429) decides first;
            # the calls held back are woken by that, or by the next slot given back.
            self._calls -= 1
            raise
        self._calls -= 1
        self._wake_calls()

    def occupy(self) -> None:
        """Count a generation that is already in flight (found in the ledger), without waiting.

        It may take the count above the limit; new submissions then wait until
        enough of those jobs finish.
        """
        self._take()

    def release(self) -> None:
        """Give a slot back (the job is final, or it never reached the API)."""
        self.in_flight -= 1
        self._wake()

    def set_ceiling(self, ceiling: int) -> bool:
        """Apply a ceiling the API stated; True when it changed the limit."""
        changed = ceiling != self.ceiling
        self.ceiling = ceiling
        self._wake()
        return changed

    def backoff(self, held: int | None = None) -> None:
        """A 429 that states no ceiling: shrink the window to what the API accepted.

        The caller still holds the slot of the refused call, and the slots of calls
        still unanswered or held back by `calling()` are no jobs of the API's either, so
        it held at most `in_flight - 1 - those` of ours; `held`, when the caller knows
        it, is how many of our jobs the API holds (submitted and not final).
        """
        if self.ceiling is not None:
            return
        if self._probing:
            self._probe_after *= 2  # that probe was refused: wait longer before the next
            self._probing = False
        most = self.in_flight - 1
        if self._slow_start:
            # The 429 that ends the slow start: the API holds what it accepted, not the
            # slots of calls on their way. Never below the start window: a 429 that early
            # may be the API's momentary load, not its ceiling. Later 429s (often the API
            # being busy at random) shrink the window by one at a time, as before.
            most -= self._calls + len(self._call_waiters)
            if held is not None:
                most = max(min(most, held), self._start)
        self._slow_start = False
        self._refused = True
        self.window = max(1, most)
        self._quiet = 0
        self._wake_calls()

    def accepted(self) -> None:
        """A generate call was accepted: grow the window (slow start) or probe one higher."""
        if self.ceiling is not None:
            return
        self._refused = False
        if self._slow_start:
            if self.window < self.limit:
                self.window += 1
                self._wake()
            return
        if self.in_flight >= self.window:
            self._probing = False  # the API took as many as the window allows
        self._quiet += 1
        if self._quiet >= self._probe_after and self.window < self.limit:
            self._quiet = 0
            self.window += 1
            self._probing = True
            self._wake()

    def _take(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.effective:
            self._take()
            self._waiters.popleft().set()
        self._wake_calls()

    def _wake_calls(self) -> None:
        while self._call_waiters:
            self._call_waiters.popleft().set()
