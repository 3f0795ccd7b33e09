"""The simulated Scenario API: an ASGI app with knobs, fault injection and counters.

`Simulator(**knobs).app` is used in process through `httpx.ASGITransport` and served
on loopback by `batchgen simulate`. Every duration knob is in simulated seconds;
`time_scale` says how many simulated seconds pass per real second.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import time
from typing import Any, Callable, Iterable

from batchgen.jobs import canonical_json
from batchgen.models.catalog import DEFAULT_MODEL
from batchgen.models.model import Model
from batchgen.simulator import listing, media, model, uploads
from batchgen.simulator.faults import Dice, FaultRates
from batchgen.simulator.http import (Request, Response, Router, error, json_response, lifespan,
                                     read_request, send_response)
from batchgen.timestamps import iso
from batchgen.simulator.state import (FAILURE_MESSAGES, Counters, JobTiming, RecordedRequest,
                                      SimAsset, SimJob, new_id, peak_overlap, phases)

API_PREFIX = "/v1"
ERROR_FIELDS = ("reason", "message", "error", "detail")
RATE_LIMIT_STYLES = ("details", "bare", "remaining")
MAX_BULK = 200
ACTION_NAME = "custom-generation"
AUTHOR_ID = "0f5e3a1c9b7d4e2fa6c8b0d1e3f5a7c9"
OWNER_ID = "team_SimulatedTeam00000000"


class Simulator:
    """A simulated Scenario API holding its jobs and assets in memory.

    Knobs: `duration_range` (simulated seconds a job takes), `time_scale`, `ceiling`
    (jobs in flight before generate answers 429; `GET /teams/{OWNER_ID}/limits` states it
    as `parallelCustomJobs`), `url_lifetime` (simulated seconds a
    signed URL lives), `retry_after` (simulated seconds advised on 429), the fault rates
    `server_error_rate`, `drop_rate`, `truncate_rate`, `failure_rate` (and
    `after_create_rate`, the share of generate faults that strike once the job
    exists), `rate_limit_rate` (API requests answered 429 with Retry-After whatever
    the load, as a busy API does; never after a job was created) and `expire_rate`
    (downloads refused as expired however young the URL, as when the CDN's clock runs
    ahead), `seed`, `models` (schemas of models to serve beside the shipped ones: it
    serves every model it has a schema for), `model_inputs` (what `GET /models/{id}`
    serves for Luma Ray 3.2, else derived from its schema), `access_denied`
    (generate answers 403) and `clock` (real time source, for tests).

    Timeline knobs (simulated seconds, off by default): `queue_range` draws, for each job
    and independently of its duration, how long it waits before `in-progress`;
    `stall_range` adds a drawn stall in `queued` on top of the duration. Either one
    moves status changes off the fixed shares of a job's duration (`state.phases`).

    The API's documented contract, on by default: `error_field` names the body field
    error answers carry their text in (`reason`, as Scenario's own client reads first;
    or `message`, `error`, `detail`); `short_page_rate` is the share of job-list pages
    cut short (or empty) while more follow; the list rules of `listing` are enforced.
    What the API does not promise, off by default: `unreadable_for` (simulated seconds
    a new job is absent from `GET /jobs/{id}` and the list), `asset_pending_for`
    (simulated seconds a video stays `pending`, without URL, after its job succeeded)
    and `rate_limit_style` (`details`: a 429 over the ceiling names it in `details` with
    Retry-After; `bare`: it states nothing; `remaining`: only a body `remainingSeconds`).
    How a job's `metadata.input` echoes the body, exact by default: `echo_defaults` adds
    the model's default for each input the body left out, `echo_omits` names fields the
    echo leaves out (the prompt never is).
    With `record_requests` (on by default) every request received is kept in `requests`.
    """

    def __init__(self, *, api_key: str = "sim-key", api_secret: str = "sim-secret",
                 duration_range: tuple[float, float] = (40.0, 120.0), time_scale: float = 1.0,
                 ceiling: int = 10, url_lifetime: float = 3600.0, retry_after: float = 5.0,
                 server_error_rate: float = 0.0, drop_rate: float = 0.0,
                 truncate_rate: float = 0.0, failure_rate: float = 0.0,
                 after_create_rate: float = 0.5, rate_limit_rate: float = 0.0,
                 expire_rate: float = 0.0, seed: int | None = None,
                 models: Iterable[Model] | None = None,
                 model_inputs: list[dict[str, Any]] | None = None, access_denied: bool = False,
                 queue_range: tuple[float, float] | None = None,
                 stall_range: tuple[float, float] | None = None,
                 error_field: str = "reason", short_page_rate: float = 0.3,
                 unreadable_for: float = 0.0, asset_pending_for: float = 0.0,
                 rate_limit_style: str = "details", record_requests: bool = True,
                 echo_defaults: bool = False, echo_omits: Iterable[str] = (),
                 clock: Callable[[], float] = time.time) -> None:
        low, high = duration_range
        if not 0 < low <= high:
            raise ValueError(f"duration range must satisfy 0 < low <= high, got {duration_range}")
        if time_scale <= 0 or ceiling < 1 or url_lifetime <= 0 or retry_after < 0:
            raise ValueError("time_scale and url_lifetime must be > 0, ceiling >= 1, retry_after >= 0")
        for knob in (queue_range, stall_range):
            if knob is not None and not 0 <= knob[0] <= knob[1]:
                raise ValueError(f"queue and stall ranges must satisfy 0 <= low <= high, got {knob}")
        if error_field not in ERROR_FIELDS or rate_limit_style not in RATE_LIMIT_STYLES:
            raise ValueError(f"error_field must be one of {ERROR_FIELDS}, rate_limit_style one of "
                             f"{RATE_LIMIT_STYLES}")
        if unreadable_for < 0 or asset_pending_for < 0 or not 0 <= short_page_rate <= 1:
            raise ValueError("unreadable_for and asset_pending_for must be >= 0, "
                             "short_page_rate between 0 and 1")
        self.duration_range = (float(low), float(high))
        self.queue_range, self.stall_range = queue_range, stall_range
        self.time_scale = float(time_scale)
        self.ceiling = int(ceiling)
        self.url_lifetime = float(url_lifetime)
        self.retry_after = float(retry_after)
        self.faults = FaultRates(server_error=server_error_rate, drop=drop_rate,
                                 truncate=truncate_rate, job_failure=failure_rate,
                                 after_create=after_create_rate, rate_limit=rate_limit_rate,
                                 expire=expire_rate)
        self.models = model.served_models(models)
        self.inputs = {m.id: m.served_inputs() for m in self.models.values()}
        if model_inputs is not None:
            self.inputs[DEFAULT_MODEL] = model_inputs
        self.model_inputs = self.inputs[DEFAULT_MODEL]
        self.access_denied = access_denied
        self.error_field = error_field
        self.short_page_rate = float(short_page_rate)
        self.unreadable_for = float(unreadable_for)
        self.asset_pending_for = float(asset_pending_for)
        self.rate_limit_style = rate_limit_style
        self.record_requests = record_requests
        self.echo_defaults, self.echo_omits = bool(echo_defaults), frozenset(echo_omits)
        self.requests: list[RecordedRequest] = []
        self._traces = 0
        self.clock = clock
        self.counters = Counters()
        self.jobs: dict[str, SimJob] = {}
        self.assets: dict[str, SimAsset] = {}
        self.uploads: dict[str, uploads.SimUpload] = {}
        self._asset_owner: dict[str, str] = {}  # video asset id -> job id
        self._dice = Dice(seed)
        self._auth = "Basic " + base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self._url_secret = secrets.token_bytes(32)
        self._started = clock()
        self._router = Router()
        for method, pattern, handler in (
            ("POST", "/generate/custom/{model_id}", self._generate),
            ("GET", "/jobs/{job_id}", self._get_job),
            ("GET", "/jobs", self._list_jobs),
            ("POST", "/assets/get-bulk", self._get_bulk),
            ("GET", "/assets/{asset_id}", self._get_asset),
            ("POST", "/assets", self._upload),
            ("POST", "/uploads", self._create_upload),
            ("GET", "/uploads/{upload_id}", self._get_upload),
            ("POST", "/uploads/{upload_id}/action", self._upload_action),
            ("GET", "/models/{model_id}", self._get_model),
            ("GET", "/teams/{team_id}/limits", self._team_limits),
        ):
            self._router.add(method, pattern, handler)

    # -- what tests and benchmarks read ------------------------------------------------

    @property
    def app(self) -> Callable:
        """The ASGI application."""
        return self.__call__

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

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        await send_response(send, self.handle(request))

    def handle(self, request: Request) -> Response:
        """Answer one request (synchronously: the state lives in memory)."""
        if self.record_requests:
            self.requests.append(_recorded(request))
        if request.path.startswith("/cdn/"):
            self.counters.calls["GET /cdn"] += 1
            return self._cdn(request)
        if request.path.startswith(uploads.PART_PREFIX) and request.method == "PUT":
            self.counters.calls["PUT /upload-parts"] += 1
            fault = self._fault()
            if fault is not None:
                return fault
            status, text = uploads.put_part(self.uploads, request, self.clock(), self._part_signed)
            return Response(status, text, "text/plain",
                            {"etag": f'"{len(request.body):x}"'} if status == 200 else {})
        if not request.path.startswith(API_PREFIX + "/"):
            return self._error(404, f"Cannot {request.method} {request.path}")
        found = self._router.match(request.method, request.path[len(API_PREFIX):])
        if found is None:
            return self._error(404, f"Cannot {request.method} {request.path}")
        route, handler, request.params = found
        self.counters.calls[route] += 1
        if not secrets.compare_digest(request.headers.get("authorization", ""), self._auth):
            self.counters.unauthorized += 1
            return self._error(401, "Unauthorized: invalid API key or secret")
        if self._dice.chance(self.faults.rate_limit):
            return self._rate_limited("Too many requests, slow down (simulated)")
        if handler == self._generate:
            return handler(request)  # draws its own faults: some strike after the job exists
        return self._fault() or handler(request)

    def _error(self, status: int, text: str, **extra: Any) -> Response:
        """An error answer with its text in the configured field, and a trace id."""
        self._traces += 1
        return error(status, text, field=self.error_field, traceId=f"sim-{self._traces:08x}",
                     **extra)

    def _fault(self) -> Response | None:
        """An injected failure for this request, or None."""
        if self._dice.chance(self.faults.server_error):
            self.counters.server_errors += 1
            status = self._dice.choice((500, 502, 503))
            return self._error(status, "Internal server error (simulated)")
        if self._dice.chance(self.faults.drop):
            self.counters.dropped += 1
            return Response(200, json.dumps({"simulated": "dropped"}).encode() + b" " * 64, drop=True)
        return None

    # -- generate ------------------------------------------------------------------------

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
        duration = self._dice.uniform(*self.duration_range)
        queue = self._dice.uniform(*self.queue_range) if self.queue_range else None
        stall = self._dice.uniform(*self.stall_range) if self.stall_range else 0.0
        job = SimJob(job_id=new_id(self._dice.rng, "job_"), body=body, created=now,
                     duration=duration + stall, time_scale=self.time_scale,
                     cost=cost, asset_ids=[new_id(self._dice.rng, "asset_")],
                     phases=phases(duration, queue, stall),
                     readable_after=self.unreadable_for / self.time_scale,
                     asset_delay=self.asset_pending_for / self.time_scale)
        if self._dice.chance(self.faults.job_failure):
            job.failure = self._dice.choice(FAILURE_MESSAGES)
            job.fail_at = self._dice.uniform(0.25, 0.85)
        self.jobs[job.job_id] = job
        self._asset_owner.update(dict.fromkeys(job.asset_ids, job.job_id))
        self.counters.jobs_created[canonical_json(body)] += 1
        return job

    # -- jobs ------------------------------------------------------------------------------

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

    # -- assets ----------------------------------------------------------------------------

    def _is_image(self, asset_id: str) -> bool:
        asset = self.assets.get(asset_id)
        return asset is not None and asset.kind == "image"

    def _materialize(self, job: SimJob) -> None:
        """Create the job's video assets once it has succeeded."""
        width, height = media.frame_size(job.body)
        for index, asset_id in enumerate(job.asset_ids):
            if asset_id not in self.assets:
                self.assets[asset_id] = SimAsset(
                    asset_id, "video", "video/mp4", media.video_for(job.job_id, index, job.body),
                    job.end, f"{job.job_id}-{index}.mp4", job_id=job.job_id, width=width, height=height,
                    ready=job.end + job.asset_delay)

    def _visible_asset(self, asset_id: str) -> SimAsset | None:
        if asset_id not in self.assets:
            owner = self.jobs.get(self._asset_owner.get(asset_id, ""))
            if owner is None or owner.status(self.clock()) != "success":
                return None
            self._materialize(owner)
        return self.assets[asset_id]

    def _asset_json(self, asset: SimAsset, origin: str) -> dict[str, Any]:
        expires = int((self.clock() + self.url_lifetime / self.time_scale) * 1000)
        ext = asset.mime_type.split("/")[1]
        sig = media.sign(self._url_secret, asset.id, expires)
        url = f"{origin}/cdn/{asset.id}.{ext}?expires={expires}&sig={sig}"
        status = "success"
        if asset.pending(self.clock()):
            status, url = "pending", ""  # the SDK types `url` as a string: empty until ready
        properties: dict[str, Any] = {"size": len(asset.data)}
        if asset.width:
            properties.update(width=asset.width, height=asset.height)
        if asset.kind == "video":
            owner = self.jobs.get(asset.job_id or "")
            properties["duration"] = media.clip_seconds(owner.body if owner else None)
        video = asset.kind == "video"
        metadata: dict[str, Any] = {"kind": asset.kind, "type": "txt2video" if video else "uploaded",
                                    "name": asset.name}
        if video:
            owner = self.jobs.get(self._asset_owner.get(asset.id, ""))
            metadata["modelId"] = owner.model_id if owner else DEFAULT_MODEL
        return {"id": asset.id, "authorId": AUTHOR_ID, "ownerId": OWNER_ID, "collectionIds": [],
                "createdAt": iso(asset.created), "updatedAt": iso(asset.created),
                "editCapabilities": [], "kind": asset.kind, "metadata": metadata,
                "mimeType": asset.mime_type, "privacy": "private", "properties": properties,
                "source": "txt2video" if video else "uploaded", "status": status, "tags": [],
                "url": url}

    def _get_asset(self, request: Request) -> Response:
        asset = self._visible_asset(request.params["asset_id"])
        if asset is None:
            return self._error(404, f"Asset {request.params['asset_id']} not found")
        return json_response(200, {"asset": self._asset_json(asset, request.origin)})

    def _get_bulk(self, request: Request) -> Response:
        try:
            ids = request.json().get("assetIds")
        except (ValueError, AttributeError):
            ids = None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return self._error(400, '"assetIds" must be a list of asset ids')
        if not 1 <= len(ids) <= MAX_BULK:
            return self._error(400, f'"assetIds" must hold between 1 and {MAX_BULK} ids')
        found = [a for a in (self._visible_asset(i) for i in dict.fromkeys(ids)) if a is not None]
        return json_response(200, {"assets": [self._asset_json(a, request.origin) for a in found]})

    def _upload(self, request: Request) -> Response:
        try:
            payload = request.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            return self._error(400, 'An upload needs "name" (the file name) and "image" (base64)')
        image = payload.get("image")
        if not isinstance(image, str):
            return self._error(400, '"image" must be a base64 string')
        try:
            data = base64.b64decode(image.split(",", 1)[1] if image.startswith("data:") else image,
                                    validate=True)
        except (binascii.Error, ValueError):
            return self._error(400, '"image" is not valid base64')
        if media.image_info(data) is None:
            return self._error(400, "Unsupported image: send a PNG, JPEG or WebP file")
        asset = self.assets[self._store_image(data, payload["name"])]
        return json_response(200, {"asset": self._asset_json(asset, request.origin)})

    # -- the multipart /uploads flow (simulator/uploads.py) -------------------------------

    def _part_signed(self, name: str, expires: int, sig: str) -> bool:
        return media.signature_ok(self._url_secret, name, expires, sig)

    def _upload_answer(self, upload: uploads.SimUpload, origin: str) -> Response:
        sign = lambda name, expires: media.sign(self._url_secret, name, expires)  # noqa: E731
        return json_response(200, {"upload": uploads.upload_json(upload, origin, sign,
                                                                 AUTHOR_ID, OWNER_ID)})

    def _create_upload(self, request: Request) -> Response:
        try:
            payload = request.json()
        except ValueError:
            payload = None
        problem = uploads.create_problem(payload)
        if problem:
            return self._error(400, problem)
        now = self.clock()
        upload = uploads.SimUpload(
            new_id(self._dice.rng, "upload_"), payload["fileName"], payload["contentType"],
            int(payload["fileSize"]), payload["kind"], int(payload["parts"]), now,
            int((now + self.url_lifetime / self.time_scale) * 1000))
        self.uploads[upload.id] = upload
        return self._upload_answer(upload, request.origin)

    def _get_upload(self, request: Request) -> Response:
        upload = self.uploads.get(request.params["upload_id"])
        if upload is None:
            return self._error(404, f"Upload {request.params['upload_id']} not found")
        uploads.validate(upload, self.clock(), self._store_image)
        return self._upload_answer(upload, request.origin)

    def _upload_action(self, request: Request) -> Response:
        upload = self.uploads.get(request.params["upload_id"])
        if upload is None:
            return self._error(404, f"Upload {request.params['upload_id']} not found")
        try:
            action = request.json().get("action")
        except (ValueError, AttributeError):
            action = None
        if action != "complete":
            return self._error(400, '"action" must be "complete"')
        problem = uploads.complete(upload, self.clock())
        if problem:
            return self._error(400, problem)
        return self._upload_answer(upload, request.origin)

    def _store_image(self, data: bytes, name: str) -> str:
        mime, width, height = media.image_info(data) or ("image/png", None, None)
        asset = SimAsset(new_id(self._dice.rng, "asset_"), "image", mime, data, self.clock(), name,
                         width=width, height=height)
        self.assets[asset.id] = asset
        return asset.id

    def _team_limits(self, request: Request) -> Response:
        """The team's limits in the SDK's shape; `parallelCustomJobs` is the ceiling."""
        if request.params["team_id"] != OWNER_ID:
            return self._error(404, f"Team {request.params['team_id']} not found")
        return json_response(200, model.team_limits(self.ceiling, iso(self._started)))

    def _get_model(self, request: Request) -> Response:
        served = self.models.get(request.params["model_id"])
        if served is None:
            return self._error(404, f"Model {request.params['model_id']} not found")
        document = model.model_document(served, self.inputs[served.id], iso(self._started))
        return json_response(200, {"model": document})

    # -- the CDN ---------------------------------------------------------------------------

    def _cdn(self, request: Request) -> Response:
        name = request.path[len("/cdn/"):]
        asset_id = name.rsplit(".", 1)[0]
        try:
            expires = int(request.query.get("expires", ""))
        except ValueError:
            return Response(403, b"Forbidden: missing or malformed signature", "text/plain")
        if not media.signature_ok(self._url_secret, asset_id, expires, request.query.get("sig", "")):
            return Response(403, b"Forbidden: bad signature", "text/plain")
        if self.clock() * 1000 > expires or self._dice.chance(self.faults.expire):
            self.counters.expired += 1
            return Response(403, b"Forbidden: the signed URL has expired", "text/plain")
        asset = self.assets.get(asset_id)
        if asset is None or asset.pending(self.clock()):
            return Response(404, b"Not found", "text/plain")
        if self._dice.chance(self.faults.truncate):
            self.counters.dropped += 1
            return Response(200, asset.data, asset.mime_type, drop=True)
        if asset.first_download is None:
            asset.first_download = self.clock()
        return Response(200, asset.data, asset.mime_type,
                        {"cache-control": f"private, max-age={math.floor(self.url_lifetime)}"})


def _recorded(request: Request) -> RecordedRequest:
    headers = {k: v for k, v in request.headers.items() if k != "authorization"}
    try:
        body = request.json() if request.body else None
    except (ValueError, UnicodeDecodeError):
        body = None
    return RecordedRequest(request.method, request.path, dict(request.query), headers, body)
