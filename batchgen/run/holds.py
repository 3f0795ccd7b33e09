"""Budget holds of one run: `--max-cu` kept while generate calls are in flight.

A job's estimated cost is held before its generate call; it becomes spend at the cost
the API reports once the job has a jobId, and is freed when the job provably failed.
Keys whose answer a crashed run lost are held first, whatever the cap: they may have
been charged already (those the manifest no longer has, for good, at the dearest
estimate).
"""

from __future__ import annotations

from typing import Any, Callable

from batchgen.jobs import Job
from batchgen.ledger.state import LedgerState
from batchgen.run.decisions import Step
from batchgen.run.budget import Budget, at_stake
from batchgen.run.estimate import Estimate, estimate


class BudgetHolds:
    """The estimate of what a run may submit, and the `Budget` its submissions draw on."""

    def __init__(self, limit: float | None, *, say: Callable[[str], None],
                 describe: Callable[[Job], str]):
        self.limit = limit
        self._say = say
        self._describe = describe
        self.estimate: Estimate | None = None
        self.budget: Budget | None = None
        self.costs: dict[str, float | None] = {}
        self._reserved: dict[str, float] = {}  # key -> estimated cost held in the budget
        self.stopped = False  # --max-cu stopped the submissions

    async def prepare(self, client: Any, batch: Any, plan: list[tuple[Job, Step]],
                      state: LedgerState, *, confirm: Callable[[Estimate, float], None] | None,
                      reuse_uploads: bool) -> None:
        """Estimate what the run may submit, let `confirm` refuse, and set up --max-cu."""
        if self.limit is None and confirm is None:
            return
        todo = [job for job, step in plan if step in (Step.SUBMIT, Step.RECOVER)]
        if not todo:
            return
        uploads = state.uploads if reuse_uploads else {}
        self.estimate = await estimate(client, batch.model, todo, frame_assets=uploads)
        spent = state.spent
        if confirm is not None:
            confirm(self.estimate, at_stake(self.estimate.total, limit=self.limit,
                                            spent_before=spent))
        if self.limit is not None:
            self.budget = Budget(self.limit, spent_before=spent)
            self.costs = self.estimate.job_costs()
            for job, step in plan:
                if step is Step.RECOVER:
                    # Lost by a crashed run, and perhaps charged: held before any new
                    # submission may take the room, settled at its listed cost if found,
                    # and kept for its submission if it proves unsent.
                    cost = self.costs.get(job.key, 0.0)
                    self.budget.hold(cost)
                    self._reserved[job.key] = cost
            # A key a crashed run left with its answer lost that the manifest no longer
            # has (edited away since): its job may exist, charged, and no recovery looks
            # for it. Held at the dearest estimate, in this run and every later one (the
            # seeded schedules found a reworded prompt letting the cap be passed).
            planned = {job.key for job, _ in plan}
            known = [c for c in self.costs.values() if c is not None]
            for key, ks in state.jobs.items():
                if ks.ambiguous and key not in planned and known:
                    self.budget.hold(max(known))

    def reserve(self, job: Job) -> bool:
        """Hold the job's estimated cost in the budget; False: submit nothing more."""
        if self.budget is None or job.key in self._reserved:
            return True
        cost = self.costs.get(job.key)
        if cost is not None and self.budget.reserve(cost):
            self._reserved[job.key] = cost
            return True
        self.budget.exhausted = True
        if not self.stopped:
            why = ("its cost could not be estimated" if cost is None else
                   f"{self._describe(job)} would take the batch past --max-cu {self.limit:g}")
            self._say(f"budget: no more submissions ({why}); "
                      "letting the jobs in flight finish")
        self.stopped = True  # jobs already holding a reservation still go
        return False

    def settle(self, job: Job, state: LedgerState) -> None:
        """Turn the job's reservation into spend once it has a jobId; free it if it failed."""
        if self.budget is None or job.key not in self._reserved:
            return
        ks = state.jobs.get(job.key)
        if ks is not None and ks.job_id:
            self.budget.settle(self._reserved.pop(job.key), ks.cost)
        elif ks is not None and ks.state == "failed":
            self.budget.release(self._reserved.pop(job.key))

    def summary(self, unsent: int) -> str | None:
        """The budget's line of the run's summary, `unsent` jobs left pending; None
        without --max-cu."""
        if self.budget is None:
            return None
        return (f"{self.budget.summary()}"
                + (f"; {unsent} job{'s' if unsent != 1 else ''} not submitted"
                   if self.stopped else ""))
