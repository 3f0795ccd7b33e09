"""Running a batch: the library entry point behind `batchgen run`.

    summary = await run_batch(batch, client, options=RunOptions(concurrency=8))

`run_batch` takes the output folder's lock, replays its ledger and drives every job
that is not done yet through the steps `state.next_step` decides: recover a lost
answer, submit, poll, download. Each job is one task in an anyio task group; a
`Limiter` bounds the generations in flight. Everything the run learns is appended to
the ledger before it is relied on, so the run can stop at any moment (Ctrl-C, kill -9,
a 401) and the next one resumes without submitting anything twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

import anyio

from batchgen.run.budget import Budget, at_stake
from batchgen.run.limiter import Limiter
from batchgen.run.download import Downloader, DownloadFailed, DownloadTiming
from batchgen.errors import AccessDenied, APIError, BatchgenError, JobRejected
from batchgen.run.estimate import Estimate, estimate
from batchgen.jobs import Job, LocalFrame, job_label
from batchgen.ledger.events import LedgerWriter, ledger_path, read_events
from batchgen.ledger.family import Family
from batchgen.run.polling.batched import ListPoller, ListPollTiming
from batchgen.ledger.lock import OutputLock
from batchgen.run.polling.single import Poller
from batchgen.run.origin import check_same_api
from batchgen.run.progress import STATUS_INTERVAL, Progress
from batchgen.run.journal import RunLedger
from batchgen.run.owners import check_output_for, check_same_manifest
from batchgen.run.shards import Shard, check_ledger_shard
from batchgen.ledger.state import FAILED, STATES, KeyState, Step, next_step, replay
from batchgen.ledger.status import write_batch_snapshot
from batchgen.run.submit import InFlightBodies, Recovery, Submitter, SubmitTiming
from batchgen.run.uploads import FrameUploads

# By default as many generations as the API accepts: the limiter finds the team's
# ceiling from its 429s (slow start, then the stated or learnt limit); this only bounds it.
DEFAULT_CONCURRENCY = 1000


@dataclass
class RunOptions:
    """How a run behaves; every timing knob is here so tests can make runs fast."""

    concurrency: int = DEFAULT_CONCURRENCY
    retry_failed: bool = False
    poll_interval: float = 5.0
    # Builds the poller from the client (default: a ListPoller, one job-list call for
    # every running job, timed by `polling` or else by poll_interval); any `Poller`
    # (run/polling/single.py) will do: the runner uses only what that interface declares.
    poller: Callable[[Any], Poller] | None = None
    polling: ListPollTiming | None = None
    max_cu: float | None = None  # never submit past this many creative units (ledger included)
    # Called with the estimate of the jobs still to submit and the most the run may
    # spend (the estimate, or less under max_cu) before anything is submitted; raise
    # to refuse. None: no estimate unless max_cu needs one.
    confirm: Callable[[Estimate, float], None] | None = None
    shard: Shard | None = None  # recorded in the ledger; the batch holds only its jobs
    submit: SubmitTiming = field(default_factory=SubmitTiming)
    download: DownloadTiming = field(default_factory=DownloadTiming)
    download_concurrency: int = 8
    progress: bool | None = None  # None: a bar on a terminal, log lines otherwise
    progress_stream: TextIO | None = None
    progress_interval: float = STATUS_INTERVAL  # seconds between lines of counts, no terminal
    handle_signals: bool = False  # SIGINT/SIGTERM stop the run cleanly (the CLI sets it)
    # On the first Ctrl-C, let jobs in flight finish before stopping: for an in-process
    # simulator, which forgets its jobs when the process ends.
    drain_on_interrupt: bool = False
    resume_command: str | None = None  # shown when the run is interrupted
    api: str = ""  # which API this run talks to, for the ledger's `run` event
    output: str | Path | None = None  # the output folder, if not the batch's own
    reuse_uploads: bool = True  # reuse frames uploaded by earlier runs (False: the API forgets)
    # Run into a folder whose ledger another manifest wrote (--allow-other-manifest):
    # refused otherwise, since the two batches' files and jobs would mix.
    allow_other_manifest: bool = False


@dataclass
class RunSummary:
    """What a run did and where the batch stands; `exit_code` follows SPEC."""

    name: str
    output: str
    ledger: str
    total: int
    counts: dict[str, int]
    submitted: int = 0
    recovered: int = 0
    resent: int = 0  # intents proved never sent, then submitted
    uploaded: int = 0
    downloaded: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    download_errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    access_denied: str | None = None
    ceiling: int | None = None
    spent: float = 0.0  # creative units of every accepted submission, earlier runs included
    spent_this_run: float = 0.0  # creative units of the submissions this run made
    estimated: float | None = None  # estimate of the jobs this run had to submit
    budget_stopped: bool = False  # --max-cu stopped the submissions
    budget: str | None = None  # what was spent and what is left, under --max-cu
    elapsed: float = 0.0  # seconds
    elsewhere: str = ""  # keys left alone, sent from other folders of the batch: "out (8)"
    resume_command: str | None = None
    exit_code: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The summary for `--json`, with camelCase names like the other JSON outputs."""
        return {_camel(name): value for name, value in asdict(self).items()}


