"""The simulator's jobs as the API shows them: `GET /jobs/{id}`, `GET /jobs` (its rules
in `listing`), and what tests and benchmarks read about them.

Part of `Simulator` (app.py), whose knobs and state it reads.
"""

from __future__ import annotations

from typing import Any

from batchgen.models.catalog import DEFAULT_MODEL
from batchgen.simulator import listing
from batchgen.simulator.http import Request, Response, json_response
from batchgen.simulator.state import AUTHOR_ID, OWNER_ID, JobTiming, SimJob, peak_overlap
from batchgen.timestamps import iso


class JobRoutes:
    """Reading jobs: one, a page of the list, and the server-side timing."""

    def in_flight(self) -> int:
        """Jobs created and not final at this moment."""
        now = self.clock()
        return sum(1 for job in self.jobs.values() if job.in_flight(now))

    @property
    def peak_in_flight(self) -> int:
        """Most jobs that were ever in flight at the same time."""
        return peak_overlap([(j.created, j.end) for j in self.jobs.values()])

    def timings(self) -> list[JobTiming]:
        """Server-side timing of every job, oldest first."""
        out = []
        for job in sorted(self.jobs.values(), key=lambda j: j.created):
            asset = self.assets.get(job.asset_ids[0])
            first = asset.first_download if asset else None
            out.append(JobTiming(job.job_id, job.created, job.end, job.duration,
                                 "failure" if job.failure else "success", first))
        return out

    def _job_json(self, job: SimJob) -> dict[str, Any]:
        now = self.clock()
        history = job.history(now)
        status = history[-1][0]
        metadata: dict[str, Any] = {"input": self._echo(job)}
        if status == "success":
            # The files are encoded when first asked for (asset or bulk call), not by
            # every status or list call that reports the job done.
            metadata["assetIds"] = list(job.asset_ids)
        if status == "failure" and job.failure:
            metadata["error"], metadata["hint"] = job.failure
        return {"jobId": job.job_id, "jobType": "custom", "status": status,
                "progress": job.progress(now)[0], "createdAt": iso(job.created),
                "updatedAt": iso(job.updated(now)),
                "statusHistory": [{"status": s, "date": iso(t)} for s, t in history],
                "metadata": metadata, "billing": {"cuCost": job.cost, "cuDiscount": 0},
                "authorId": AUTHOR_ID, "ownerId": OWNER_ID}

    def _echo(self, job: SimJob) -> dict[str, Any]:
        """The job's `metadata.input`: its body, as the echo knobs shape it."""
        if not (self.echo_defaults or self.echo_omits):
            return job.body
        served = self.models.get(job.model_id or DEFAULT_MODEL)
        echoed = {**(served.defaults() if served and self.echo_defaults else {}), **job.body}
        return {k: v for k, v in echoed.items() if k == "prompt" or k not in self.echo_omits}

    def _get_job(self, request: Request) -> Response:
        job = self.jobs.get(request.params["job_id"])
        if job is None or not job.readable(self.clock()):
            return self._error(404, f"Job {request.params['job_id']} not found")
        return json_response(200, {"job": self._job_json(job)})

    def _list_jobs(self, request: Request) -> Response:
        query = listing.ListQuery.parse(request.query)
        if isinstance(query, str):
            return self._error(400, query)
        now = self.clock()
        visible = (job for job in self.jobs.values() if job.readable(now))
        jobs, token = listing.page(query, visible, now, self._short_page)
        return json_response(200, {"jobs": [self._job_json(job) for job in jobs],
                                   "nextPaginationToken": token})

    def _short_page(self, size: int) -> int | None:
        """How many of `size` jobs a page cut short holds (0 included), or None: a whole page."""
        if not self._dice.chance(self.short_page_rate):
            return None
        return self._dice.randrange(size)
