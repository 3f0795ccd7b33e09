"""Reading the API's answers: a JSON body, and the typed error for a failed call.

A non-2xx answer becomes the APIError its status, headers and body say (RateLimited,
AccessDenied, ServerError or JobRejected), with the API's words, hint and the wait it
asks for; a transport failure becomes ConnectFailed (nothing was sent) or
TransportError. Credentials never reach an error's text or body.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from batchgen import redact
from batchgen.api.auth import Credentials
from batchgen.errors import (AccessDenied, APIError, ConnectFailed, JobRejected, RateLimited,
                             ServerError, TransportError)

# Where an error body carries its text, in the order Scenario's own client reads them
# (scenario-labs/blender-plugin, scenario/core/api/client.py).
ERROR_TEXT_FIELDS = ("reason", "message", "error", "detail")
TRACE_FIELDS = ("traceId", "trace_id")


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; ServerError if it is not JSON or not an object."""
    try:
        answer = response.json()
    except ValueError:
        raise ServerError(f"the API answered {response.status_code} with a body that is not JSON",
                          status=response.status_code) from None
    if not isinstance(answer, dict):
        raise ServerError("the API answered with JSON that is not an object",
                          status=response.status_code)
    return answer


def transport_error(exc: httpx.TransportError, where: str) -> TransportError:
    """ConnectFailed when nothing was sent, else TransportError (the outcome is unknown)."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return ConnectFailed(f"{where}: could not connect ({type(exc).__name__}); nothing was sent")
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "lost the connection"
    return TransportError(f"{where}: {kind} ({type(exc).__name__}) before a complete answer")


def status_error(response: httpx.Response, where: str,
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
