"""Taking each job of a run through its steps: recover, submit, poll, download.

`JobDriver` runs one task per job in a task group, each holding a `Limiter` slot while
its generation is in flight; `decisions.next_step` decides every step from the ledger, so a
job that cannot go on (an API error, an unreadable job) just stops where the next run
picks it up.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import anyio

from batchgen.errors import AccessDenied, APIError, AssetNotReady, JobRejected
from batchgen.jobs import Job
from batchgen.ledger.family import Family
from batchgen.ledger.state import FAILED, KeyState
from batchgen.run.decisions import Step, final_event, next_step, rejected_event
from batchgen.run.download import Downloader, DownloadFailed
from batchgen.run.holds import BudgetHolds
from batchgen.run.journal import RunLedger
from batchgen.run.limiter import Limiter
from batchgen.run.polling.single import Poller
from batchgen.run.progress import Progress
from batchgen.run.submit import Recovery, Submitter


class EarlyRelease:
    """Slots of polled jobs, given to the next job as soon as the poller predicts a
    job's end (`expected_end`), and never released twice."""

    def __init__(self, limiter: Limiter):
        self._limiter = limiter
        self._polling: set[str] = set()  # jobIds whose slot is held while they are polled
        self._released: set[str] = set()

    def expected_end(self, job_id: str) -> None:
        """The poller predicts this job has just ended: its slot can take the next job."""
        if job_id in self._polling and job_id not in self._released:
            self._released.add(job_id)
            self._limiter.release()

    def watch(self, job_id: str) -> None:
        self._polling.add(job_id)

    def unwatch(self, job_id: str) -> bool:
        """Stop watching the job; True if its slot already went to the next job."""
        self._polling.discard(job_id)
        if job_id in self._released:
            self._released.discard(job_id)
            return True
        return False


class Fetches:
    """The download step: a finished job's missing files, a few jobs at a time."""

    def __init__(self, downloader: Downloader, describe: Callable[[Job], str], concurrency: int):
        self._downloader = downloader
        self._describe = describe
        self._slots = anyio.Semaphore(concurrency)
        self.errors: list[str] = []

    async def download(self, job: Job, progress: Progress, *, counted: bool = False) -> None:
        """Fetch the job's missing files; `counted`: the progress already counts it done."""
        for index, asset_id in await self._downloader.folder.missing(job):
            try:
                # A pending video is waited for without holding a download slot.
                asset = await self._downloader.wait_ready(job, index, asset_id)
                async with self._slots:
                    path = await self._downloader.fetch(job, index, asset_id, asset)
            except DownloadFailed as exc:
                self.errors.append(f"{self._describe(job)}: {exc}")
                progress.message(
                    f"not downloaded yet for {self._describe(job)}: {exc}"
                    if isinstance(exc, AssetNotReady) else
                    f"download failed for {self._describe(job)}: {exc}; the next run tries again")
                return
            progress.downloaded(job, os.path.relpath(path))
        if not counted:
            progress.finished(job)

    async def verify_done(self, jobs: list[Job], progress: Progress) -> None:
        """Files of finished jobs that went missing or were altered are fetched again."""
        for job in jobs:
            if await self._downloader.folder.missing(job):
                progress.message(f"{self._describe(job)}: a file is missing or altered; "
                                 "fetching it again")
                await self.download(job, progress, counted=True)


