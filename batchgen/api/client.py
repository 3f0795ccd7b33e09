"""The async Scenario API client: one connection pool, typed errors, safe retries.

Idempotent calls (reads, dry runs, bulk reads, uploads) retry retriable errors with
the client's RetryPolicy. A real generate call is sent once: if its outcome is
unknown (time-out or dropped connection after sending, or a 5xx) it raises
AmbiguousSubmission and the caller must look for the job before thinking of sending
it again. Only a connection that failed before anything was sent is retried.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import mimetypes
import os
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable

import anyio
import httpx

from batchgen import redact
from batchgen.api.auth import BasicAuth, Credentials
from batchgen.api.retry import RetryPolicy, call_with_retry
from batchgen.timestamps import iso
from batchgen.errors import (AccessDenied, AmbiguousSubmission, APIError, ConnectFailed,
                             JobRejected, RateLimited, ServerError, TransportError, URLExpired,
                             UsageError)

DEFAULT_BASE_URL = "https://api.cloud.scenario.com/v1"
BASE_URL_VARIABLE = "SCENARIO_BASE_URL"
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=120.0)
MAX_BULK_ASSETS = 200
# Scenario's guides: inline base64 only for small files (about 100 KB), the multipart
# `/uploads` flow beyond. The part size is not documented: 5 MiB is the usual minimum
# part of object stores, so a frame is almost always one part.
INLINE_UPLOAD_LIMIT = 100 * 1024
UPLOAD_PART_SIZE = 5 * 1024 * 1024
UPLOAD_VALIDATION_WAIT = 120.0  # seconds an upload may stay validating after `complete`
IMPORTED = ("imported", "complete")
FILTER_NAMES = {"page_size": "pageSize", "pagination_token": "paginationToken",
                "created_after": "createdAfter", "updated_after": "updatedAfter",
                "status": "status", "type": "type", "types": "types",
                "workflow_id": "workflowId", "author_id": "authorId", "project_id": "projectId"}
# Where an error body carries its text, in the order Scenario's own client reads them
# (scenario-labs/blender-plugin, scenario/core/api/client.py).
ERROR_TEXT_FIELDS = ("reason", "message", "error", "detail")
TRACE_FIELDS = ("traceId", "trace_id")


def resolve_base_url(base_url: str | None = None) -> str:
    """`base_url`, else SCENARIO_BASE_URL, else Scenario's; UsageError if it is no http(s) URL."""
    url = base_url or os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        parsed = None
    if parsed is None or not url.startswith(("http://", "https://")) or not parsed.host:
        raise UsageError(f"the API base URL {redact.shown_url(url)!r} is not an http(s) URL")
    if parsed.userinfo or parsed.query or parsed.fragment:
        # It would reach the ledger (which API a folder's jobs come from), logs and
        # messages; credentials come from the environment only, and a query would be
        # glued to every path.
        raise UsageError(f"the API base URL {redact.shown_url(url)} must carry no user name, "
                         "password, query or fragment: give the credentials in "
                         "SCENARIO_SDK_API_KEY and SCENARIO_SDK_API_SECRET")
    return url.rstrip("/")