async def run_batch(batch: Any, client: Any, *, options: RunOptions | None = None) -> RunSummary:
    """Run every job of `batch` that is not done yet; see the module docstring.

    `client` is an open `ScenarioClient` (or anything with its methods). Raises
    `LockedError` when another run holds the output folder, `LedgerError` when the
    ledger is corrupt; API failures are recorded per job and summarised instead.
    """
    options = options or RunOptions()
    output = Path(options.output or batch.output).resolve()
    if options.output is not None:
        check_output_for(batch, output)
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


def _exit_code(error: BaseException) -> int:
    """The exit code the command gives for an error that ended the run."""
    if isinstance(error, BatchgenError):
        return error.exit_code
    return 130 if isinstance(error, (KeyboardInterrupt, anyio.get_cancelled_exc_class())) else 1


def _list_timing(poll_interval: float) -> ListPollTiming:
    """Batched-polling bounds in proportion to --poll-interval (5 s: a list call at least
    every 8 s and at most every 0.5 s, a job unreported for 30 s asked for alone); within
    them the poller times its calls from what the API reports."""
    return ListPollTiming(interval=poll_interval * 1.6, min_gap=poll_interval / 10,
                          margin=poll_interval / 50, release_margin=poll_interval / 250,
                          gather_max=poll_interval * 0.8,
                          overlap=poll_interval * 0.4, stale_after=poll_interval * 6)


def _per_folder(found: Any, output: Path) -> str:
    """How many keys each folder holds, e.g. `.. (8), ../shard-2-of-2 (3)`."""
    counts: dict[str, int] = {}
    for _, folder in found:
        shown = os.path.relpath(folder, output)
        counts[shown] = counts.get(shown, 0) + 1
    return ", ".join(f"{folder} ({n})" for folder, n in counts.items())


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


