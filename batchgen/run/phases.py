"""Where every job of a run stands, as the progress shows it.

Every job of the batch is in one phase: waiting (not sent yet), submitting (holding a
slot: uploading its frames, calling generate, waiting out a 429, or having its lost
answer looked up), on the server (the API has it), succeeded (finished on the server,
files still downloading), downloaded (done), failed.
"""

from __future__ import annotations

from typing import Iterable

from batchgen.jobs import Job
from batchgen.run.decisions import Step

WAITING, SUBMITTING, ON_SERVER, SUCCEEDED, DOWNLOADED, FAILED = (
    "waiting", "submitting", "on server", "succeeded", "downloaded", "failed")
PHASES = (WAITING, SUBMITTING, ON_SERVER, SUCCEEDED, DOWNLOADED, FAILED)
SETTLED = (DOWNLOADED, FAILED)  # what the bar counts as done
# Where a job the run starts with stands, by the step the ledger gives it.
STARTING = {Step.SUBMIT: WAITING, Step.RECOVER: SUBMITTING, Step.POLL: ON_SERVER,
            Step.DOWNLOAD: SUCCEEDED, Step.DONE: DOWNLOADED, Step.SKIP_FAILED: FAILED}


class Tally:
    """How many of the batch's jobs are in each phase, and so how long the rest should take.

    `elsewhere` jobs are left to the other folders of the batch that sent them: they
    count as settled from the start.
    """

    def __init__(self, plan: Iterable[tuple[Job, Step]], *, elsewhere: int = 0):
        self.counts = dict.fromkeys(PHASES, 0)
        self._phase: dict[str, str] = {}  # key -> phase, for jobs neither waiting nor done
        for job, step in plan:
            phase = STARTING[step]
            self.counts[phase] += 1
            if phase not in (WAITING, DOWNLOADED):
                self._phase[job.key] = phase
        self.elsewhere = elsewhere
        self.total = sum(self.counts.values()) + elsewhere
        self._settled_before = self.settled

    @property
    def settled(self) -> int:
        """Jobs downloaded, failed or left to other folders: what the bar counts as done."""
        return self.counts[DOWNLOADED] + self.counts[FAILED] + self.elsewhere

    def move(self, job: Job, phase: str) -> bool:
        """Put the job in `phase`; False if it was there already (nothing to redraw)."""
        old = self._phase.get(job.key, WAITING)
        if old == phase:
            return False
        self.counts[old] -= 1
        self.counts[phase] += 1
        if phase == DOWNLOADED:
            self._phase.pop(job.key, None)
        else:
            self._phase[job.key] = phase
        return True

    def eta(self, elapsed: float) -> float | None:
        """Seconds the jobs left should take at this run's pace so far; None: no pace yet."""
        done_now = self.settled - self._settled_before
        left = self.total - self.settled
        if not left:
            return 0.0
        if done_now <= 0 or elapsed <= 0:
            return None
        return elapsed / done_now * left

    def breakdown(self) -> str:
        """`0 waiting, 1 submitting, ...`: the count of every phase."""
        c = self.counts
        text = (f"{c[WAITING]:,} waiting, {c[SUBMITTING]:,} submitting, {c[ON_SERVER]:,} on server, "
                f"{c[SUCCEEDED] + c[DOWNLOADED]:,} succeeded ({c[DOWNLOADED]:,} downloaded), "
                f"{c[FAILED]:,} failed")
        if self.elsewhere:
            text += f", {self.elsewhere:,} sent from other folders"
        return text
