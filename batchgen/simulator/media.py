"""Simulated media: a real small MP4 per job that looks like its parameters, and
signed CDN URLs that expire.

Each clip has the frame shape of the job's `aspectRatio` at a sixth of its
`resolution` (1080p 16:9 is 320x180), lasts its `duration`, writes its resolution,
aspect ratio, hdr, loop, duration and the opening words of its prompt into the
picture, and takes its colours and shapes from the prompt, so a sweep's clips differ
the way real ones do. A running clock and progress bar show playback position, which
makes synced playback visible. Encoded by the pure-Python writer in `h264.py`/`mp4.py`
(see the README for why not an encoding library).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import struct
from functools import lru_cache
from typing import Any, Mapping

from batchgen.simulator import font
from batchgen.simulator.h264 import MB, Picture, idr_frame, p_frame, sequence_headers
from batchgen.simulator.mp4 import mp4

FPS = 12
SCALE = 6  # clips are a sixth of the size their resolution names
DEFAULTS = {"duration": "5s", "resolution": "720p", "aspectRatio": "16:9", "hdr": False, "loop": False}
_ROWS = re.compile(r"^(\d+)p$")


def frame_size(body: Mapping[str, Any] | None = None) -> tuple[int, int]:
    """(width, height) of the clip made for a generate `body`: the aspect ratio's shape,
    its short side a sixth of the resolution's rows (both even, as 4:2:0 needs)."""
    params = {**DEFAULTS, **(body or {})}
    rows = _ROWS.match(str(params["resolution"]))
    short = min(int(rows.group(1)), 2160) // SCALE if rows else 120
    ratio = re.match(r"^(\d+):(\d+)$", str(params["aspectRatio"]))
    across, down = (int(ratio.group(1)), int(ratio.group(2))) if ratio else (16, 9)
    if not across or not down:
        across, down = 16, 9
    if across >= down:
        return _even(short * across / down), _even(short)
    return _even(short), _even(short * down / across)


def clip_seconds(body: Mapping[str, Any] | None = None) -> float:
    """How long the clip made for a generate `body` plays: its `duration`."""
    return _seconds(str({**DEFAULTS, **(body or {})}["duration"]))


def video_for(job_id: str, index: int = 0, body: Mapping[str, Any] | None = None) -> bytes:
    """A playable MP4 of the job's `body` (its prompt and parameters), unique to the job.

    Jobs with the same body share one encoded clip; a trailing `free` box naming the
    job (players skip it) makes every file's bytes and sha256 distinct.
    """
    params = {**DEFAULTS, **(body or {})}
    clip = _clip(str(params.get("prompt") or ""), str(params["aspectRatio"]), str(params["resolution"]),
                 params["hdr"] is True, params["loop"] is True, str(params["duration"]))
    payload = f"batchgen-simulator job={job_id} output={index}".encode()
    return clip + struct.pack(">I", 8 + len(payload)) + b"free" + payload


@lru_cache(maxsize=64)  # a 1080p clip is ~200 KB; a sweep has few distinct bodies
def _clip(prompt: str, aspect: str, resolution: str, hdr: bool, loop: bool, duration: str) -> bytes:
    width, height = frame_size({"aspectRatio": aspect, "resolution": resolution})
    seconds = clip_seconds({"duration": duration})
    picture = Picture(width, height)
    scale = 2 if min(width, height) >= 150 else 1
    seed = hashlib.sha256(prompt.encode()).digest()
    _background(picture, seed, hdr)
    words = " ".join(prompt.split())
    lines = [f"{resolution} {aspect}", " ".join(["HDR" if hdr else "SDR", *(["LOOP"] if loop else []), duration])]
    lines.append(font.fit(words or "(no prompt)", width - 8 * scale, scale))
    line_height = (font.HEIGHT + 3) * scale
    panel = max(font.text_width(line, scale) for line in lines) + 6 * scale
    _fill(picture, 0, 0, min(width, panel), len(lines) * line_height + 3 * scale, 24, 128, 128)
    for n, line in enumerate(lines):
        _text(picture, 3 * scale, 3 * scale + n * line_height, line, scale, 235 if n < 2 else 200)
    if hdr:
        _fill(picture, width - 5 * scale, 0, width, 5 * scale, 200, 40, 160)  # a gold corner: HDR at a glance

    frames_total = max(1, round(seconds * FPS))
    _strip(picture, 0, frames_total, scale)
    sps, pps = sequence_headers(width, height)
    later = _later_frames(width, height, frames_total, scale)
    return mp4(sps, pps, [idr_frame(picture), *later], width, height, FPS)


