"""Fault injection: which requests fail, and how, drawn from one seeded generator."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import TypeVar

import httpx

T = TypeVar("T")


class DroppedConnection(httpx.RemoteProtocolError):
    """Raised by the app to drop a connection mid-answer.

    In process (httpx.ASGITransport) the client sees it as the RemoteProtocolError it
    is; over a socket the server closes the connection after a partial answer, which
    the client sees as the same error.
    """

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a complete response.")


@dataclass(frozen=True)
class FaultRates:
    """Probabilities (0..1) of each injected fault."""

    server_error: float = 0.0  # an API request answers 500/502/503
    drop: float = 0.0  # an API request's connection is dropped mid-answer
    truncate: float = 0.0  # a download stops halfway
    job_failure: float = 0.0  # a created job ends in `failure`
    rate_limit: float = 0.0  # an API request answers 429 with Retry-After, whatever the load
    expire: float = 0.0  # a download is refused as expired, however young its URL
    after_create: float = 0.5  # share of generate faults that strike after the job exists

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {name} must be between 0 and 1, got {value}")


class Dice:
    """The seeded random source every simulated decision draws from."""

    def __init__(self, seed: int | str | None) -> None:
        self.rng = random.Random(seed)
        self._lock = threading.Lock()

    def chance(self, p: float) -> bool:
        if p <= 0.0:
            return False
        with self._lock:
            return self.rng.random() < p

    def uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self.rng.uniform(low, high)

    def randrange(self, stop: int) -> int:
        with self._lock:
            return self.rng.randrange(stop)

    def choice(self, options: tuple[T, ...]) -> T:
        with self._lock:
            return self.rng.choice(options)
