"""Running a batch: the library entry point behind `batchgen run`.

    summary = await run_batch(batch, client, options=RunOptions(concurrency=8))

`run_batch` takes the output folder's lock, replays its ledger and drives every job
that is not done yet through the steps `decisions.next_step` decides: recover a lost
answer, submit, poll, download. Each job is one task in an anyio task group; a
`Limiter` bounds the generations in flight. Everything the run learns is appended to
the ledger before it is relied on, so the run can stop at any moment (Ctrl-C, kill -9,
a 401) and the next one resumes without submitting anything twice.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from pathlib import Path
from typing import Any, Protocol

import anyio

from batchgen.durable import writing
from batchgen.errors import AccessDenied, DiskError, leaves
from batchgen.jobs import Job, LocalFrame, job_label
from batchgen.ledger.events import LedgerWriter, ledger_path, read_events
from batchgen.ledger.family import Family
from batchgen.ledger.lock import OutputLock
from batchgen.ledger.state import replay
from batchgen.ledger.status import write_batch_snapshot
from batchgen.reuse.run import RunReuse
from batchgen.run.decisions import Step
from batchgen.run.download import DownloadClient, Downloader, OutputFolder
from batchgen.run.drive import EarlyRelease, Fetches, JobDriver
from batchgen.run.holds import BudgetHolds
from batchgen.run.journal import RunLedger
from batchgen.run.limiter import Limiter
from batchgen.run.options import RunOptions
from batchgen.run.origin import check_same_api
from batchgen.run.owners import check_is_folder, check_output_for, check_same_manifest
from batchgen.run.polling.batched import ListClient, ListPoller, ListPollTiming
from batchgen.run.polling.single import Poller
from batchgen.run.progress import Progress
from batchgen.run.shards import check_ledger_shard
from batchgen.run.submit import InFlightBodies, Recovery, SubmitClient, Submitter
from batchgen.run.summary import RunSummary, exit_code, per_folder, run_summary
from batchgen.run.team import team_ceiling
from batchgen.run.uploads import FrameUploads, UploadClient
from batchgen.run.watchers import ReachableClient, Stops

__all__ = ["RunClient", "RunOptions", "RunSummary", "run_batch"]


class RunClient(SubmitClient, UploadClient, ListClient, DownloadClient, ReachableClient, Protocol):
    """Everything a run asks of its client, declared so the runner never checks what a
    client can do; `ScenarioClient` is one."""

    async def generate(self, model: str, body: dict, *, dry_run: bool | str = False) -> dict: ...

    async def get_model(self, model_id: str) -> dict: ...  # estimates under --max-cu

    async def team_limits(self, team_id: str) -> dict[str, Any]: ...  # --team-id


async def run_batch(batch: Any, client: RunClient, *,
                    options: RunOptions | None = None) -> RunSummary:
    """Run every job of `batch` that is not done yet; see the module docstring.

    `client` is an open `ScenarioClient` (or anything with its methods, `RunClient`). Raises
    `LockedError` when another run holds the output folder, `LedgerError` when the
    ledger is corrupt; API failures are recorded per job and summarised instead.
    """
    options = options or RunOptions()
    output = Path(options.output or batch.output).resolve()
    check_is_folder(output, "--out" if options.output is not None else "output")
    if options.output is not None:
        check_output_for(batch, output)
    with writing(output):
        output.mkdir(parents=True, exist_ok=True)
    with OutputLock(output):
        path = ledger_path(output)
        events = read_events(path)
        check_same_api(events, options.api, output)
        if not options.allow_other_manifest:
            check_same_manifest(events, batch.source, output)
        check_ledger_shard(events, options.shard, str(path))
        family = Family(output)
        shard = options.shard
        family.refuse_overlapping_runs(shard and shard.count, shard and shard.index)
        write_batch_snapshot(batch, output)
        state = replay(events)
        with LedgerWriter(path) as writer:
            return await _Run(batch, client, RunLedger(writer, state), output, options,
                              family).execute()


def _list_timing(poll_interval: float) -> ListPollTiming:
    """Batched-polling bounds in proportion to --poll-interval (5 s: a list call at least
    every 8 s and at most every 0.5 s, a job unreported for 30 s asked for alone); within
    them the poller times its calls from what the API reports."""
    return ListPollTiming(interval=poll_interval * 1.6, min_gap=poll_interval / 10,
                          margin=poll_interval / 50, release_margin=poll_interval / 250,
                          gather_max=poll_interval * 0.8,
                          overlap=poll_interval * 0.4, stale_after=poll_interval * 6)


def _describe(batch: Any, job: Job) -> str:
    """How messages name a job: its id, sample and its values of the swept axes."""
    return job_label(job.id, job.sample, job.swept(getattr(batch, "axes", {}) or {}))


def _run_event(batch: Any, output: Path, options: RunOptions, *, capped: bool) -> dict[str, Any]:
    """The `run` event that opens a run in the ledger."""
    shard = options.shard
    return {"event": "run", "pid": os.getpid(), "manifest": str(batch.source),
            "manifestFromOutput": os.path.relpath(batch.source, output),
            "shard": str(shard) if shard else None,
            **({"split": shard.split} if shard else {}),
            "jobs": len(batch.jobs),
            "api": options.api, "concurrency": options.concurrency,
            "retryFailed": options.retry_failed,
            **({"maxCu": options.max_cu} if capped else {})}


def _end_event(summary: RunSummary, error: BaseException | None) -> dict[str, Any]:
    """The `end` event that closes a run, however it ended."""
    return {"event": "end", "summary": {
        "counts": summary.counts, "submitted": summary.submitted,
        "recovered": summary.recovered, "downloaded": summary.downloaded,
        "interrupted": summary.interrupted,
        "exitCode": summary.exit_code if error is None else exit_code(error)},
        **({"error": type(error).__name__} if error is not None else {})}


class _Run:
    """One run: its parts set up, the `run` and `end` events and the summary; `Stops`
    watches what ends it early (signals, a denial, an API out of reach)."""

    def __init__(self, batch: Any, client: RunClient, ledger: RunLedger, output: Path,
                 options: RunOptions, family: Family):
        self.batch = batch
        self.ledger = ledger
        self.output = output
        self.options = options
        self.client = client
        self.describe = functools.partial(_describe, batch)
        self.limiter = Limiter(options.concurrency, ceiling=ledger.state.ceiling)
        bodies = InFlightBodies()
        self.uploads = FrameUploads(client, ledger, reuse_recorded=options.reuse_uploads,
                                    on_upload=self._uploaded)
        self.submitter = Submitter(client, ledger, self.limiter, self.uploads,
                                   timing=options.submit, bodies=bodies,
                                   on_ceiling=self._ceiling, on_rate_limited=self._rate_limited)
        self.recovery = Recovery(client, ledger, timing=options.submit, bodies=bodies,
                                 family=family)
        release = EarlyRelease(self.limiter)
        self.poller: Poller = (options.poller(client) if options.poller else ListPoller(
            client, timing=options.polling or _list_timing(options.poll_interval),
            on_expected_end=release.expected_end))
        # The batched poller fetches download URLs in bulk; the downloader takes them there.
        self.downloader = Downloader(self.poller.assets, OutputFolder(ledger, output),
                                     timing=options.download)
        self.holds = BudgetHolds(options.max_cu, say=self._say, describe=self.describe)
        self.fetches = Fetches(self.downloader, self.describe, options.download_concurrency)
        self.driver = JobDriver(ledger=ledger, limiter=self.limiter, submitter=self.submitter,
                                recovery=self.recovery, poller=self.poller, holds=self.holds,
                                fetches=self.fetches, release=release, family=family,
                                describe=self.describe,
                                on_denied=lambda exc: self.stops.deny(exc))
        self.reuse = RunReuse(batch, ledger, output, index=options.index, reuse=options.reuse,
                              reuse_from=options.reuse_from, api=options.api,
                              confirm_again=options.confirm_again)
        self.stops = Stops(self.driver, self.submitter, self.limiter, say=self._say,
                           handle_signals=options.handle_signals,
                           drain=options.drain_on_interrupt)
        self.progress: Progress | None = None

    async def execute(self) -> RunSummary:
        started = time.monotonic()
        driver = self.driver
        plan = [(job, driver.next_step(job, retry_failed=self.options.retry_failed))
                for job in self.batch.jobs]
        plan = [(job, step) for job, step in plan if job.key not in driver.elsewhere]
        denied = None
        try:  # may refuse: then nothing is recorded or sent
            await self.reuse.look(plan)  # results generated elsewhere: take, or ask first
            await self.holds.prepare(self.client, self.batch, self.reuse.unpaid(plan),
                                     self.ledger.state,
                                     confirm=self.options.confirm,
                                     reuse_uploads=self.options.reuse_uploads)
        except AccessDenied as exc:
            denied, plan = exc, []  # the run is recorded, and ends at once, like a denial later
        self.ledger.record(_run_event(self.batch, self.output, self.options,
                                      capped=self.holds.budget is not None))
        await anyio.to_thread.run_sync(self.downloader.folder.remove_leftovers)
        plan = await self.reuse.take_all(plan)
        self._spent_before = self.ledger.state.spent
        estimated = self.holds.estimate
        self.progress = Progress(
            plan, elsewhere=len(driver.elsewhere), bar=self.options.progress,
            stream=self.options.progress_stream, describe=self.describe,
            estimate=estimated.total if estimated else None,
            spent=lambda: self.ledger.state.spent, interval=self.options.progress_interval)
        if driver.elsewhere:
            self.progress.message(f"left alone, already sent from other folders of this batch: "
                                  f"{per_folder(driver.elsewhere.values(), self.output)}")
        if denied is not None:
            self.stops.deny(denied)
        elif self.options.team_id and any(step is Step.SUBMIT for _, step in plan):
            limit = await team_ceiling(self.client, self.options.team_id, say=self._say)
            if limit is not None and self.limiter.set_ceiling(limit):
                self.ledger.record({"event": "ceiling", "limit": limit, "from": "team limits"})
                self._ceiling(limit)
        error: BaseException | None = None
        # Open from here to the ledger's `end`: a Ctrl-C during the teardown (a second
        # one, or a first as the run ends) is one more signal for the receiver, never a
        # KeyboardInterrupt raised inside the poller's or the ledger's closing.
        with self.stops.deaf_once_interrupted(), self.stops.receiver() as received:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    await stack.enter_async_context(self.poller)
                    async with anyio.create_task_group() as outer:
                        if received is not None:
                            outer.start_soon(self.stops.watch_signals, received)
                        outer.start_soon(self.progress.keep_time)
                        outer.start_soon(self.stops.watch_connection, self.client,
                                         self.options.unreachable_after)
                        await driver.drive_all(plan, self.progress)
                        outer.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                error = group
                # A refused write stops every task: raise it alone, so callers catch DiskError.
                disk = group.subgroup(DiskError)
                if disk is not None:
                    raise leaves(disk)[0] from group
                raise
            except BaseException as exc:
                error = exc
                raise
            finally:
                self.progress.close()
                self.reuse.record_index()
                # Every exit path closes the run in the ledger, an unexpected error included.
                summary = self._summary(time.monotonic() - started)
                self.ledger.record(_end_event(summary, error))
                self.ledger.save_checkpoint()
        return summary

    def _say(self, text: str) -> None:
        if self.progress is not None:
            self.progress.message(text)

    def _rate_limited(self, delay: float) -> None:
        if self.progress is not None:
            self.progress.rate_limited(delay)
        # A 429 under a ceiling the API stated, after slots were freed by prediction: a job
        # predicted to have ended was still running. Without a stated ceiling a 429 says
        # nothing of predictions: a probe the API took while one of our jobs had just
        # ended unseen leaves the window one too high, and the 429s that follow are the
        # limiter's to answer (it shrinks by one); blamed on predictions, they turned the
        # early release off (unstated ceiling 16: idle slots 21 %).
        if self.limiter.ceiling is not None:
            self.poller.refused()

    def _ceiling(self, limit: int) -> None:
        self._say(f"the API allows {limit} jobs in flight: keeping at most "
                  f"{self.limiter.effective} running")

    def _uploaded(self, frame: LocalFrame, asset_id: str) -> None:
        self._say(f"uploaded {frame.display} as {asset_id}")

    def _summary(self, elapsed: float) -> RunSummary:
        holds = self.holds
        return run_summary(
            self.batch, self.output, self.ledger.state, self.driver.elsewhere, self.describe,
            elapsed=elapsed, spent_before=self._spent_before, denied=self.stops.denied,
            budget=holds.summary, submitted=self.submitter.submitted,
            recovered=self.recovery.recovered, resent=self.recovery.unsent,
            uploaded=self.uploads.uploaded, downloaded=self.downloader.folder.downloaded,
            download_errors=self.fetches.errors, interrupted=self.stops.interrupted,
            unreachable=self.stops.unreachable, resume_command=self.options.resume_command,
            estimated=holds.estimate.total if holds.estimate else None,
            budget_stopped=holds.stopped, **self.reuse.summary())