class ScenarioClient:
    """Scenario's API over one httpx connection pool; use as `async with`.

    Methods return the API's JSON (dicts, extra fields kept) and raise the errors of
    `batchgen.errors`. `transport` plugs in e.g. `httpx.ASGITransport(sim.app)`.
    """

    def __init__(self, base_url: str | None = None, api_key: str | None = None,
                 api_secret: str | None = None, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT, retry: RetryPolicy = RetryPolicy(),
                 max_connections: int = 32,
                 sleep: Callable[[float], Awaitable[None]] = anyio.sleep) -> None:
        self.base_url = resolve_base_url(base_url)
        self._credentials = Credentials.resolve(api_key, api_secret)
        self.retry = retry
        self._sleep = sleep
        # Since when every call has failed to connect (monotonic), None while answers come:
        # the runner ends a run that could not reach the API for too long.
        self._unreachable_since: float | None = None
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/", auth=BasicAuth(self._credentials), transport=transport,
            timeout=timeout, follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            headers={"accept": "application/json", "user-agent": "batchgen"})

    def __repr__(self) -> str:
        return f"ScenarioClient(base_url={self.base_url!r})"

    def unreachable_for(self) -> float:
        """Seconds during which every API call failed to connect (0 once one got an answer)."""
        since = self._unreachable_since
        return 0.0 if since is None else time.monotonic() - since

    async def __aenter__(self) -> "ScenarioClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- the API -------------------------------------------------------------------------

    async def generate(self, model: str, body: dict[str, Any], *,
                       dry_run: bool | str = False) -> dict[str, Any]:
        """Launch a generation (the whole answer, with `job`); with dry_run, its cost (HTTP 269).

        `dry_run` is True (sent as `dryRun=true`) or the tier to ask for (`"api"`).

        A real generate is never resent after it may have reached the API: see the
        module docstring. RateLimited (429) is raised as is: no job was created.
        """
        path = f"generate/custom/{model}"
        if dry_run:
            tier = "true" if dry_run is True else str(dry_run)
            return await self._call("POST", path, json=body, params={"dryRun": tier})
        attempt = lambda: self._send("POST", path, json=body)  # noqa: E731
        try:
            response = await call_with_retry(attempt, self.retry, what=f"POST /{path}",
                                             retry_on=(ConnectFailed,), sleep=self._sleep)
            return _json(response)
        except ConnectFailed:
            raise
        except (TransportError, ServerError) as exc:
            raise AmbiguousSubmission(
                f"the generate call for {model} may or may not have created a job "
                f"({exc.message}); look the job up before submitting it again",
                status=exc.status, body=exc.body) from exc

    async def get_job(self, job_id: str) -> dict[str, Any]:
        """The Job."""
        return (await self._call("GET", f"jobs/{job_id}"))["job"]

    async def list_jobs(self, **filters: Any) -> tuple[list[dict[str, Any]], str | None]:
        """One page of jobs, newest first, and the token of the next page (None at the end).

        Filters: page_size, pagination_token, created_after, updated_after (ISO strings
        or datetimes), status, type, types (a list, sent comma separated), workflow_id,
        author_id, project_id. The API's rules: updated_after only with status, type,
        types or workflow_id; created_after only without them.
        """
        answer = await self._call("GET", "jobs", params=_filters(filters))
        return answer.get("jobs", []), answer.get("nextPaginationToken") or None

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        """Every job matching the filters, following pagination."""
        token = filters.pop("pagination_token", None)
        while True:
            jobs, token = await self.list_jobs(**filters, pagination_token=token)
            for job in jobs:
                yield job
            if not token:
                return

    async def get_asset(self, asset_id: str) -> dict[str, Any]:
        """The Asset (its `url` is a fresh signed URL)."""
        return (await self._call("GET", f"assets/{asset_id}"))["asset"]

    async def get_assets(self, asset_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The Assets of these ids (asked 200 at a time); unknown ids are left out."""
        ids = list(dict.fromkeys(asset_ids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), MAX_BULK_ASSETS):
            chunk = ids[start:start + MAX_BULK_ASSETS]
            found += (await self._call("POST", "assets/get-bulk", json={"assetIds": chunk}))["assets"]
        return found

    async def upload_image(self, data: bytes, name: str) -> dict[str, Any]:
        """Upload an image; the new Asset, whose id startFrame/endFrame take.

        Up to INLINE_UPLOAD_LIMIT bytes inline (`POST /assets`, base64), larger ones by
        the multipart flow (`POST /uploads`, PUT each part, `complete`, then the upload
        is polled until its asset exists). Retried like a read: a repeated upload only
        leaves a spare asset, nothing billed. JobRejected if the API refuses the image.
        """
        if len(data) > INLINE_UPLOAD_LIMIT:
            return await self._upload_multipart(data, name)
        payload = {"image": base64.b64encode(data).decode("ascii"), "name": name}
        return (await self._call("POST", "assets", json=payload))["asset"]

    async def _upload_multipart(self, data: bytes, name: str) -> dict[str, Any]:
        parts = max(1, math.ceil(len(data) / UPLOAD_PART_SIZE))
        created = (await self._call("POST", "uploads", json={
            "fileName": name, "contentType": image_type(data, name), "fileSize": len(data),
            "kind": "image", "parts": parts}))["upload"]
        upload_id = str(created["id"])
        urls = {int(p["number"]): str(p["url"]) for p in created.get("parts") or []
                if isinstance(p, dict) and "number" in p and "url" in p}
        if sorted(urls) != list(range(1, parts + 1)):
            raise ServerError(f"POST /uploads answered without a URL for each of the {parts} "
                              f"parts of {name}", status=200)
        for number in range(1, parts + 1):
            chunk = data[(number - 1) * UPLOAD_PART_SIZE:number * UPLOAD_PART_SIZE]
            await call_with_retry(lambda: self._put_part(urls[number], chunk), self.retry,
                                  what=f"PUT part {number} of upload {upload_id}", sleep=self._sleep)
        action = f"uploads/{upload_id}/action"
        upload = (await self._call("POST", action, json={"action": "complete"}))["upload"]
        waited, wait = 0.0, 0.25
        while upload.get("status") not in IMPORTED or not upload.get("entityId"):
            if upload.get("status") == "failed":
                words = redact.text(str(upload.get("errorMessage") or "no reason given"))
                raise JobRejected(f"the upload of {name} failed: {words}", status=400)
            if waited >= UPLOAD_VALIDATION_WAIT:
                raise ServerError(f"the upload of {name} was still {upload.get('status')!r} "
                                  f"{waited:.0f} s after it was completed")
            await self._sleep(wait)
            waited, wait = waited + wait, min(wait * 2, 5.0)
            upload = (await self._call("GET", f"uploads/{upload_id}"))["upload"]
        return await self.get_asset(str(upload["entityId"]))

    async def _put_part(self, url: str, chunk: bytes) -> None:
        """PUT one part to its signed URL, without credentials (it may be another host)."""
        if not url.startswith(("http://", "https://")):
            raise ServerError("an upload part URL is not an absolute http(s) URL")
        where = f"PUT {httpx.URL(url).copy_with(query=None)}"
        try:
            response = await self._http.put(url, content=chunk, auth=None,
                                            headers={"content-type": "application/octet-stream"})
        except httpx.TransportError as exc:
            raise _transport_error(exc, where) from exc
        if response.status_code in (401, 403, 410):
            # A refused signed URL is no verdict on the credentials: this upload failed.
            raise JobRejected(f"{where}: the storage refused the part ({response.status_code})",
                              status=response.status_code)
        if not 200 <= response.status_code < 300:
            raise _status_error(response, where, self._credentials)

    async def team_limits(self, team_id: str) -> dict[str, Any]:
        """The team's plan limits (`limits` of `GET /teams/{teamId}/limits`), among them
        `parallelCustomJobs`: how many custom generations may run at once."""
        return (await self._call("GET", f"teams/{team_id}/limits"))["limits"]

    async def get_model(self, model_id: str) -> dict[str, Any]:
        """The model's definition, with its `inputs`."""
        return (await self._call("GET", f"models/{model_id}"))["model"]

    @contextlib.asynccontextmanager
    async def download(self, url: str) -> AsyncIterator["Download"]:
        """Stream a signed CDN URL without credentials (the CDN may be another host).

        Raises URLExpired on 403 (get the asset again for a fresh URL), and the usual
        errors otherwise; a body cut short raises TransportError while reading.
        """
        if not url.startswith(("http://", "https://")):
            raise ValueError("download needs an absolute http(s) URL")
        # identity: the file is checked byte for byte against its size, never decoded.
        request = self._http.build_request("GET", url, headers={"accept": "*/*",
                                                                "accept-encoding": "identity"})
        where = f"GET {httpx.URL(url).copy_with(query=None)}"
        try:
            response = await self._http.send(request, auth=None, stream=True, follow_redirects=True)
        except httpx.TransportError as exc:
            raise _transport_error(exc, where) from exc
        try:
            if response.status_code != 200:
                await response.aread()
                if response.status_code == 403:
                    raise URLExpired(f"the download URL was refused ({where}: 403); "
                                     "get the asset again for a fresh URL", status=403)
                raise _status_error(response, where)
            yield Download(response, where)
        finally:
            await response.aclose()

    # -- plumbing ------------------------------------------------------------------------

    async def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        """An idempotent call, retried as the policy says; its JSON answer."""
        attempt = lambda: self._send(method, path, **kw)  # noqa: E731
        response = await call_with_retry(attempt, self.retry, what=f"{method} /{path}",
                                         sleep=self._sleep)
        return _json(response)

    async def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One request; any answer but 2xx, and any transport failure, raises an APIError."""
        where = f"{method} /{path}"
        try:
            response = await self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
                if self._unreachable_since is None:
                    self._unreachable_since = time.monotonic()
            elif not isinstance(exc, httpx.PoolTimeout):  # a busy pool says nothing of the API
                self._unreachable_since = None  # it connected: the API is there
            raise _transport_error(exc, where) from exc
        self._unreachable_since = None
        if not 200 <= response.status_code < 300:
            raise _status_error(response, where, self._credentials)
        return response


class Download:
    """A streamed download: `status_code`, `headers`, and `aiter_bytes()` that checks length."""

    def __init__(self, response: httpx.Response, where: str) -> None:
        self._response = response
        self._where = where
        self.status_code = response.status_code
        self.headers = response.headers
        length = response.headers.get("content-length")
        self.expected_size = int(length) if length and length.isdigit() else None

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body in chunks; TransportError if the connection drops or the body is short."""
        received = 0
        try:
            async for chunk in self._response.aiter_bytes(chunk_size):
                received += len(chunk)
                yield chunk
        except httpx.TransportError as exc:
            raise _transport_error(exc, self._where) from exc
        if self.expected_size is not None and received != self.expected_size:
            raise TransportError(f"{self._where}: the download stopped at {received} of "
                                 f"{self.expected_size} bytes")


def image_type(data: bytes, name: str) -> str:
    """The MIME type of an image, from its first bytes, else its name."""
    for magic, mime in ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                        (b"GIF8", "image/gif")):
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        raise ServerError(f"the API answered {response.status_code} with a body that is not JSON",
                          status=response.status_code) from None
    if not isinstance(answer, dict):
        raise ServerError("the API answered with JSON that is not an object",
                          status=response.status_code)
    return answer