def _strip(picture: Picture, n: int, frames_total: int, scale: int) -> set[tuple[int, int]]:
    """Draw frame `n`'s player strip (clock and progress bar) at the bottom; returns the
    macroblocks that differ from frame n - 1.

    The strip starts on a macroblock row and covers it whole, so its macroblocks do not
    depend on the prompt: every clip of one size and duration shares its later frames.
    """
    width, height = picture.width, picture.height
    bar = 2 * scale
    top = max(0, height - font.HEIGHT * scale - scale - bar) // MB * MB
    if n == 0:
        _fill(picture, 0, top, width, height, 24, 128, 128)
    longest = f"{(frames_total - 1) / FPS:.1f}S"
    clock_end = min(width, -(-(font.text_width(longest, scale) + 4 * scale) // MB) * MB)
    _fill(picture, 0, top, clock_end, height - bar, 24, 128, 128)
    _text(picture, 2 * scale, height - bar - font.HEIGHT * scale, f"{n / FPS:.1f}S", scale, 235)
    before, reach = width * n // frames_total, width * (n + 1) // frames_total
    _fill(picture, before, height - bar, reach, height, 210, 90, 200)
    return _macroblocks(0, top, clock_end, height - bar) | _macroblocks(before, height - bar, max(reach, before + 1), height)


@lru_cache(maxsize=32)
def _later_frames(width: int, height: int, frames_total: int, scale: int) -> tuple[bytes, ...]:
    """Frames 1.. of every clip of this size and duration: only the strip changes."""
    picture = Picture(width, height)
    _strip(picture, 0, frames_total, scale)
    return tuple(p_frame(picture, n, _strip(picture, n, frames_total, scale))
                 for n in range(1, frames_total))


def _background(picture: Picture, seed: bytes, hdr: bool) -> None:
    """A vertical gradient in a colour of the prompt, with three soft discs on it."""
    low, high = (20, 225) if hdr else (50, 170)
    hue = seed[0] / 255 * 2 * math.pi
    cb, cr = 128 + round(50 * math.cos(hue)), 128 + round(50 * math.sin(hue))
    for row in range(picture.height):
        luma = low + (high - low) * row // max(1, picture.height - 1)
        _fill(picture, 0, row, picture.width, row + 1, luma, cb, cr)
    for n in range(3):
        cx = seed[1 + n] * picture.width // 256
        cy = seed[4 + n] * picture.height // 256
        radius = max(6, seed[7 + n] * min(picture.width, picture.height) // 600)
        disc_hue = hue + (n + 1) * 2.1
        disc = (high - 10 if n % 2 == 0 else low + 10,
                128 + round(60 * math.cos(disc_hue)), 128 + round(60 * math.sin(disc_hue)))
        for row in range(max(0, cy - radius), min(picture.height, cy + radius)):
            half = int(math.sqrt(radius * radius - (row - cy) ** 2))
            _fill(picture, max(0, cx - half), row, min(picture.width, cx + half), row + 1, *disc)


def _fill(picture: Picture, x0: int, y0: int, x1: int, y1: int, luma: int, cb: int, cr: int) -> None:
    """Paint the rectangle [x0, x1) x [y0, y1) one colour (chroma at half resolution)."""
    x0, x1 = max(0, x0), min(picture.width, x1)
    if x1 <= x0:
        return
    span = bytes([luma]) * (x1 - x0)
    for row in range(max(0, y0), min(picture.height, y1)):
        start = row * picture.stride + x0
        picture.y[start:start + len(span)] = span
    half, c0, c1 = picture.stride // 2, x0 // 2, -(-x1 // 2)
    for row in range(max(0, y0) // 2, -(-min(picture.height, y1) // 2)):
        picture.cb[row * half + c0: row * half + c1] = bytes([cb]) * (c1 - c0)
        picture.cr[row * half + c0: row * half + c1] = bytes([cr]) * (c1 - c0)


def _text(picture: Picture, x: int, y: int, text: str, scale: int, luma: int) -> None:
    """Write `text` in the luma plane from (x, y), each font pixel `scale` pixels square."""
    dot = bytes([luma]) * scale
    for n, char in enumerate(text):
        left = x + n * font.ADVANCE * scale
        for gx, gy in font.glyph(char):
            px = left + gx * scale
            if px + scale > picture.width:
                continue
            for row in range(y + gy * scale, min(picture.height, y + gy * scale + scale)):
                picture.y[row * picture.stride + px: row * picture.stride + px + scale] = dot


def _macroblocks(x0: int, y0: int, x1: int, y1: int) -> set[tuple[int, int]]:
    """The macroblocks (x, y) a rectangle touches."""
    return {(mx, my) for mx in range(max(0, x0) // MB, (max(x1, 1) - 1) // MB + 1)
            for my in range(max(0, y0) // MB, (max(y1, 1) - 1) // MB + 1)}


def _seconds(duration: str) -> float:
    match = re.match(r"^(\d+(?:\.\d+)?)s?$", duration.strip())
    return min(max(float(match.group(1)), 1.0), 20.0) if match else 5.0


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


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
