"""Submitting a job at most once, and finding lost answers again.

The order of a submission is what makes it safe across crashes:
1. `intent` {key, body} is appended and fsynced (again before every resend after a
   429, so its time is always that of the latest call);
2. the generate call is made (never resent by the client when its outcome is unknown);
3. `submitted` {key, jobId, cost} is appended.
A key whose ledger shows an intent but no jobId (a crash between 1 and 3, kill -9, or
an ambiguous answer) is *recovered*: the API's jobs created since the intent are
listed and matched on `metadata.input`. Only a listing made long enough after the
intent for the server to have registered the call (the settle time) can prove it
never arrived (`unsent`), and only then is the job sent again.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Protocol

import anyio

from batchgen.api.client import ConnectFailed
from batchgen.run.decisions import claim, recovery_verdict
from batchgen.run.echo import echo_match
from batchgen.run.limiter import Limiter
from batchgen.errors import (AccessDenied, AmbiguousSubmission, APIError, JobRejected, RateLimited,
                             RetriableError)
from batchgen.jobs import Job, canonical_json
from batchgen.ledger.family import Family
from batchgen.ledger.state import RUNNING
from batchgen.run.polling.single import unwrap_job
from batchgen.run.journal import RunLedger
from batchgen.timestamps import epoch, iso
from batchgen.run.uploads import FrameUploads

# INFO: what a run decides (lost answers, 429s and ceilings, rejections); DEBUG: each call.
log = logging.getLogger(__name__)


class SubmitClient(Protocol):
    async def generate(self, model: str, body: dict, *, dry_run: bool = False) -> dict: ...
    def iter_jobs(self, **filters: Any) -> AsyncIterator[dict]: ...


@dataclass
class SubmitTiming:
    """Timing knobs of submission and recovery, in seconds."""

    rate_limit_wait: float = 2.0  # first wait after a 429 without Retry-After, or no connection
    rate_limit_max_wait: float = 60.0
    # After an intent, how long the API may take to register the call. Longer than the
    # client's whole time-out for one generate call (connect 10 s + write 60 s + read
    # 60 s), since a server can still create the job after the client gave up on it.
    recovery_wait: float = 150.0
    recovery_margin: float = 600.0  # list jobs created this long before the intent (clock skew)
    recovery_interval: float = 2.0  # between two listings while a key is undecided
    answer_grace: float = 30.0  # on Ctrl-C, how long a generate call in flight may finish


@dataclass
class InFlightBodies:
    """Bodies of generate calls in flight, so recovery never claims their jobs."""

    counts: Counter = field(default_factory=Counter)
    bodies: dict[str, dict] = field(default_factory=dict)

    def enter(self, body_id: str, body: dict | None = None) -> None:
        self.counts[body_id] += 1
        if body is not None:
            self.bodies[body_id] = body

    def leave(self, body_id: str) -> None:
        self.counts[body_id] -= 1
        if self.counts[body_id] <= 0:
            self.bodies.pop(body_id, None)

    def busy(self, body_id: str) -> bool:
        return self.counts[body_id] > 0

    def could_be(self, echoed: dict, besides: str) -> bool:
        """Whether a call in flight, of another body than `besides`, may have made the
        job that echoes this: a job matched only tolerantly is then not claimed yet."""
        return any(echo_match(body, echoed) is not None for body_id, body in self.bodies.items()
                   if body_id != besides and self.counts[body_id] > 0)


class Submitter:
    """Submits jobs: intent first, then generate, then the jobId."""

    def __init__(self, client: SubmitClient, ledger: RunLedger, limiter: Limiter,
                 uploads: FrameUploads, *, timing: SubmitTiming, bodies: InFlightBodies,
                 on_ceiling: Callable[[int], None] | None = None,
                 on_rate_limited: Callable[[float], None] | None = None):
        self._client = client
        self._ledger = ledger
        self._limiter = limiter
        self._uploads = uploads
        self._timing = timing
        self._bodies = bodies
        self._on_ceiling = on_ceiling
        self._on_rate_limited = on_rate_limited
        self._shields: set[anyio.CancelScope] = set()
        self.submitted = 0
        self.rate_limited = 0

    def abandon(self) -> None:
        """Stop waiting for the answers of generate calls in flight (a second Ctrl-C).

        Their keys stay ambiguous in the ledger; the next run recovers them.
        """
        for shield in list(self._shields):
            shield.cancel()

    async def submit(self, job: Job) -> str | None:
        """Submit `job` (the caller holds a slot); return its jobId.

        None means the job did not start: it was rejected (recorded as `failed`), or
        the answer was lost (the key is left ambiguous, to be recovered). AccessDenied
        (the intent closed as `unsent`) and unexpected errors propagate.
        """
        try:
            body = job.body(await self._uploads.asset_ids(job))
        except JobRejected as exc:
            self._fail(job, exc)
            return None
        return await self._send(job, body)

    async def _send(self, job: Job, body: dict) -> str | None:
        body_id = canonical_json(body)
        wait = self._timing.rate_limit_wait
        while True:
            # An intent before every call, resends after a 429 included: recovery measures
            # from the intent how long the API may still take to register the call.
            self._ledger.record({"event": "intent", "key": job.key, "id": job.id,
                                 "sample": job.sample, "body": body})
            try:
                # Shielded so that Ctrl-C lets an accepted call record its jobId; bounded
                # so that a hung call cannot hold the interruption up.
                shield = anyio.move_on_after(self._timing.answer_grace, shield=True)
                self._shields.add(shield)
                # Busy only while the call is out: waiting after a 429 (no job was made)
                # or for the limiter to let the call go, it must not stop another
                # sample's recovery, which may hold the slot this job waits for (the two
                # waited on each other for ever).
                try:
                    async with self._limiter.calling():
                        self._bodies.enter(body_id, body)
                        try:
                            with shield:
                                answer = await self._client.generate(job.model, body)
                                job_id = str(unwrap_job(answer)["jobId"])
                                self._ledger.record({"event": "submitted", "key": job.key,
                                                     "jobId": job_id,
                                                     "cost": answer.get("creativeUnitsCost")})
                                log.debug("submitted %s as %s", job.label(), job_id)
                                self.submitted += 1
                                self._limiter.accepted()
                                return job_id
                        finally:
                            self._bodies.leave(body_id)
                finally:
                    self._shields.discard(shield)
                log.info("%s: interrupted before its answer came; it is recovered from the "
                         "job list later", job.label())
                return None  # cut short: the key stays ambiguous and is recovered later
            except RateLimited as exc:
                # A 429 means the job was not created, so sending it again is safe.
                self.rate_limited += 1
                await self._rate_limited(exc, wait)
                wait = min(wait * 2, self._timing.rate_limit_max_wait)
            except JobRejected as exc:
                self._fail(job, exc)
                return None
            except AccessDenied:
                # A definite refusal: no job exists, and the batch stops.
                self._ledger.record({"event": "unsent", "key": job.key})
                raise
            except ConnectFailed:
                # Nothing left this machine (the client already retried), so the key is
                # proved unsent at once: pending if the run stops here, never "running";
                # the next try writes its own intent.
                self._ledger.record({"event": "unsent", "key": job.key})
                log.info("%s: could not connect; sending it again in %.1fs", job.label(), wait)
                await anyio.sleep(wait)
                wait = min(wait * 2, self._timing.rate_limit_max_wait)
            except (AmbiguousSubmission, RetriableError) as exc:
                log.info("%s: the answer to its generate call was lost (%s); it is recovered "
                         "from the job list, never sent blindly", job.label(), exc)
                return None

    async def _rate_limited(self, exc: RateLimited, wait: float) -> None:
        delay = exc.retry_after if exc.retry_after else wait * (0.5 + random.random() / 2)
        if self._on_rate_limited:
            self._on_rate_limited(delay)
        if exc.action_limit:
            if self._limiter.set_ceiling(int(exc.action_limit)):
                log.info("the API allows %d in flight at once (stated in a 429); keeping to it",
                         int(exc.action_limit))
                self._ledger.record({"event": "ceiling", "limit": int(exc.action_limit)})
                if self._on_ceiling:
                    self._on_ceiling(int(exc.action_limit))
        else:
            # No ceiling stated: learn a window, from how many of ours the API holds.
            self._limiter.backoff(held=self._held_by_api())
        log.info("rate limited (429): waiting %.1fs before sending again (%d in flight, "
                 "window %d)", delay, self._limiter.in_flight, self._limiter.effective)
        if self._limiter.in_flight > self._limiter.effective:
            # Too many of ours are in flight: queue again behind the others.
            self._limiter.release()
            try:
                await anyio.sleep(delay)
                await self._limiter.acquire()
            except BaseException:
                self._limiter.occupy()  # the caller gives back the slot it believes it holds
                raise
        else:
            await anyio.sleep(delay)

    def _held_by_api(self) -> int:
        """Our jobs the API holds now: submitted (or recovered), not yet reported final."""
        return sum(1 for ks in self._ledger.state.jobs.values()
                   if ks.job_id and ks.state == RUNNING and not ks.generated)

    def _fail(self, job: Job, exc: APIError) -> None:
        log.info("%s: rejected (%s): %s", job.label(), exc.status, exc.message)
        self._ledger.record({"event": "failed", "key": job.key, "error": exc.message,
                             "hint": exc.hint, "status": exc.status})


@dataclass
class _Listing:
    since: float
    started: float
    jobs: list[dict]


class Recovery:
    """Finds the jobs of ambiguous keys again by listing the API's recent jobs."""

    def __init__(self, client: SubmitClient, ledger: RunLedger, *, timing: SubmitTiming,
                 bodies: InFlightBodies, clock: Callable[[], float] = time.time,
                 family: Family | None = None):
        self._client = client
        self._family = family  # the other ledgers of the batch, whose jobs are never claimed
        self._ledger = ledger
        self._timing = timing
        self._bodies = bodies
        self._clock = clock
        self._lock = anyio.Lock()
        self._last: _Listing | None = None
        self.recovered = 0
        self.unsent = 0

    async def resolve(self, key: str) -> str | None:
        """The jobId of an ambiguous key (recorded `recovered`), or None once it is
        proved never to have reached the API (recorded `unsent`)."""
        ks = self._ledger.state.jobs[key]
        who = f"{ks.id} #{ks.sample} ({key})"
        intent_t = epoch(ks.intent_t) or self._clock()
        body_id = canonical_json(ks.body)
        seen_after = intent_t
        while True:
            async with self._lock:
                listing = await self._listing(intent_t - self._timing.recovery_margin, seen_after)
                if not self._bodies.busy(body_id):
                    verdict = recovery_verdict(key, self._claim(ks.body or {}, body_id,
                                                                listing.jobs),
                                               listed_at=listing.started, intent_at=intent_t,
                                               wait=self._timing.recovery_wait)
                    if verdict is not None:
                        self._ledger.record(verdict)
                        if verdict["event"] == "recovered":
                            log.info("%s: its lost answer found again in the job list: %s",
                                     who, verdict["jobId"])
                            self.recovered += 1
                            return verdict["jobId"]
                        log.info("%s: not in the job list %.0fs after its intent: it never "
                                 "reached the API, so it is sent", who,
                                 listing.started - intent_t)
                        self.unsent += 1
                        return None
                seen_after = listing.started
            await anyio.sleep(self._timing.recovery_interval)

    async def _listing(self, since: float, newer_than: float) -> _Listing:
        last = self._last
        if last and last.since <= since and last.started > newer_than:
            return last
        started = self._clock()
        created_after = iso(since)
        jobs = []
        while True:
            try:
                jobs = [unwrap_job(j) async for j in self._client.iter_jobs(created_after=created_after)]
                break
            except RetriableError:
                await anyio.sleep(self._timing.recovery_interval)
        self._last = _Listing(since=since, started=started, jobs=jobs)
        return self._last

    def _claim(self, body: dict, body_id: str, jobs: list[dict]) -> dict | None:
        """`decisions.claim` against the ids and lost bodies of every ledger of the batch,
        as of now."""
        known = self._ledger.state.known_job_ids
        # A job that is exactly another lost body's is that body's, never a fallback.
        others = {canonical_json(ks.body) for ks in self._ledger.state.jobs.values()
                  if ks.ambiguous and ks.body is not None}
        if self._family is not None:
            self._family.refresh()
            known, others = known | self._family.job_ids(), others | self._family.lost_bodies()
        return claim(body, jobs, known=known, others=others,
                     could_be=lambda sent: self._bodies.could_be(sent, besides=body_id))
