"""The retry policy of idempotent calls: capped exponential backoff with jitter."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Awaitable, Callable, TypeVar

import anyio

from batchgen.errors import RetriableError

T = TypeVar("T")
log = logging.getLogger("batchgen.api")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before trying an idempotent call again.

    The n-th retry waits `min(cap, base * 2**(n-1))`, shortened by up to `jitter` of
    itself at random (so many clients do not retry in lockstep), and never less than
    the server's Retry-After (itself capped at `max_retry_after`).
    """

    attempts: int = 5  # tries in all, the first included
    base: float = 0.5
    cap: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.cap < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy needs attempts >= 1, base and cap >= 0, 0 <= jitter <= 1")

    def delay(self, retry: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        backoff = min(self.cap, self.base * 2 ** (retry - 1))
        backoff *= 1 - self.jitter * (rng or random).random()
        if retry_after is not None:
            return max(backoff, min(retry_after, self.max_retry_after))
        return backoff


NO_RETRY = RetryPolicy(attempts=1)


async def call_with_retry(call: Callable[[], Awaitable[T]], policy: RetryPolicy, *,
                          what: str = "request",
                          retry_on: tuple[type[BaseException], ...] = (RetriableError,),
                          sleep: Callable[[float], Awaitable[None]] = anyio.sleep) -> T:
    """`await call()`, retrying `retry_on` errors as `policy` says; the last error propagates."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except retry_on as exc:
            if attempt == policy.attempts or not getattr(exc, "should_retry", True):
                raise
            wait = policy.delay(attempt, getattr(exc, "retry_after", None))
            log.debug("retrying %s in %.2fs after %s", what, wait, type(exc).__name__)
            await sleep(wait)
    raise AssertionError("unreachable: the loop returns or raises")
