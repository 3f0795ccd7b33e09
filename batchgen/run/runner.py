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
import signal
import time
from pathlib import Path
from typing import Any, AsyncIterator

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
from batchgen.run.download import Downloader
from batchgen.run.drive import EarlyRelease, Fetches, JobDriver
from batchgen.run.holds import BudgetHolds
from batchgen.run.journal import RunLedger
from batchgen.run.limiter import Limiter
from batchgen.run.options import RunOptions
from batchgen.run.origin import check_same_api
from batchgen.run.owners import check_is_folder, check_output_for, check_same_manifest
from batchgen.run.polling.batched import ListPoller, ListPollTiming
from batchgen.run.polling.single import Poller
from batchgen.run.progress import Progress
from batchgen.run.shards import check_ledger_shard
from batchgen.run.submit import InFlightBodies, Recovery, Submitter
from batchgen.run.summary import RunSummary, exit_code, per_folder, summary_exit_code, tally
from batchgen.run.team import team_ceiling
from batchgen.run.uploads import FrameUploads

__all__ = ["RunOptions", "RunSummary", "run_batch"]


async def run_batch(batch: Any, client: Any, *, options: RunOptions | None = None) -> RunSummary:
    """Run every job of `batch` that is not done yet; see the module docstring.

    `client` is an open `ScenarioClient` (or anything with its methods). Raises
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
    """One run: its parts set up, the `run` and `end` events, signals and the summary."""

    def __init__(self, batch: Any, client: Any, ledger: RunLedger, output: Path,
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
        self.downloader = Downloader(self.poller.assets, ledger, output,
                                     timing=options.download)
        self.holds = BudgetHolds(options.max_cu, say=self._say, describe=self.describe)
        self.fetches = Fetches(self.downloader, self.describe, options.download_concurrency)
        self.driver = JobDriver(ledger=ledger, limiter=self.limiter, submitter=self.submitter,
                                recovery=self.recovery, poller=self.poller, holds=self.holds,
                                fetches=self.fetches, release=release, family=family,
                                describe=self.describe, on_denied=self._deny)
        self.reuse = RunReuse(batch, ledger, output, index=options.index, reuse=options.reuse,
                              reuse_from=options.reuse_from, api=options.api,
                              confirm_again=options.confirm_again)
        self.interrupted = False
        self.denied: AccessDenied | None = None
        self.unreachable: str | None = None
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
        await anyio.to_thread.run_sync(self.downloader.remove_leftovers)
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
            self._deny(denied)
        elif self.options.team_id and any(step is Step.SUBMIT for _, step in plan):
            limit = await team_ceiling(self.client, self.options.team_id, say=self._say)
            if limit is not None and self.limiter.set_ceiling(limit):
                self.ledger.record({"event": "ceiling", "limit": limit, "from": "team limits"})
                self._ceiling(limit)
        error: BaseException | None = None
        # Open from here to the ledger's `end`: a Ctrl-C during the teardown (a second
        # one, or a first as the run ends) is one more signal for the receiver, never a
        # KeyboardInterrupt raised inside the poller's or the ledger's closing.
        signals = (anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM)
                   if self.options.handle_signals else contextlib.nullcontext())
        with self._deaf_once_interrupted(), signals as received:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    await stack.enter_async_context(self.poller)
                    async with anyio.create_task_group() as outer:
                        if received is not None:
                            outer.start_soon(self._watch_signals, received)
                        outer.start_soon(self.progress.keep_time)
                        outer.start_soon(self._watch_connection)
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

    def _deny(self, exc: AccessDenied) -> None:
        if self.denied is None:
            self.denied = exc
            self.progress.message(f"the API refused access: {exc.message}; stopping the batch")
        self.driver.stop()

    async def _watch_connection(self) -> None:
        """End the run once every call has failed to connect for `unreachable_after` s."""
        probe = getattr(self.client, "unreachable_for", None)
        if probe is None:
            return
        limit = self.options.unreachable_after
        while probe() < limit:
            await anyio.sleep(min(1.0, max(limit - probe(), 0.05)))
        where = getattr(self.client, "base_url", "the API")
        self.unreachable = f"could not connect to {where} for {limit:g} s"
        self.progress.message(f"{self.unreachable}; stopping the batch (nothing more is sent)")
        self.driver.stop()

    @contextlib.contextmanager
    def _deaf_once_interrupted(self):
        """After an interrupted run, SIGINT and SIGTERM are ignored: the user asked to quit,
        and one more Ctrl-C would only raise KeyboardInterrupt inside the event loop's
        shutdown, a traceback. The caller restores its handlers (the CLI does, at exit)."""
        try:
            yield
        finally:
            if self.interrupted and self.options.handle_signals:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(signum, signal.SIG_IGN)

    async def _watch_signals(self, signals: AsyncIterator[int]) -> None:
        async for _ in signals:
            if not self.interrupted:
                self.interrupted = self.driver.stopping = True
                if self.options.drain_on_interrupt:
                    self.progress.message(
                        f"interrupted: no new submissions; waiting for the "
                        f"{self.limiter.in_flight} jobs in flight to finish (press Ctrl-C "
                        "again to quit now)")
                else:
                    self.progress.message(
                        "interrupted: no new submissions; recording the answers of calls "
                        "in flight (press Ctrl-C again to quit now)")
                    self.driver.stop()
            else:
                self.driver.stop()
                self.submitter.abandon()

    def _summary(self, elapsed: float) -> RunSummary:
        state, holds, elsewhere = self.ledger.state, self.holds, self.driver.elsewhere
        counts, failed = tally(self.batch.jobs, state, elsewhere, self.describe)
        summary = RunSummary(
            name=self.batch.name, output=str(self.output), ledger=str(ledger_path(self.output)),
            total=len(self.batch.jobs), counts=counts, submitted=self.submitter.submitted,
            recovered=self.recovery.recovered, resent=self.recovery.unsent,
            uploaded=self.uploads.uploaded, downloaded=self.downloader.downloaded, failed=failed,
            download_errors=self.fetches.errors, interrupted=self.interrupted,
            access_denied=self.denied.message if self.denied else None,
            unreachable=self.unreachable,
            ceiling=state.ceiling, spent=state.spent, elapsed=round(elapsed, 3),
            spent_this_run=round(state.spent - self._spent_before, 6),
            resume_command=self.options.resume_command,
            estimated=holds.estimate.total if holds.estimate else None,
            budget_stopped=holds.stopped, elsewhere=per_folder(elsewhere.values(), self.output),
            **self.reuse.summary())
        if holds.budget is not None:
            unsent = counts["pending"]
            summary.budget = (f"{holds.budget.summary()}"
                              + (f"; {unsent} job{'s' if unsent != 1 else ''} not submitted"
                                 if holds.stopped else ""))
        summary.exit_code = summary_exit_code(summary, self.denied)
        return summary
