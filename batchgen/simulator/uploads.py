"""The multipart `/uploads` flow, in the SDK 2.4.0's shapes (`resources/uploads.py`,
`types/upload_create_params.py`, `types/upload_create_response.py`).

1. `POST /uploads` {fileName, contentType, fileSize, kind, parts} answers
   {"upload": Upload} whose `parts` carry one signed URL each (`number`, `url`,
   `expires`); the upload is `pending`.
2. Each part is PUT, without credentials, to its URL (served under /upload-parts/,
   outside the API like the CDN).
3. `POST /uploads/{id}/action` {"action": "complete"} checks every part arrived and the
   sizes add up; the upload is then `validating`. The first `GET /uploads/{id}` after
   that finds it `imported`, with the new image asset's id in `entityId` (or `failed`
   with `errorMessage` if the bytes are no image). How long validation takes and
   which field names the asset are not documented: a client must poll the upload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from batchgen.simulator import media
from batchgen.simulator.http import Request
from batchgen.timestamps import iso

KINDS = ("3d", "asset", "audio", "avatar", "image", "model", "text", "video")
MAX_PARTS = 10_000
PART_PREFIX = "/upload-parts/"


@dataclass
class SimUpload:
    id: str
    file_name: str
    content_type: str
    file_size: int
    kind: str
    parts_count: int
    created: float
    expires: int  # ms epoch after which the part URLs are refused
    received: dict[int, bytes] = field(default_factory=dict)
    status: str = "pending"
    entity_id: str | None = None
    error_message: str | None = None
    updated: float = 0.0


def create_problem(payload: Any) -> str | None:
    """What is wrong with a multipart `POST /uploads` body, in the API's manner."""
    if not isinstance(payload, dict):
        return "The request body must be a JSON object"
    for name, kind in (("fileName", str), ("contentType", str), ("kind", str)):
        if not isinstance(payload.get(name), kind) or not payload[name]:
            return f'"{name}" is required for a multipart upload'
    if payload["kind"] not in KINDS:
        return f'"kind" must be one of {", ".join(KINDS)}'
    for name in ("fileSize", "parts"):
        value = payload.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1 \
                or value != int(value):
            return f'"{name}" must be a positive whole number'
    if payload["parts"] > MAX_PARTS or payload["parts"] > payload["fileSize"]:
        return f'"parts" must be between 1 and {MAX_PARTS}, and no more than "fileSize"'
    return None


def upload_json(upload: SimUpload, origin: str, sign: Callable[[str, int], str],
                author: str, owner: str) -> dict[str, Any]:
    """The Upload object; `parts` only while parts may still be sent."""
    answer: dict[str, Any] = {
        "id": upload.id, "authorId": author, "ownerId": owner, "createdAt": iso(upload.created),
        "updatedAt": iso(upload.updated or upload.created), "fileName": upload.file_name,
        "originalFileName": upload.file_name, "kind": upload.kind, "source": "multipart",
        "status": upload.status, "contentType": upload.content_type,
        "fileSize": upload.file_size, "partsCount": upload.parts_count}
    if upload.status == "pending":
        answer["parts"] = [
            {"number": n, "expires": iso(upload.expires / 1000),
             "url": f"{origin}{PART_PREFIX}{upload.id}/{n}?expires={upload.expires}"
                    f"&sig={sign(f'{upload.id}/{n}', upload.expires)}"}
            for n in range(1, upload.parts_count + 1)]
    if upload.entity_id:
        answer["entityId"] = upload.entity_id
    if upload.error_message:
        answer["errorMessage"] = upload.error_message
    return answer


def put_part(uploads: dict[str, SimUpload], request: Request, now: float,
             signature_ok: Callable[[str, int, str], bool]) -> tuple[int, bytes]:
    """Store one PUT part: (status, plain-text body) as a storage service answers."""
    tail = request.path[len(PART_PREFIX):]
    upload_id, _, number = tail.partition("/")
    try:
        expires = int(request.query.get("expires", ""))
        part = int(number)
    except ValueError:
        return 403, b"Forbidden: missing or malformed signature"
    if not signature_ok(tail, expires, request.query.get("sig", "")):
        return 403, b"Forbidden: bad signature"
    if now * 1000 > expires:
        return 403, b"Forbidden: the signed URL has expired"
    upload = uploads.get(upload_id)
    if upload is None or not 1 <= part <= upload.parts_count or upload.status != "pending":
        return 404, b"Not found"
    upload.received[part] = request.body
    return 200, b""


def complete(upload: SimUpload, now: float) -> str | None:
    """Close the upload (`validating`); a problem (400) if parts are missing or the sizes
    do not add up. Completing a completed upload changes nothing."""
    if upload.status != "pending":
        return None
    missing = [n for n in range(1, upload.parts_count + 1) if n not in upload.received]
    if missing:
        return f"Upload {upload.id} is missing part(s) {', '.join(map(str, missing[:5]))}"
    size = sum(len(upload.received[n]) for n in upload.received)
    if size != upload.file_size:
        return f"Upload {upload.id} received {size} bytes, fileSize says {upload.file_size}"
    upload.status, upload.updated = "validating", now
    return None


def validate(upload: SimUpload, now: float, store: Callable[[bytes, str], str]) -> None:
    """Validation finishes: the image becomes an asset (`imported`), or the upload fails."""
    if upload.status != "validating":
        return
    data = b"".join(upload.received[n] for n in sorted(upload.received))
    upload.received.clear()
    upload.updated = now
    if upload.kind != "image" or media.image_info(data) is None:
        upload.status = "failed"
        upload.error_message = "Unsupported image: send a PNG, JPEG or WebP file"
        return
    upload.entity_id = store(data, upload.file_name)
    upload.status = "imported"
