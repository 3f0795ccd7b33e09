"""Uploading an image: inline when small, else by the multipart `/uploads` flow.

Retried like a read: a repeated upload only leaves a spare asset, nothing billed. The
parts go to signed URLs without credentials (they may be another host).
"""

from __future__ import annotations

import base64
import math
import mimetypes
from typing import Any

import httpx

from batchgen import redact
from batchgen.api.answers import status_error, transport_error
from batchgen.api.connection import Connection
from batchgen.api.retry import call_with_retry
from batchgen.errors import JobRejected, ServerError

# Scenario's guides: inline base64 only for small files (about 100 KB), the multipart
# `/uploads` flow beyond. The part size is not documented: 5 MiB is the usual minimum
# part of object stores, so a frame is almost always one part.
INLINE_UPLOAD_LIMIT = 100 * 1024
UPLOAD_PART_SIZE = 5 * 1024 * 1024
UPLOAD_VALIDATION_WAIT = 120.0  # seconds an upload may stay validating after `complete`
IMPORTED = ("imported", "complete")


class Uploads:
    """`upload_image` over a Connection, for `ScenarioClient.upload_image`."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def upload_image(self, data: bytes, name: str) -> dict[str, Any]:
        """Upload an image; the new Asset (see `ScenarioClient.upload_image`)."""
        if len(data) > INLINE_UPLOAD_LIMIT:
            return await self._upload_multipart(data, name)
        payload = {"image": base64.b64encode(data).decode("ascii"), "name": name}
        return (await self._connection.call("POST", "assets", json=payload))["asset"]

    async def _upload_multipart(self, data: bytes, name: str) -> dict[str, Any]:
        parts = max(1, math.ceil(len(data) / UPLOAD_PART_SIZE))
        created = (await self._connection.call("POST", "uploads", json={
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
            await call_with_retry(lambda: self._put_part(urls[number], chunk),
                                  self._connection.retry,
                                  what=f"PUT part {number} of upload {upload_id}",
                                  sleep=self._connection.sleep)
        action = f"uploads/{upload_id}/action"
        upload = (await self._connection.call("POST", action,
                                              json={"action": "complete"}))["upload"]
        waited, wait = 0.0, 0.25
        while upload.get("status") not in IMPORTED or not upload.get("entityId"):
            if upload.get("status") == "failed":
                words = redact.text(str(upload.get("errorMessage") or "no reason given"))
                raise JobRejected(f"the upload of {name} failed: {words}", status=400)
            if waited >= UPLOAD_VALIDATION_WAIT:
                raise ServerError(f"the upload of {name} was still {upload.get('status')!r} "
                                  f"{waited:.0f} s after it was completed")
            await self._connection.sleep(wait)
            waited, wait = waited + wait, min(wait * 2, 5.0)
            upload = (await self._connection.call("GET", f"uploads/{upload_id}"))["upload"]
        asset_id = str(upload["entityId"])
        return (await self._connection.call("GET", f"assets/{asset_id}"))["asset"]

    async def _put_part(self, url: str, chunk: bytes) -> None:
        """PUT one part to its signed URL, without credentials (it may be another host)."""
        if not url.startswith(("http://", "https://")):
            raise ServerError("an upload part URL is not an absolute http(s) URL")
        where = f"PUT {httpx.URL(url).copy_with(query=None)}"
        try:
            async with self._connection.storage_gate:
                response = await self._connection.storage.put(
                    url, content=chunk, auth=None,
                    headers={"content-type": "application/octet-stream"})
        except httpx.TransportError as exc:
            raise transport_error(exc, where) from exc
        if response.status_code in (401, 403, 410):
            # A refused signed URL is no verdict on the credentials: this upload failed.
            raise JobRejected(f"{where}: the storage refused the part ({response.status_code})",
                              status=response.status_code)
        if not 200 <= response.status_code < 300:
            raise status_error(response, where, self._connection.credentials)


def image_type(data: bytes, name: str) -> str:
    """The MIME type of an image, from its first bytes, else its name."""
    for magic, mime in ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                        (b"GIF8", "image/gif")):
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
