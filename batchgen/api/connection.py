"""One connection to Scenario's API: the httpx pools, credentials, retries, reachability.

`ScenarioClient` and its uploads send every API call through a `Connection`: `call`
for an idempotent call (retried as the RetryPolicy says, its JSON answer), `send` for
one request whose failures raise the errors of `answers.py`. It also keeps since when
every call has failed to connect, which the runner reads to end a run that could not
reach the API for too long.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

import anyio
import httpx

from batchgen.api.answers import json_body, status_error, transport_error
from batchgen.api.auth import BasicAuth, Credentials
from batchgen.api.retry import RetryPolicy, call_with_retry


class Connection:
    """The pool to `base_url`, with the credentials on every API call, and the pool for
    signed URLs, without them; see the module docstring."""

    def __init__(self, base_url: str, credentials: Credentials, *,
                 transport: httpx.AsyncBaseTransport | None, timeout: httpx.Timeout,
                 retry: RetryPolicy, max_connections: int, storage_connections: int,
                 sleep: Callable[[float], Awaitable[None]]) -> None:
        self.base_url = base_url
        self.credentials = credentials
        self.retry = retry
        self.sleep = sleep
        # Since when every call has failed to connect (monotonic), None while answers come:
        # the runner ends a run that could not reach the API for too long.
        self._unreachable_since: float | None = None
        # Requests wait at a gate, not in httpx's pool: each time a connection is handed
        # out or given back, the pool walks its queued requests and its connections (every
        # idle one against every other), which at hundreds of jobs in flight cost more CPU
        # than the calls themselves; and a request queued there past the pool timeout
        # fails unsent, to be sent again after a back-off. Signed URLs (CDN downloads, upload parts) have a
        # pool of their own, so long streams never hold the API calls up.
        self.gate = anyio.Semaphore(max_connections)
        self.http = httpx.AsyncClient(
            base_url=base_url + "/", auth=BasicAuth(credentials), transport=transport,
            timeout=timeout, follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            headers={"accept": "application/json", "user-agent": "batchgen"})
        self.storage_gate = anyio.Semaphore(storage_connections)
        self.storage = httpx.AsyncClient(
            transport=transport, timeout=timeout, follow_redirects=True,
            limits=httpx.Limits(max_connections=storage_connections,
                                max_keepalive_connections=storage_connections),
            headers={"user-agent": "batchgen"})

    def __repr__(self) -> str:
        return f"Connection(base_url={self.base_url!r})"

    def unreachable_for(self) -> float:
        """Seconds during which every API call failed to connect (0 once one got an answer)."""
        since = self._unreachable_since
        return 0.0 if since is None else time.monotonic() - since

    async def aclose(self) -> None:
        """Close both connection pools."""
        await self.http.aclose()
        await self.storage.aclose()

    async def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        """An idempotent call, retried as the policy says; its JSON answer."""
        attempt = lambda: self.send(method, path, **kw)  # noqa: E731
        response = await call_with_retry(attempt, self.retry, what=f"{method} /{path}",
                                         sleep=self.sleep)
        return json_body(response)

    async def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One request; any answer but 2xx, and any transport failure, raises an APIError."""
        where = f"{method} /{path}"
        try:
            async with self.gate:
                response = await self.http.request(method, path, **kw)
        except httpx.TransportError as exc:
            if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
                if self._unreachable_since is None:
                    self._unreachable_since = time.monotonic()
            elif not isinstance(exc, httpx.PoolTimeout):  # a busy pool says nothing of the API
                self._unreachable_since = None  # it connected: the API is there
            raise transport_error(exc, where) from exc
        self._unreachable_since = None
        if not 200 <= response.status_code < 300:
            raise status_error(response, where, self.credentials)
        return response
