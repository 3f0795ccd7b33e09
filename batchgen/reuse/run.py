"""What a run does about results generated elsewhere: look, ask or take, and record.

Before anything is recorded, `look` finds the keys the run would submit that the index
(or `--reuse-from`'s ledgers) knows from outside this batch's folders. Without reuse,
those whose files are still there are the ones `confirm_again` is asked about (it may
refuse: nothing is written). With reuse, those whose files are intact are taken once
the run is opened in the ledger (`take_all`), and are neither estimated nor submitted.
When the run ends, `record_index` puts the folder's succeeded keys in the index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import anyio

from batchgen.jobs import Job
from batchgen.reuse.index import Index
from batchgen.reuse.sources import Found, first_of, from_folders, from_index, ledger_results, \
    on_api, per_folder, present
from batchgen.reuse.take import intact, reused_event, take
from batchgen.run.decisions import Step
from batchgen.run.journal import RunLedger


class RunReuse:
    """One run's side of reuse; `index` None: no index (reuse_from still works)."""

    def __init__(self, batch: Any, ledger: RunLedger, output: Path, *, index: Index | None,
                 reuse: bool | None, reuse_from: tuple[Path, ...] = (), api: str = "",
                 confirm_again: Callable[[Found], None] | None = None):
        self.batch = batch
        self.ledger = ledger
        self.output = output
        self.index = index
        self.reuse_from = tuple(reuse_from)
        self.api = api  # results made on another API are never offered (nor recorded as its)
        # None: as the manifest says (`reuse: true`); naming folders asks for reuse.
        wanted = reuse if reuse is not None else getattr(batch, "reuse", False)
        self.enabled = bool(wanted or self.reuse_from)
        self.confirm_again = confirm_again
        self.takeable: Found = {}  # checked intact, taken once the run is recorded
        self.reused: Found = {}  # taken
        self.again: Found = {}  # generated elsewhere, and paid for again (agreed)
        # Asked for but not taken (files gone or altered, a name here holding another
        # file): paid for as usual, and the run says so, so no one wonders why it paid.
        self.not_taken: Found = {}

    async def look(self, plan: list[tuple[Job, Step]]) -> None:
        """Find the keys to submit that were generated elsewhere; may refuse (raise)."""
        keys = [job.key for job, step in plan if step is Step.SUBMIT]
        if not keys or (self.index is None and not self.reuse_from):
            return
        if self.reuse_from:
            candidates = await anyio.to_thread.run_sync(from_folders, self.reuse_from, keys)
        else:
            candidates = await anyio.to_thread.run_sync(from_index, self.index, keys,
                                                        self.output)
        candidates = on_api(candidates, self.api)
        if self.enabled:
            self.takeable = await anyio.to_thread.run_sync(first_of, candidates, intact)
            self.not_taken = {key: results[0] for key, results in candidates.items()
                              if key not in self.takeable and results}
            return
        self.again = await anyio.to_thread.run_sync(first_of, candidates, present)
        if self.again and self.confirm_again is not None:
            self.confirm_again(self.again)

    def unpaid(self, plan: list[tuple[Job, Step]]) -> list[tuple[Job, Step]]:
        """The plan without the jobs to take: what is estimated and may be paid for."""
        return [(job, step) for job, step in plan if job.key not in self.takeable]

    async def take_all(self, plan: list[tuple[Job, Step]]) -> list[tuple[Job, Step]]:
        """Take the checked results into place, each recorded as `reused`; the plan with
        those jobs done. One that cannot be taken now (changed since) is submitted."""
        if not self.takeable:
            return plan
        await anyio.to_thread.run_sync(self._take, [job for job, _ in plan])
        return [(job, Step.DONE if job.key in self.reused else step) for job, step in plan]

    def _take(self, jobs: list[Job]) -> None:
        for job in jobs:
            result = self.takeable.get(job.key)
            files = take(job, result, self.output) if result is not None else None
            if files:
                self.ledger.record(reused_event(job, result, files))
                self.reused[job.key] = result
            elif result is not None:
                self.not_taken[job.key] = result

    def record_index(self) -> None:
        """This folder's succeeded keys into the index; never fails the run."""
        if self.index is None:
            return
        jobs = {job.key: job for job in self.batch.jobs}
        try:
            self.index.record(ledger_results(self.ledger.state, self.output, jobs,
                                             api=self.api))
        except Exception as exc:  # noqa: BLE001 - the index is a convenience, the ledger the record
            self.index.problem = (self.index.problem
                                  or f"the index of paid results was not updated ({exc})")
        finally:
            # Not left to the garbage collector: a program running many batches would
            # hold one open database per run. It opens again if used again.
            self.index.close()

    def summary(self) -> dict[str, Any]:
        """The RunSummary fields of reuse."""
        return {"reused": len(self.reused), "reused_from": per_folder(self.reused, self.output),
                "paid_again": per_folder(self.again, self.output),
                "not_reused": per_folder(self.not_taken, self.output),
                "index_problem": self.index.problem if self.index is not None else None}
