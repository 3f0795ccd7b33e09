"""Streaming a signed CDN URL: `Download`, whose body is checked against its length."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

import httpx

from batchgen.api.answers import status_error, transport_error
from batchgen.api.connection import Connection
from batchgen.errors import TransportError, URLExpired


@contextlib.asynccontextmanager
async def open_download(connection: Connection, url: str) -> AsyncIterator["Download"]:
    """Stream `url` over the connection's storage pool, without credentials (see
    `ScenarioClient.download`); the stream holds a place at the storage gate until it closes."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("download needs an absolute http(s) URL")
    # identity: the file is checked byte for byte against its size, never decoded.
    http = connection.storage
    request = http.build_request("GET", url, headers={"accept": "*/*",
                                                   "accept-encoding": "identity"})
    where = f"GET {httpx.URL(url).copy_with(query=None)}"
    async with connection.storage_gate:
        try:
            response = await http.send(request, auth=None, stream=True, follow_redirects=True)
        except httpx.TransportError as exc:
            raise transport_error(exc, where) from exc
        try:
            if response.status_code != 200:
                await response.aread()
                if response.status_code == 403:
                    raise URLExpired(f"the download URL was refused ({where}: 403); "
                                     "get the asset again for a fresh URL", status=403)
                raise status_error(response, where)
            yield Download(response, where)
        finally:
            await response.aclose()


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
            raise transport_error(exc, self._where) from exc
        if self.expected_size is not None and received != self.expected_size:
            raise TransportError(f"{self._where}: the download stopped at {received} of "
                                 f"{self.expected_size} bytes")

