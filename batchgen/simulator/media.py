"""Simulated media: a real tiny MP4 per job, and signed CDN URLs that expire."""

from __future__ import annotations

import hashlib
import hmac
import struct
from functools import lru_cache
from importlib import resources

CLIP_WIDTH, CLIP_HEIGHT, CLIP_SECONDS = 160, 90, 1.0


@lru_cache(maxsize=1)
def base_clip() -> bytes:
    """The shipped 1-second H.264 clip (160x90, faststart) every video starts from."""
    return resources.files("batchgen.simulator").joinpath("clip.mp4").read_bytes()


def video_for(job_id: str, index: int = 0) -> bytes:
    """A playable MP4 unique to this job: the clip plus a `free` box naming the job.

    Players skip `free` boxes, so the file still plays; its bytes (and sha256) differ
    from every other job's.
    """
    payload = f"batchgen-simulator job={job_id} output={index}".encode()
    return base_clip() + struct.pack(">I", 8 + len(payload)) + b"free" + payload


def sign(secret: bytes, asset_id: str, expires: int) -> str:
    """The signature a CDN URL for this asset and expiry must carry."""
    return hmac.new(secret, f"{asset_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def signature_ok(secret: bytes, asset_id: str, expires: int, sig: str) -> bool:
    return hmac.compare_digest(sign(secret, asset_id, expires), sig)


def image_info(data: bytes) -> tuple[str, int | None, int | None] | None:
    """(mime type, width, height) of a PNG, JPEG or WebP image; None if it is none of them."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "image/png", width, height
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", None, None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", None, None
    return None