def _filters(filters: dict[str, Any]) -> dict[str, str]:
    params = {}
    for name, value in filters.items():
        if name not in FILTER_NAMES:
            raise TypeError(f"list_jobs() got an unknown filter {name!r}")
        if value is None:
            continue
        if isinstance(value, datetime):
            value = iso(value)
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        params[FILTER_NAMES[name]] = str(value)
    return params


def _transport_error(exc: httpx.TransportError, where: str) -> TransportError:
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return ConnectFailed(f"{where}: could not connect ({type(exc).__name__}); nothing was sent")
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "lost the connection"
    return TransportError(f"{where}: {kind} ({type(exc).__name__}) before a complete answer")


def _status_error(response: httpx.Response, where: str,
                  credentials: Credentials | None = None) -> APIError:
    """The APIError for a non-2xx answer, with the API's message, hint and details."""
    status = response.status_code
    try:
        body: Any = response.json()
    except (ValueError, json.JSONDecodeError):
        body = None
    data = body if isinstance(body, dict) else {}
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    message = error_text(data) or response.reason_phrase or "no message"
    trace = next((str(data[f]) for f in TRACE_FIELDS if data.get(f)), None)
    if trace:
        message += f" (trace id {trace})"
    hint = data.get("hint") or details.get("hint")
    # An API never should echo credentials; make sure batchgen never repeats them, in
    # the words, the hint, or the body kept on the error (`details` included).
    message = redact.text(credentials.redact(message) if credentials else message)
    hint = redact.text(str(hint)) if hint else None
    body = redact.value(body)
    text = f"{where} answered {status}: {message}"
    wait = _retry_after(response)
    if wait is None and status == 429:
        wait = _seconds(data.get("remainingSeconds", details.get("remainingSeconds")))
    # x-should-retry overrides the status rule, as the official SDK reads it.
    should_retry = response.headers.get("x-should-retry", "").strip().lower()
    if status == 429:
        error: APIError = RateLimited(text, retry_after=wait, hint=hint, body=body,
                                      action_limit=_int(details.get("actionLimit")),
                                      action_name=redact.value(details.get("actionName")))
    elif status in (401, 403):
        return AccessDenied(text, status=status, hint=hint, body=body)
    elif should_retry == "true" or status >= 500 or status in (408, 409):
        # A 5xx stays a ServerError even when it says not to retry: on generate its
        # outcome is still unknown (recovered, never resent blindly).
        error = ServerError(text, status=status, hint=hint, body=body)
        error.retry_after = wait
    else:
        return JobRejected(text, status=status, hint=hint, body=body)
    error.should_retry = should_retry != "false"
    return error


def error_text(body: dict[str, Any]) -> str | None:
    """The API's words in an error body: the first of reason, message, error, detail."""
    for name in ERROR_TEXT_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, dict):  # {"error": {"message": ...}} nests the same fields
            inner = error_text(value)
            if inner:
                return inner
    return None


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the answer asks to wait: retry-after-ms, else retry-after (seconds or a date)."""
    wait = _seconds(response.headers.get("retry-after-ms"))
    if wait is not None:
        return wait / 1000
    value = response.headers.get("retry-after")
    if value is None:
        return None
    wait = _seconds(value)
    if wait is not None:
        return wait
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - datetime.now(timezone.utc).timestamp())
    except (TypeError, ValueError, IndexError):
        return None


def _seconds(value: Any) -> float | None:
    """A finite, non-negative number of seconds from a header or body value, else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, number) if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
