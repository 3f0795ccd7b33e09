"""The little HTTP layer the simulator needs: request, response, router, ASGI glue.

Small enough that pulling in a web framework would cost more than it saves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs

from batchgen.simulator.faults import DroppedConnection


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    origin: str  # scheme://host[:port] as the client addressed us
    params: dict[str, str] = field(default_factory=dict)  # from the route's pattern

    def json(self) -> Any:
        """The body as JSON; ValueError if it is not JSON."""
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # send half of it, then drop the connection


def json_response(status: int, payload: Any, **headers: str) -> Response:
    return Response(status, json.dumps(payload).encode(), headers=dict(headers))


def error(status: int, text: str, *, field: str = "message", **extra: Any) -> Response:
    """An API error answer: `{field: text, **extra}` (the real API's field varies)."""
    return json_response(status, {field: text, **extra})


Handler = Callable[[Request], Response]


class Router:
    """Routes `(method, path pattern)` to handlers; `{name}` matches one path segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+?)", pattern) + "$")
        self._routes.append((method, regex, pattern, handler))

    def match(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        """(route name, handler, path parameters) or None."""
        for route_method, regex, pattern, handler in self._routes:
            found = regex.match(path)
            if found and route_method == method:
                return f"{method} {pattern}", handler, found.groupdict()
        return None


async def read_request(scope: dict, receive: Callable[[], Awaitable[dict]]) -> Request | None:
    """Collect an ASGI http request into a Request; None when the client went away before
    sending it whole (a server never acts on half a request, nor counts it)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    host = headers.get("host") or "%s:%s" % tuple(scope.get("server") or ("127.0.0.1", 80))
    query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
    return Request(scope["method"], scope["path"], query, headers, b"".join(chunks),
                   f"{scope.get('scheme', 'http')}://{host}")


async def send_response(send: Callable[[dict], Awaitable[None]], response: Response) -> None:
    """Send a Response; a dropping one stops halfway and raises DroppedConnection."""
    headers = [(b"content-type", response.content_type.encode()),
               (b"content-length", str(len(response.body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if response.drop:
        await send({"type": "http.response.body", "body": response.body[: len(response.body) // 2],
                    "more_body": True})
        raise DroppedConnection()
    await send({"type": "http.response.body", "body": response.body})


async def lifespan(receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
    """Acknowledge ASGI lifespan events: the simulator has nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