class _Run:
    def __init__(self, batch: Any, client: Any, ledger: RunLedger, output: Path,
                 options: RunOptions, family: Family):
        self.batch = batch
        self.family = family
        # Keys this run leaves alone: done, running or failed in another folder of the batch.
        self.elsewhere: dict[str, tuple[KeyState, Path]] = {}
        self.ledger = ledger
        self.output = output
        self.options = options
        self.client = client
        self.limiter = Limiter(options.concurrency, ceiling=ledger.state.ceiling)
        bodies = InFlightBodies()
        self.uploads = FrameUploads(client, ledger, reuse_recorded=options.reuse_uploads,
                                    on_upload=self._uploaded)
        self.submitter = Submitter(client, ledger, self.limiter, self.uploads,
                                   timing=options.submit, bodies=bodies,
                                   on_ceiling=self._ceiling, on_rate_limited=self._rate_limited)
        self.recovery = Recovery(client, ledger, timing=options.submit, bodies=bodies,
                                 family=family)
        self.poller: Poller = (options.poller(client) if options.poller else ListPoller(
            client, timing=options.polling or _list_timing(options.poll_interval),
            on_expected_end=self._expected_end))
        # The batched poller fetches download URLs in bulk; the downloader takes them there.
        self.downloader = Downloader(self.poller.assets, ledger, output,
                                     timing=options.download)
        self.estimate: Estimate | None = None
        self.budget: Budget | None = None
        self.costs: dict[str, float | None] = {}
        self._reserved: dict[str, float] = {}  # key -> estimated cost held in the budget
        self._polling: set[str] = set()  # jobIds whose slot is held while they are polled
        self._released_early: set[str] = set()
        self.download_slots = anyio.Semaphore(options.download_concurrency)
        self.download_errors: list[str] = []
        self.interrupted = False
        self.stopping = False  # no new submissions
        self.budget_stopped = False
        self.denied: AccessDenied | None = None
        self.progress: Progress | None = None
        self._work: anyio.CancelScope | None = None

    async def execute(self) -> RunSummary:
        started = time.monotonic()
        plan = [(job, self._next_step(job, retry_failed=self.options.retry_failed))
                for job in self.batch.jobs]
        plan = [(job, step) for job, step in plan if job.key not in self.elsewhere]
        denied = None
        try:
            await self._preflight(plan)  # may refuse: then nothing is recorded or sent
        except AccessDenied as exc:
            denied, plan = exc, []  # the run is recorded, and ends at once, like a denial later
        shard = self.options.shard
        self.ledger.record({"event": "run", "pid": os.getpid(), "manifest": str(self.batch.source),
                            "manifestFromOutput": os.path.relpath(self.batch.source, self.output),
                            "shard": str(shard) if shard else None,
                            **({"split": shard.split} if shard else {}),
                            "jobs": len(self.batch.jobs),
                            "api": self.options.api, "concurrency": self.options.concurrency,
                            "retryFailed": self.options.retry_failed,
                            **({"maxCu": self.options.max_cu} if self.budget else {})})
        await anyio.to_thread.run_sync(self.downloader.remove_leftovers)
        self._spent_before = self.ledger.state.spent
        self.progress = Progress(
            plan, elsewhere=len(self.elsewhere), bar=self.options.progress,
            stream=self.options.progress_stream, describe=self.describe,
            estimate=self.estimate.total if self.estimate else None,
            spent=lambda: self.ledger.state.spent, interval=self.options.progress_interval)
        if self.elsewhere:
            self.progress.message(f"left alone, already sent from other folders of this batch: "
                                  f"{_per_folder(self.elsewhere.values(), self.output)}")
        if denied is not None:
            self._deny(denied)
        error: BaseException | None = None
        try:
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(self.poller)
                async with anyio.create_task_group() as outer:
                    if self.options.handle_signals:
                        outer.start_soon(self._watch_signals)
                    outer.start_soon(self.progress.keep_time)
                    await self._drive_all(plan)
                    outer.cancel_scope.cancel()
        except BaseException as exc:
            error = exc
            raise
        finally:
            self.progress.close()
            # Every exit path closes the run in the ledger, an unexpected error included.
            summary = self._summary(time.monotonic() - started)
            self.ledger.record({"event": "end", "summary": {
                "counts": summary.counts, "submitted": summary.submitted,
                "recovered": summary.recovered, "downloaded": summary.downloaded,
                "interrupted": summary.interrupted,
                "exitCode": summary.exit_code if error is None else _exit_code(error)},
                **({"error": type(error).__name__} if error is not None else {})})
            self.ledger.save_checkpoint()
        return summary

    async def _drive_all(self, plan: list[tuple[Job, Step]]) -> None:
        async with anyio.create_task_group() as tg:
            self._work = tg.cancel_scope
            # Jobs already in flight on the server take their slots first, without waiting.
            for job, step in plan:
                if step in (Step.POLL, Step.RECOVER):
                    self.limiter.occupy()
                    tg.start_soon(self._drive, job, step, True)
                elif step is Step.DOWNLOAD:
                    tg.start_soon(self._drive, job, step, False)
            tg.start_soon(self._verify_done, [job for job, step in plan if step is Step.DONE])
            for job, step in plan:
                if step is Step.SUBMIT:
                    await self.limiter.acquire()
                    if self.stopping or not self._reserve(job):
                        self.limiter.release()
                        break
                    tg.start_soon(self._drive, job, step, True)

    async def _preflight(self, plan: list[tuple[Job, Step]]) -> None:
        """Estimate what the run may submit, let `confirm` refuse, and set up --max-cu."""
        options = self.options
        if options.max_cu is None and options.confirm is None:
            return
        todo = [job for job, step in plan if step in (Step.SUBMIT, Step.RECOVER)]
        if not todo:
            return
        uploads = self.ledger.state.uploads if options.reuse_uploads else {}
        self.estimate = await estimate(self.client, self.batch.model, todo, frame_assets=uploads)
        spent = self.ledger.state.spent
        if options.confirm is not None:
            options.confirm(self.estimate, at_stake(self.estimate.total, limit=options.max_cu,
                                                    spent_before=spent))
        if options.max_cu is not None:
            self.budget = Budget(options.max_cu, spent_before=spent)
            self.costs = self.estimate.job_costs()
            for job, step in plan:
                if step is Step.RECOVER:
                    # Lost by a crashed run, and perhaps charged: held before any new
                    # submission may take the room, settled at its listed cost if found,
                    # and kept for its submission if it proves unsent.
                    cost = self.costs.get(job.key, 0.0)
                    self.budget.hold(cost)
                    self._reserved[job.key] = cost

    def _reserve(self, job: Job) -> bool:
        """Hold the job's estimated cost in the budget; False: submit nothing more."""
        if self.budget is None or job.key in self._reserved:
            return True
        cost = self.costs.get(job.key)
        if cost is not None and self.budget.reserve(cost):
            self._reserved[job.key] = cost
            return True
        self.budget.exhausted = True
        if not self.budget_stopped and self.progress is not None:
            why = ("its cost could not be estimated" if cost is None else
                   f"{self.describe(job)} would take the batch past --max-cu {self.options.max_cu:g}")
            self.progress.message(f"budget: no more submissions ({why}); "
                                  "letting the jobs in flight finish")
        self.budget_stopped = True  # jobs already holding a reservation still go
        return False

    def _settle(self, job: Job) -> None:
        """Turn the job's reservation into spend once it has a jobId; free it if it failed."""
        if self.budget is None or job.key not in self._reserved:
            return
        ks = self.ledger.state.jobs.get(job.key)
        if ks is not None and ks.job_id:
            self.budget.settle(self._reserved.pop(job.key), ks.cost)
        elif ks is not None and ks.state == "failed":
            self.budget.release(self._reserved.pop(job.key))

    def _expected_end(self, job_id: str) -> None:
        """The poller predicts this job has just ended: its slot can take the next job."""
        if job_id in self._polling and job_id not in self._released_early:
            self._released_early.add(job_id)
            self.limiter.release()

    def _rate_limited(self, delay: float) -> None:
        if self.progress is not None:
            self.progress.rate_limited(delay)
        # A 429 while the limiter keeps to what the API accepted, after slots were freed
        # by prediction: a job predicted to have ended was still running.
        if not self.limiter.exploring:
            self.poller.refused()

    async def _drive(self, job: Job, step: Step, holding: bool) -> None:
        """Take one job through its steps until it is done, failed or cannot go on."""
        assert self.progress is not None
        try:
            while True:
                if step is Step.SUBMIT:
                    if self.stopping or not self._reserve(job):
                        return
                    if not holding:
                        await self.limiter.acquire()
                        holding = True
                    self.progress.submitting(job)
                    job_id = await self.submitter.submit(job)
                    self._settle(job)
                    if job_id:
                        self.progress.submitted(job, job_id)
                elif step is Step.RECOVER:
                    job_id = await self.recovery.resolve(job.key)
                    self._settle(job)
                    self.progress.recovered(job, job_id)
                elif step is Step.POLL:
                    job_id = self.ledger.state.jobs[job.key].job_id
                    if holding:
                        self._polling.add(job_id)
                    try:
                        settled = await self._poll(job)
                    finally:
                        self._polling.discard(job_id)
                        if job_id in self._released_early:
                            # Its slot went to the next job when it was expected to end.
                            self._released_early.discard(job_id)
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
                    await self._download(job)
                    return
                elif step is Step.DONE:
                    return
                else:  # SKIP_FAILED: final for this run
                    ks = self.ledger.state.jobs[job.key]
                    self.progress.failed(job, ks.error or "failed", ks.hint)
                    return
                # retry_failed applies once, to the job's first step in this run.
                step = self._next_step(job, retry_failed=False)
                if job.key in self.elsewhere:
                    return
        except AccessDenied as exc:
            self._deny(exc)
        except APIError as exc:
            # Any other API failure ends this job's turn, never the run: its ledger
            # state (pending, ambiguous or running) is where the next run picks it up.
            self.progress.message(f"{self.describe(job)}: {exc.message}; the next run goes on "
                                  "from where it stands")
        finally:
            if holding:
                self.limiter.release()

    async def _poll(self, job: Job) -> bool:
        """Wait for the job's end and record it; False if it could not be read (it stays
        running, and the next run asks again: a read error never fails a paid job)."""
        job_id = self.ledger.state.jobs[job.key].job_id
        try:
            final = await self.poller.wait_final(job_id)
        except JobRejected as exc:
            self.ledger.record({"event": "failed", "key": job.key, "jobId": job_id,
                                "error": exc.message, "hint": exc.hint, "status": exc.status})
            return True
        if final is None:
            self.progress.message(f"{self.describe(job)}: the API has not shown job {job_id} "
                                  "for a long while; it stays running and the next run asks "
                                  "again")
            return False
        meta = final.get("metadata") or {}
        cost = (final.get("billing") or {}).get("cuCost")
        if final.get("status") == "success":
            self.ledger.record({"event": "succeeded", "key": job.key, "jobId": job_id,
                                "assetIds": list(meta.get("assetIds") or []), "cost": cost})
            self.progress.succeeded(job, job_id)
        else:
            status = final.get("status")
            self.ledger.record({"event": "failed", "key": job.key, "jobId": job_id,
                                "error": meta.get("error") or f"the job ended with status {status}",
                                "hint": meta.get("hint"), "jobStatus": status})
        return True

    async def _download(self, job: Job, *, counted: bool = False) -> None:
        """Fetch the job's missing files; `counted`: the progress already counts it done."""
        async with self.download_slots:
            for index, asset_id in await self.downloader.missing(job):
                try:
                    path = await self.downloader.fetch(job, index, asset_id)
                except DownloadFailed as exc:
                    self.download_errors.append(f"{self.describe(job)}: {exc}")
                    self.progress.message(f"download failed for {self.describe(job)}: {exc}; "
                                          "the next run tries again")
                    return
                self.progress.downloaded(job, os.path.relpath(path))
        if not counted:
            self.progress.finished(job)

    async def _verify_done(self, jobs: list[Job]) -> None:
        """Files of finished jobs that went missing or were altered are fetched again."""
        for job in jobs:
            if await self.downloader.missing(job):
                self.progress.message(f"{self.describe(job)}: a file is missing or altered; "
                                      "fetching it again")
                await self._download(job, counted=True)

    def _ceiling(self, limit: int) -> None:
        if self.progress is not None:
            self.progress.message(f"the API allows {limit} jobs in flight: keeping at most "
                                  f"{self.limiter.effective} running")

    def _uploaded(self, frame: LocalFrame, asset_id: str) -> None:
        if self.progress is not None:
            self.progress.message(f"uploaded {frame.display} as {asset_id}")

    def describe(self, job: Job) -> str:
        """How messages name a job: its id, sample and its values of the swept axes."""
        shown = {name: job.params[name] if name in job.params else job.variables[name]
                 for name in getattr(self.batch, "axes", {}) or {}
                 if name in job.params or name in job.variables}
        return job_label(job.id, job.sample, shown)

    def _deny(self, exc: AccessDenied) -> None:
        if self.denied is None:
            self.denied = exc
            self.progress.message(f"the API refused access: {exc.message}; stopping the batch")
        self._stop_work()

    def _stop_work(self) -> None:
        self.stopping = True
        if self._work is not None:
            self._work.cancel()

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                if not self.interrupted:
                    self.interrupted = self.stopping = True
                    if self.options.drain_on_interrupt:
                        self.progress.message(
                            f"interrupted: no new submissions; waiting for the "
                            f"{self.limiter.in_flight} jobs in flight to finish (press Ctrl-C "
                            "again to quit now)")
                    else:
                        self.progress.message(
                            "interrupted: no new submissions; recording the answers of calls "
                            "in flight (press Ctrl-C again to quit now)")
                        self._stop_work()
                else:
                    self._stop_work()
                    self.submitter.abandon()

    def _next_step(self, job: Job, *, retry_failed: bool) -> Step:
        """`next_step` from this folder's ledger, unless it would submit a key another
        folder of the batch already sent (then the key goes to `elsewhere`)."""
        step = next_step(job, self.ledger.state.jobs.get(job.key), retry_failed=retry_failed)
        if step is Step.SUBMIT:
            found = self.family.best(job.key)
            if found is not None and not (retry_failed and found[0].state == FAILED):
                self.elsewhere[job.key] = found
        return step

    def _summary(self, elapsed: float) -> RunSummary:
        state = self.ledger.state
        counts = dict.fromkeys(STATES, 0)
        failed = []
        for job in self.batch.jobs:
            ks = state.jobs.get(job.key)
            if job.key in self.elsewhere and (ks is None or ks.state == "pending"):
                ks = self.elsewhere[job.key][0]
            name = ks.state if ks else "pending"
            counts[name] = counts.get(name, 0) + 1
            if name == "failed":
                failed.append({"key": job.key, "id": job.id, "sample": job.sample,
                               "label": self.describe(job), "error": ks.error, "hint": ks.hint})
        summary = RunSummary(
            name=self.batch.name, output=str(self.output), ledger=str(ledger_path(self.output)),
            total=len(self.batch.jobs), counts=counts, submitted=self.submitter.submitted,
            recovered=self.recovery.recovered, resent=self.recovery.unsent,
            uploaded=self.uploads.uploaded, downloaded=self.downloader.downloaded, failed=failed,
            download_errors=self.download_errors, interrupted=self.interrupted,
            access_denied=self.denied.message if self.denied else None,
            ceiling=state.ceiling, spent=state.spent, elapsed=round(elapsed, 3),
            spent_this_run=round(state.spent - self._spent_before, 6),
            resume_command=self.options.resume_command,
            estimated=self.estimate.total if self.estimate else None,
            budget_stopped=self.budget_stopped,
            elsewhere=_per_folder(self.elsewhere.values(), self.output))
        if self.budget is not None:
            unsent = counts["pending"]
            summary.budget = (f"{self.budget.summary()}"
                              + (f"; {unsent} job{'s' if unsent != 1 else ''} not submitted"
                                 if self.budget_stopped else ""))
        if self.denied is not None:
            summary.exit_code = self.denied.exit_code
        elif self.interrupted:
            summary.exit_code = 130
        elif counts["succeeded"] == summary.total and not self.download_errors:
            summary.exit_code = 0
        else:
            summary.exit_code = 1
        return summary
