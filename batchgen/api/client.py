"""The async Scenario API client: one connection pool, typed errors, safe retries.

Idempotent calls (reads, dry runs, bulk reads, uploads) retry retriable errors with
the client's RetryPolicy. A real generate call is sent once: if its outcome is
unknown (time-out or dropped connection after sending, or a 5xx) it raises
AmbiguousSubmission and the caller must look for the job before thinking of sending
it again. Only a connection that failed before anything was sent is retried.
"""


from __future__ import annotations

import os
from datetime import datetime
from typing import Any, AsyncContextManager, AsyncIterator, Awaitable, Callable, Iterable

import anyio
import httpx

from batchgen import redact
from batchgen.api.answers import json_body
from batchgen.api.auth import Credentials
from batchgen.api.connection import Connection
from batchgen.api.download import Download, open_download
from batchgen.api.retry import RetryPolicy, call_with_retry
from batchgen.api.uploads import Uploads
from batchgen.timestamps import iso
from batchgen.errors import (AmbiguousSubmission, ConnectFailed, ServerError, TransportError,
                             UsageError)

DEFAULT_BASE_URL = "https://api.cloud.scenario.com/v1"
BASE_URL_VARIABLE = "SCENARIO_BASE_URL"
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=120.0)
MAX_BULK_ASSETS = 200
FILTER_NAMES = {"page_size": "pageSize", "pagination_token": "paginationToken",
                "created_after": "createdAfter", "updated_after": "updatedAfter",
                "status": "status", "type": "type", "types": "types",
                "workflow_id": "workflowId", "author_id": "authorId", "project_id": "projectId"}


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

    `max_connections` API calls are in flight at once, and `storage_connections`
    transfers to signed URLs (CDN downloads, upload parts) beside them. Methods return the API's JSON (dicts, extra fields kept) and raise the errors of
    `batchgen.errors`. `transport` plugs in e.g. `httpx.ASGITransport(sim.app)`.
    """

    def __init__(self, base_url: str | None = None, api_key: str | None = None,
                 api_secret: str | None = None, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT, retry: RetryPolicy = RetryPolicy(),
                 max_connections: int = 8, storage_connections: int = 8,
                 sleep: Callable[[float], Awaitable[None]] = anyio.sleep) -> None:
        self.base_url = resolve_base_url(base_url)
        self._connection = Connection(self.base_url, Credentials.resolve(api_key, api_secret),
                                      transport=transport, timeout=timeout, retry=retry,
                                      max_connections=max_connections,
                                      storage_connections=storage_connections, sleep=sleep)
        self._uploads = Uploads(self._connection)

    def __repr__(self) -> str:
        return f"ScenarioClient(base_url={self.base_url!r})"

    @property
    def retry(self) -> RetryPolicy:
        """The RetryPolicy of idempotent calls."""
        return self._connection.retry

    def unreachable_for(self) -> float:
        """Seconds during which every API call failed to connect (0 once one got an answer)."""
        return self._connection.unreachable_for()

    async def __aenter__(self) -> "ScenarioClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._connection.aclose()

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
            return await self._connection.call("POST", path, json=body, params={"dryRun": tier})
        attempt = lambda: self._connection.send("POST", path, json=body)  # noqa: E731
        try:
            response = await call_with_retry(attempt, self.retry, what=f"POST /{path}",
                                             retry_on=(ConnectFailed,),
                                             sleep=self._connection.sleep)
            return json_body(response)
        except ConnectFailed:
            raise
        except (TransportError, ServerError) as exc:
            raise AmbiguousSubmission(
                f"the generate call for {model} may or may not have created a job "
                f"({exc.message}); look the job up before submitting it again",
                status=exc.status, body=exc.body) from exc

    async def get_job(self, job_id: str) -> dict[str, Any]:
        """The Job."""
        return (await self._connection.call("GET", f"jobs/{job_id}"))["job"]

    async def list_jobs(self, **filters: Any) -> tuple[list[dict[str, Any]], str | None]:
        """One page of jobs, newest first, and the token of the next page (None at the end).

        Filters: page_size, pagination_token, created_after, updated_after (ISO strings
        or datetimes), status, type, types (a list, sent comma separated), workflow_id,
        author_id, project_id. The API's rules: updated_after only with status, type,
        types or workflow_id; created_after only without them.
        """
        answer = await self._connection.call("GET", "jobs", params=_filters(filters))
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
        return (await self._connection.call("GET", f"assets/{asset_id}"))["asset"]

    async def get_assets(self, asset_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The Assets of these ids (asked 200 at a time); unknown ids are left out."""
        ids = list(dict.fromkeys(asset_ids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), MAX_BULK_ASSETS):
            chunk = ids[start:start + MAX_BULK_ASSETS]
            answer = await self._connection.call("POST", "assets/get-bulk", json={"assetIds": chunk})
            found += answer["assets"]
        return found

    async def upload_image(self, data: bytes, name: str) -> dict[str, Any]:
        """Upload an image; the new Asset, whose id startFrame/endFrame take.

        Up to INLINE_UPLOAD_LIMIT bytes inline (`POST /assets`, base64), larger ones by
        the multipart flow (`POST /uploads`, PUT each part, `complete`, then the upload
        is polled until its asset exists). Retried like a read: a repeated upload only
        leaves a spare asset, nothing billed. JobRejected if the API refuses the image.
        """
        return await self._uploads.upload_image(data, name)

    async def team_limits(self, team_id: str) -> dict[str, Any]:
        """The team's plan limits (`limits` of `GET /teams/{teamId}/limits`), among them
        `parallelCustomJobs`: how many custom generations may run at once."""
        return (await self._connection.call("GET", f"teams/{team_id}/limits"))["limits"]

    async def get_model(self, model_id: str) -> dict[str, Any]:
        """The model's definition, with its `inputs`."""
        return (await self._connection.call("GET", f"models/{model_id}"))["model"]

    def download(self, url: str) -> AsyncContextManager[Download]:
        """Stream a signed CDN URL without credentials (the CDN may be another host).

        Raises URLExpired on 403 (get the asset again for a fresh URL), and the usual
        errors otherwise; a body cut short raises TransportError while reading.
        """
        return open_download(self._connection, url)


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

