"""The simulated Scenario API: an ASGI app with knobs (knobs.py), fault injection and counters.

`Simulator(**knobs).app` is used in process through `httpx.ASGITransport` and served
on loopback by `batchgen simulate`.
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
from batchgen.simulator.faults import Dice
from batchgen.simulator.generate import GenerateRoutes
from batchgen.simulator.http import (Request, Response, Router, error, lifespan, read_request,
                                     send_response)
from batchgen.simulator.jobviews import JobRoutes
from batchgen.simulator.knobs import Knobs
from batchgen.simulator.state import Counters, RecordedRequest, SimAsset, SimJob
from batchgen.simulator.uploadroutes import UploadRoutes

API_PREFIX = "/v1"


class Simulator(Knobs, GenerateRoutes, JobRoutes, AssetRoutes, UploadRoutes):
    """A simulated Scenario API holding its jobs and assets in memory; its routes are
    grouped by resource in `generate.py`, `jobviews.py`, `assets.py` and `uploadroutes.py`,
    and read the knobs it was made with (`Knobs`, knobs.py).

    Besides the knobs: `api_key` and `api_secret` (the credentials it accepts), `seed`,
    `models` (schemas of models to serve beside the shipped ones: it serves every model
    it has a schema for), `model_inputs` (what `GET /models/{id}` serves for Luma Ray
    3.2, else derived from its schema) and `clock` (real time source, for tests).
    With `record_requests` (on by default) every request received is kept in `requests`.
    """

    def __init__(self, *, api_key: str = "sim-key", api_secret: str = "sim-secret",
                 seed: int | None = None, models: Iterable[Model] | None = None,
                 model_inputs: list[dict[str, Any]] | None = None, record_requests: bool = True,
                 clock: Callable[[], float] = time.time, **knobs: Any) -> None:
        Knobs.__init__(self, **knobs)
        self.models = model.served_models(models)
        self.inputs = {m.id: m.served_inputs() for m in self.models.values()}
        if model_inputs is not None:
            self.inputs[DEFAULT_MODEL] = model_inputs
        self.model_inputs = self.inputs[DEFAULT_MODEL]
        self.record_requests = record_requests
        self.requests: list[RecordedRequest] = []
        self._traces = 0
        self.clock = clock
        self.counters = Counters()
        self.jobs: dict[str, SimJob] = {}
        self.assets: dict[str, SimAsset] = {}
        self.uploads: dict[str, uploads.SimUpload] = {}
        self._asset_owner: dict[str, str] = {}  # video asset id -> job id
        self._dice = Dice(seed)
        # Jobs' timelines come from a stream of their own: the n-th job created lives the
        # same whatever other calls came first (list pages cut short, faults), so two
        # clients run on one seed face the same work.
        self._timelines = Dice(None if seed is None else f"{seed}/timelines")
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


def _recorded(request: Request) -> RecordedRequest:
    headers = {k: v for k, v in request.headers.items() if k != "authorization"}
    try:
        body = request.json() if request.body else None
    except (ValueError, UnicodeDecodeError):
        body = None
    return RecordedRequest(request.method, request.path, dict(request.query), headers, body)
