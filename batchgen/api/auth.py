"""Scenario credentials: where they come from, and how they stay out of sight.

The key and secret live only inside `Credentials` (whose repr hides them) and reach
the wire only through `BasicAuth`, an httpx auth flow: they are never client default
headers, so httpx never puts them in a repr, and a request sent with `auth=None`
(the CDN download) carries nothing.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Generator

import httpx

from batchgen import redact
from batchgen.errors import UsageError

KEY_VARIABLE = "SCENARIO_SDK_API_KEY"
SECRET_VARIABLE = "SCENARIO_SDK_API_SECRET"
REDACTED = redact.REDACTED


@dataclass(frozen=True)
class Credentials:
    """An API key and secret; `repr()` and `str()` never show them."""

    key: str = field(repr=False)
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        redact.remember(self.key, self.secret)  # whatever the API echoes is hidden from now on

    @classmethod
    def resolve(cls, key: str | None = None, secret: str | None = None) -> "Credentials":
        """Explicit values, else SCENARIO_SDK_API_KEY / SCENARIO_SDK_API_SECRET; UsageError if missing."""
        key = key if key is not None else os.environ.get(KEY_VARIABLE, "")
        secret = secret if secret is not None else os.environ.get(SECRET_VARIABLE, "")
        missing = [name for name, value in ((KEY_VARIABLE, key), (SECRET_VARIABLE, secret)) if not value]
        if missing:
            raise UsageError(f"Scenario credentials are missing: set {' and '.join(missing)} "
                             "(or use --simulate to run against the built-in simulator)")
        return cls(key, secret)

    def header(self) -> str:
        """The value of the Authorization header."""
        token = base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        return f"Basic {token}"

    def redact(self, text: str) -> str:
        """`text` with the key, the secret and the header token replaced by [redacted]."""
        for value in (self.header().split(" ", 1)[1], self.secret, self.key):
            if value:
                text = text.replace(value, REDACTED)
        return text


class BasicAuth(httpx.Auth):
    """HTTP Basic auth from Credentials, added to each request as it is sent."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._credentials.header()
        yield request

    def __repr__(self) -> str:
        return "BasicAuth(credentials=[redacted])"
