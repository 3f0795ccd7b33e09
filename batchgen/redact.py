"""Keeping credentials out of everything batchgen stores or shows.

Every `Credentials` made in this process remembers the forms a leak could take (the
key, the secret, the Basic token, its URL-safe spelling). What the API answers is
untrusted text: an error's words, `hint`, `details`, a failed job's message or a
response header could echo them, so each is passed through `text()` / `value()` before
it reaches an exception, the ledger or the console, and `LogFilter` does the same for
every log line (httpcore's `-vv` lines carry whole response headers).
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[redacted]"
MIN_LENGTH = 4  # shorter values would blot out ordinary words; no real key is that short
_known: set[str] = set()


def remember(key: str, secret: str) -> None:
    """Remember every form of these credentials, to be redacted from now on."""
    pair = f"{key}:{secret}".encode()
    forms = (key, secret, base64.b64encode(pair).decode(), base64.urlsafe_b64encode(pair).decode())
    _known.update(form for form in forms if len(form) >= MIN_LENGTH)


def text(value: str) -> str:
    """`value` with every remembered credential replaced by [redacted] (longest first,
    so a token that contains the key is hidden whole)."""
    for secret in sorted(_known, key=len, reverse=True):
        if secret in value:
            value = value.replace(secret, REDACTED)
    return value


def value(data: Any) -> Any:
    """A copy of JSON-like `data` (dicts, lists, strings) with credentials redacted."""
    if isinstance(data, str):
        return text(data)
    if isinstance(data, dict):
        return {text(str(k)) if isinstance(k, str) else k: value(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [value(v) for v in data]
    return data


def shown_url(url: str) -> str:
    """A URL as batchgen may show it: scheme, host, port and path, never userinfo or query."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit((parts.scheme, netloc + port, parts.path, "", ""))


class LogFilter(logging.Filter):
    """Redacts remembered credentials from every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _known:
            message = record.getMessage()
            cleaned = text(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True
