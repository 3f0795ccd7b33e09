"""The simulator's `POST /generate/custom/{model_id}`: the body checked against the
model's schema, the team's ceiling (429), dry runs, and each new job's drawn timeline.

Part of `Simulator` (app.py), whose knobs and state it reads.
"""

from __future__ import annotations

from typing import Any

from batchgen.jobs import canonical_json
from batchgen.simulator import model
from batchgen.simulator.http import Request, Response, json_response
from batchgen.simulator.state import AUTHOR_ID, FAILURE_MESSAGES, OWNER_ID, SimJob, new_id, phases
from batchgen.timestamps import iso

ACTION_NAME = "custom-generation"


class GenerateRoutes:
    """Generating: the one route that creates jobs."""

    def _generate(self, request: Request) -> Response:
        served = self.models.get(request.params["model_id"])
        if served is None:
            return self._error(404, f"Model {request.params['model_id']} not found")
        if self.access_denied:
            return self._error(403, f"Your plan does not include {served.id}: it requires the "
                              "Pro plan or above", hint="Upgrade your plan or ask your team admin.")
        try:
            body = request.json()
        except ValueError:
            return self._error(400, "The request body is not valid JSON")
        dry_run = request.query.get("dryRun") in ("true", "api")
        if not dry_run:
            self.counters.generate_calls[canonical_json(body)] += 1
        problem = model.check_body(served, body, self._is_image)
        if problem:
            return self._error(400, problem, hint="Check the model's inputs with GET /models/" + served.id)
        cost = served.price(body)
        if dry_run:
            return self._fault() or self._dry_run(body, cost)
        if self.in_flight() >= self.ceiling:
            return self._rate_limited()
        strike_after = self._dice.chance(self.faults.after_create)
        fault = self._fault()
        if fault is not None and not strike_after:
            return fault
        job = self._create_job(body, cost)
        job.model_id = served.id
        return fault or json_response(200, self._generate_answer(self._job_json(job), cost))

    def _rate_limited(self, message: str | None = None) -> Response:
        """A 429 with Retry-After: over the ceiling, or (with `message`) injected at random."""
        self.counters.rate_limited += 1
        wait = round(self.retry_after / self.time_scale, 3)
        if message is not None:
            answer = self._error(429, message)
        elif self.rate_limit_style == "details":
            answer = self._error(429, f"Too many jobs in progress: your team's limit is "
                                 f"{self.ceiling}",
                                 details={"actionName": ACTION_NAME, "actionLimit": self.ceiling})
        elif self.rate_limit_style == "remaining":
            return self._error(429, "Too many jobs in progress", remainingSeconds=wait)
        else:
            return self._error(429, "Too many requests")
        answer.headers["Retry-After"] = format(wait, "g")
        return answer

    def _dry_run(self, body: dict[str, Any], cost: int) -> Response:
        # The SDK's response model requires `job` even for dry runs: a preview, never stored.
        now = self.clock()
        preview = {"jobId": "job_dryrun", "jobType": "custom", "status": "pending", "progress": 0,
                   "createdAt": iso(now), "updatedAt": iso(now),
                   "statusHistory": [{"status": "pending", "date": iso(now)}],
                   "metadata": {"input": body}, "billing": {"cuCost": cost, "cuDiscount": 0},
                   "authorId": AUTHOR_ID, "ownerId": OWNER_ID}
        return json_response(269, self._generate_answer(preview, cost))

    @staticmethod
    def _generate_answer(job: dict[str, Any], cost: int) -> dict[str, Any]:
        return {"job": job, "creativeUnitsCost": cost, "creativeUnitsDiscount": 0,
                "costDetails": {ACTION_NAME: cost}}

    def _create_job(self, body: dict[str, Any], cost: int) -> SimJob:
        now = self.clock()
        timelines = self._timelines
        duration = timelines.uniform(*self.duration_range)
        queue = timelines.uniform(*self.queue_range) if self.queue_range else None
        stall = timelines.uniform(*self.stall_range) if self.stall_range else 0.0
        job = SimJob(job_id=new_id(self._dice.rng, "job_"), body=body, created=now,
                     duration=duration + stall, time_scale=self.time_scale,
                     cost=cost, asset_ids=[new_id(self._dice.rng, "asset_")],
                     phases=phases(duration, queue, stall),
                     readable_after=self.unreadable_for / self.time_scale,
                     asset_delay=self.asset_pending_for / self.time_scale)
        if timelines.chance(self.faults.job_failure):
            job.failure = timelines.choice(FAILURE_MESSAGES)
            job.fail_at = timelines.uniform(0.25, 0.85)
        self.jobs[job.job_id] = job
        self._asset_owner.update(dict.fromkeys(job.asset_ids, job.job_id))
        self.counters.jobs_created[canonical_json(body)] += 1
        return job
