"""How many generations may be in flight at once: one small, explicit, adaptive limiter.

A slot is held from just before a generate call until the job is final on the server
(downloads do not hold one). The limit is the smallest of:
- what the user asked for (`--concurrency`);
- the ceiling the API stated, or until one is, the window searched for (ceiling.py);
- during the window's slow start, at most SLOW_START_CALLS generate calls unanswered
  at once (`calling()`): the window grows with every answer, so a burst sent on a grown
  window would cross an unstated ceiling by the whole burst, each call of it a 429.
Waiters are served first come, first served, so jobs start in manifest order.
"""

from __future__ import annotations

import contextlib
from collections import deque
from typing import AsyncIterator

import anyio

from batchgen.run.ceiling import CeilingSearch

SLOW_START_CALLS = 2


class Limiter:
    """Counts generations in flight and makes callers wait for a free slot."""

    def __init__(self, limit: int, *, ceiling: int | None = None, probe_after: int = 8,
                 start: int = 4):
        if limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.search = CeilingSearch(limit, ceiling=ceiling, probe_after=probe_after, start=start)
        self.in_flight = 0
        self.peak = 0
        self._waiters: deque[anyio.Event] = deque()
        self._calls = 0  # generate calls sent and not answered yet
        self._call_waiters: deque[anyio.Event] = deque()

    @property
    def ceiling(self) -> int | None:
        """The ceiling the API stated, if it did."""
        return self.search.ceiling

    @property
    def exploring(self) -> bool:
        """The window is being pushed up (`CeilingSearch.searching`): a 429 now is the API
        saying where its limit is, nothing more."""
        return self.search.searching

    @property
    def effective(self) -> int:
        """How many generations may be in flight now: never above a stated ceiling."""
        return self.search.allowed

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
            if self.ceiling is None and self.search.slow_start and self._calls >= SLOW_START_CALLS:
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
        changed = ceiling != self.search.ceiling
        self.search.ceiling = ceiling
        self._wake()
        return changed

    def backoff(self, held: int | None = None) -> None:
        """A 429 that states no ceiling: shrink the window to what the API accepted.

        The caller still holds the slot of the refused call, and the slots of calls
        still unanswered or held back by `calling()` are no jobs of the API's either, so
        it held at most `in_flight - 1 - those` of ours; `held`, when the caller knows
        it, is how many of our jobs the API holds (submitted and not final).
        """
        self.search.refused(self.in_flight - 1, on_the_way=self._calls + len(self._call_waiters),
                            held=held)
        self._wake_calls()

    def accepted(self) -> None:
        """A generate call was accepted: grow the window (slow start) or probe one higher."""
        if self.search.accepted(self.in_flight):
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
