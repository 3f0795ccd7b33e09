"""The simulated API's world: jobs and assets, with status derived from the clock.

Nothing runs in the background. A job draws its duration (in simulated seconds) when
it is created; its status, progress and history at any moment follow from
`(now - created) * time_scale` against that duration. Timestamps are real wall-clock
times, so a client's `createdAfter`/`updatedAfter` compare with its own clock.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Where each running status starts, as a fraction of the job's duration.
PHASES: tuple[tuple[str, float], ...] = (
    ("pending", 0.0),
    ("queued", 0.03),
    ("warming-up", 0.12),
    ("in-progress", 0.20),
    ("finalizing", 0.90),
)
PROGRESS_STEPS = 10  # in-progress reports progress in tenths, each step is an update

# Who the simulated team's jobs and assets belong to.
AUTHOR_ID = "0f5e3a1c9b7d4e2fa6c8b0d1e3f5a7c9"
OWNER_ID = "team_SimulatedTeam00000000"

FAILURE_MESSAGES = (
    ("The provider failed to generate the video", "Try again; failed jobs are refunded."),
    ("Content moderation rejected the output", "Rephrase the prompt and submit again."),
)


def phases(duration: float, queue: float | None, stall: float) -> tuple[tuple[str, float], ...]:
    """Where each running status of one job starts, as fractions of its whole life.

    Without a drawn `queue` (simulated seconds before `in-progress`) the job keeps the
    fixed PHASES shares of `duration`. With one, the job waits `queue` (10 % pending, then
    queued, the last 40 % warming up), runs in progress for 90 % of the rest and
    finalizes; `stall` more seconds are spent in `queued`, lengthening its life, so no
    status starts at the same share of every job's duration.
    """
    if queue is None and not stall:
        return PHASES
    queue = 0.2 * duration if queue is None else min(queue, 0.8 * duration)
    life = duration + stall
    starts = (0.0, 0.1 * queue, 0.6 * queue + stall, queue + stall,
              queue + stall + 0.9 * (duration - queue))
    return tuple((status, start / life) for (status, _), start in zip(PHASES, starts))


def new_id(rng: random.Random, prefix: str, length: int = 24) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return prefix + "".join(rng.choice(alphabet) for _ in range(length))


@dataclass
class SimAsset:
    """A stored file: an uploaded image or a generated video."""

    id: str
    kind: str  # "video" | "image"
    mime_type: str
    data: bytes
    created: float
    name: str
    job_id: str | None = None
    width: int | None = None
    height: int | None = None
    first_download: float | None = None
    ready: float = 0.0  # real time before which it is `pending`, without a URL

    def pending(self, now: float) -> bool:
        return now < self.ready


@dataclass
class SimJob:
    """A generation job; `end` is the real time it reaches its final status."""

    job_id: str
    body: dict[str, Any]
    created: float
    duration: float  # simulated seconds from creation to its final status
    time_scale: float
    cost: int
    asset_ids: list[str]
    failure: tuple[str, str] | None = None  # (error, hint) if it is going to fail
    fail_at: float = 1.0  # fraction of the duration at which a failing job fails
    phases: tuple[tuple[str, float], ...] = PHASES  # this job's status starts (see `phases`)
    job_type: str = "custom"
    readable_after: float = 0.0  # real seconds after creation before reads find the job
    asset_delay: float = 0.0  # real seconds after success its videos stay `pending`
    model_id: str = ""  # the model it was generated with

    @property
    def end(self) -> float:
        fraction = self.fail_at if self.failure else 1.0
        return self.created + self.duration * fraction / self.time_scale

    def at(self, fraction: float) -> float:
        """Real time at which the job reaches `fraction` of its duration."""
        return self.created + self.duration * fraction / self.time_scale

    def fraction(self, now: float) -> float:
        return max(0.0, (now - self.created) * self.time_scale / self.duration)

    def history(self, now: float) -> list[tuple[str, float]]:
        """(status, real time) of every status reached by `now`, oldest first."""
        x = self.fraction(now)
        limit = self.fail_at if self.failure else 1.0
        reached = [(s, self.at(f)) for s, f in self.phases if f <= min(x, limit) and f < limit]
        if x >= limit:
            reached.append(("failure" if self.failure else "success", self.end))
        return reached

    def progress(self, now: float) -> tuple[float, float]:
        """(progress 0..1, real time of the last progress step) at `now`."""
        x = min(self.fraction(now), self.fail_at if self.failure else 1.0)
        if not self.failure and x >= 1.0:
            return 1.0, self.end
        starts = dict(self.phases)
        begin, finalizing = starts["in-progress"], starts["finalizing"]
        if x < begin:
            return 0.0, self.created
        span = finalizing - begin
        step = min(PROGRESS_STEPS, int((x - begin) / span * PROGRESS_STEPS))
        reached = self.at(begin + span * step / PROGRESS_STEPS)
        return round(step / PROGRESS_STEPS * 0.99, 2), reached

    def status(self, now: float) -> str:
        return self.history(now)[-1][0]

    def updated(self, now: float) -> float:
        return max(self.history(now)[-1][1], self.progress(now)[1])

    def readable(self, now: float) -> bool:
        """Whether `GET /jobs/{id}` and the list show the job yet."""
        return now >= self.created + self.readable_after

    def in_flight(self, now: float) -> bool:
        return self.created <= now < self.end


@dataclass
class Counters:
    """What tests read to check how a client behaved."""

    generate_calls: Counter = field(default_factory=Counter)  # canonical body -> real generate calls
    jobs_created: Counter = field(default_factory=Counter)  # canonical body -> jobs created
    calls: Counter = field(default_factory=Counter)  # "METHOD /route" -> calls
    rate_limited: int = 0  # 429s sent (over the ceiling or injected)
    expired: int = 0  # downloads refused as expired (truly or injected)
    server_errors: int = 0  # injected 5xx sent
    dropped: int = 0  # connections dropped (API and downloads)
    unauthorized: int = 0  # 401s sent


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it, for contract tests (credentials left out)."""

    method: str
    path: str  # as sent: /v1/..., /cdn/... or /upload-parts/...
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names, without `authorization`
    body: Any  # the JSON body; None without one, or for a body that is not JSON


@dataclass(frozen=True)
class JobTiming:
    """Server-side timing of one job, for benchmarks (all real epoch seconds)."""

    job_id: str
    created: float
    finished: float  # when it reached success or failure
    duration: float  # simulated seconds drawn for it
    status: str  # final status it reaches
    first_download: float | None  # first download of its first asset, if any


def peak_overlap(intervals: list[tuple[float, float]]) -> int:
    """Most intervals [start, end) open at the same instant."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
                    key=lambda ev: (ev[0], ev[1]))
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak
