"""The simulated Scenario API: an ASGI app with knobs, fault injection and counters.

`Simulator(**knobs).app` is used in process through `httpx.ASGITransport` and served
on loopback by `batchgen simulate`. Every duration knob is in simulated seconds;
`time_scale` says how many simulated seconds pass per real second.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any, Callable, Iterable

from batchgen.models.catalog import DEFAULT_MODEL
from batchgen.models.model import Model
from batchgen.simulator import model, uploads
from batchgen.simulator.assets import AssetRoutes
from batchgen.simulator.faults import Dice, FaultRates
from batchgen.simulator.generate import GenerateRoutes
from batchgen.simulator.http import (Request, Response, Router, error, lifespan, read_request,
                                     send_response)
from batchgen.simulator.jobviews import JobRoutes
from batchgen.simulator.state import Counters, RecordedRequest, SimAsset, SimJob
from batchgen.simulator.uploadroutes import UploadRoutes

API_PREFIX = "/v1"
ERROR_FIELDS = ("reason", "message", "error", "detail")
RATE_LIMIT_STYLES = ("details", "bare", "remaining")


class Simulator(GenerateRoutes, JobRoutes, AssetRoutes, UploadRoutes):
    """A simulated Scenario API holding its jobs and assets in memory; its routes are
    grouped by resource in `generate.py`, `jobviews.py`, `assets.py` and `uploadroutes.py`.

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
        _check_knobs(duration_range, time_scale, ceiling, url_lifetime, retry_after,
                     (queue_range, stall_range), error_field, rate_limit_style, unreadable_for,
                     asset_pending_for, short_page_rate)
        low, high = duration_range
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

    @property
    def app(self) -> Callable:
        """The ASGI application."""
        return self.__call__

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        if request is not None:
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


def _check_knobs(duration_range: tuple[float, float], time_scale: float, ceiling: int,
                 url_lifetime: float, retry_after: float,
                 ranges: tuple[tuple[float, float] | None, ...], error_field: str,
                 rate_limit_style: str, unreadable_for: float, asset_pending_for: float,
                 short_page_rate: float) -> None:
    """Refuse knob values the simulator cannot honour (a ValueError naming the rule)."""
    low, high = duration_range
    if not 0 < low <= high:
        raise ValueError(f"duration range must satisfy 0 < low <= high, got {duration_range}")
    if time_scale <= 0 or ceiling < 1 or url_lifetime <= 0 or retry_after < 0:
        raise ValueError("time_scale and url_lifetime must be > 0, ceiling >= 1, retry_after >= 0")
    for knob in ranges:
        if knob is not None and not 0 <= knob[0] <= knob[1]:
            raise ValueError(f"queue and stall ranges must satisfy 0 <= low <= high, got {knob}")
    if error_field not in ERROR_FIELDS or rate_limit_style not in RATE_LIMIT_STYLES:
        raise ValueError(f"error_field must be one of {ERROR_FIELDS}, rate_limit_style one of "
                         f"{RATE_LIMIT_STYLES}")
    if unreadable_for < 0 or asset_pending_for < 0 or not 0 <= short_page_rate <= 1:
        raise ValueError("unreadable_for and asset_pending_for must be >= 0, "
                         "short_page_rate between 0 and 1")


def _recorded(request: Request) -> RecordedRequest:
    headers = {k: v for k, v in request.headers.items() if k != "authorization"}
    try:
        body = request.json() if request.body else None
    except (ValueError, UnicodeDecodeError):
        body = None
    return RecordedRequest(request.method, request.path, dict(request.query), headers, body)