class JobDriver:
    """Drives every job of a run to its end, or to where the next run goes on."""

    def __init__(self, *, ledger: RunLedger, limiter: Limiter, submitter: Submitter,
                 recovery: Recovery, poller: Poller, holds: BudgetHolds, fetches: Fetches,
                 release: EarlyRelease, family: Family, describe: Callable[[Job], str],
                 on_denied: Callable[[AccessDenied], None]):
        self.ledger = ledger
        self.limiter = limiter
        self.submitter = submitter
        self.recovery = recovery
        self.poller = poller
        self.holds = holds
        self.fetches = fetches
        self.release = release
        self.family = family
        self.describe = describe
        self.on_denied = on_denied
        # Keys this run leaves alone: done, running or failed in another folder of the batch.
        self.elsewhere: dict[str, tuple[KeyState, Path]] = {}
        self.stopping = False  # no new submissions
        self.progress: Progress | None = None
        self._work: anyio.CancelScope | None = None

    def next_step(self, job: Job, *, retry_failed: bool) -> Step:
        """`next_step` from this folder's ledger, unless it would submit a key another
        folder of the batch already sent (then the key goes to `elsewhere`)."""
        step = next_step(job, self.ledger.state.jobs.get(job.key), retry_failed=retry_failed)
        if step is Step.SUBMIT:
            found = self.family.best(job.key)
            if found is not None and not (retry_failed and found[0].state == FAILED):
                self.elsewhere[job.key] = found
        return step

    def stop(self) -> None:
        """Submit nothing more and cancel every job's task."""
        self.stopping = True
        if self._work is not None:
            self._work.cancel()

    async def drive_all(self, plan: list[tuple[Job, Step]], progress: Progress) -> None:
        self.progress = progress
        async with anyio.create_task_group() as tg:
            self._work = tg.cancel_scope
            # Jobs already in flight on the server take their slots first, without waiting.
            for job, step in plan:
                if step in (Step.POLL, Step.RECOVER):
                    self.limiter.occupy()
                    tg.start_soon(self._drive, job, step, True)
                elif step is Step.DOWNLOAD:
                    tg.start_soon(self._drive, job, step, False)
            tg.start_soon(self.fetches.verify_done,
                          [job for job, step in plan if step is Step.DONE], progress)
            for job, step in plan:
                if step is Step.SUBMIT:
                    await self.limiter.acquire()
                    if self.stopping or not self.holds.reserve(job):
                        self.limiter.release()
                        break
                    tg.start_soon(self._drive, job, step, True)

    async def _drive(self, job: Job, step: Step, holding: bool) -> None:
        """Take one job through its steps until it is done, failed or cannot go on."""
        progress = self.progress
        assert progress is not None
        try:
            while True:
                if step is Step.SUBMIT:
                    if self.stopping or not self.holds.reserve(job):
                        return
                    if not holding:
                        await self.limiter.acquire()
                        holding = True
                    progress.submitting(job)
                    job_id = await self.submitter.submit(job)
                    self.holds.settle(job, self.ledger.state)
                    if job_id:
                        progress.submitted(job, job_id)
                elif step is Step.RECOVER:
                    job_id = await self.recovery.resolve(job.key)
                    self.holds.settle(job, self.ledger.state)
                    progress.recovered(job, job_id)
                elif step is Step.POLL:
                    job_id = self.ledger.state.jobs[job.key].job_id
                    if holding:
                        self.release.watch(job_id)
                    try:
                        settled = await self._poll(job, progress)
                    finally:
                        if self.release.unwatch(job_id):
                            # Its slot went to the next job when it was expected to end.
                            holding = False
                    if holding:
                        self.limiter.release()
                        holding = False
                    if not settled:
                        return  # unreadable for the grace period: running, for the next run
                elif step is Step.DOWNLOAD:
                    if holding:
                        self.limiter.release()
                        holding = False
                    await self.fetches.download(job, progress)
                    return
                elif step is Step.DONE:
                    return
                else:  # SKIP_FAILED: final for this run
                    ks = self.ledger.state.jobs[job.key]
                    progress.failed(job, ks.error or "failed", ks.hint)
                    return
                # retry_failed applies once, to the job's first step in this run.
                step = self.next_step(job, retry_failed=False)
                if job.key in self.elsewhere:
                    return
        except AccessDenied as exc:
            self.on_denied(exc)
        except APIError as exc:
            # Any other API failure ends this job's turn, never the run: its ledger
            # state (pending, ambiguous or running) is where the next run picks it up.
            progress.message(f"{self.describe(job)}: {exc.message}; the next run goes on "
                             "from where it stands")
        finally:
            if holding:
                self.limiter.release()

    async def _poll(self, job: Job, progress: Progress) -> bool:
        """Wait for the job's end and record it; False if it could not be read (it stays
        running, and the next run asks again: a read error never fails a paid job)."""
        job_id = self.ledger.state.jobs[job.key].job_id
        try:
            final = await self.poller.wait_final(job_id)
        except JobRejected as exc:
            self.ledger.record(rejected_event(job.key, job_id, exc))
            return True
        if final is None:
            progress.message(f"{self.describe(job)}: the API has not shown job {job_id} "
                             "for a long while; it stays running and the next run asks "
                             "again")
            return False
        event = self.ledger.record(final_event(job.key, job_id, final))
        if event["event"] == "succeeded":
            progress.succeeded(job, job_id)
        return True
