"""The frame rate and frame size of an MP4 file, read from its `moov` box.

The page steps videos one frame at a time and keeps synced videos within a frame of
each other, and a browser does not tell a page a video's frame rate. So the report
reads it from the file: the video track's `mdhd` timescale over the first `stts`
sample delta. Only box headers and the `moov` box are read, never the media data.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

_MOOV_LIMIT = 64 * 1024 * 1024  # a moov larger than this is not a video we made or know


def video_facts(path: Path) -> dict[str, float | int] | None:
    """{"fps", "width", "height"} of the first video track, or None when the file is
    missing, is not an MP4 or lacks what is needed."""
    try:
        with open(path, "rb") as handle:
            moov = _top_level_box(handle, b"moov")
    except OSError:
        return None
    if moov is None:
        return None
    for trak in _children(moov, b"trak"):
        facts = _track_facts(trak)
        if facts:
            return facts
    return None


def _top_level_box(handle: BinaryIO, wanted: bytes) -> bytes | None:
    """The body of the first top-level box of type `wanted`, skipping the others."""
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return None
        size, kind = struct.unpack(">I4s", header)
        skip = 8
        if size == 1:  # 64-bit size follows
            size = struct.unpack(">Q", handle.read(8))[0]
            skip = 16
        if kind == wanted:
            if size == 0 or size - skip > _MOOV_LIMIT:
                return None
            return handle.read(size - skip)
        if size == 0 or size < skip:  # the box runs to the end of the file
            return None
        handle.seek(size - skip, 1)


def _children(body: bytes, wanted: bytes):
    """The body of each box of type `wanted` directly inside `body`."""
    at = 0
    while at + 8 <= len(body):
        size, kind = struct.unpack_from(">I4s", body, at)
        if size < 8 or at + size > len(body):
            return
        if kind == wanted:
            yield body[at + 8:at + size]
        at += size


def _find(body: bytes, path: list[bytes]) -> bytes | None:
    for kind in path:
        body = next(_children(body, kind), None)
        if body is None:
            return None
    return body


def _track_facts(trak: bytes) -> dict[str, float | int] | None:
    hdlr = _find(trak, [b"mdia", b"hdlr"])
    if hdlr is None or hdlr[8:12] != b"vide":
        return None
    mdhd = _find(trak, [b"mdia", b"mdhd"])
    stts = _find(trak, [b"mdia", b"minf", b"stbl", b"stts"])
    tkhd = _find(trak, [b"tkhd"])
    if not mdhd or not stts or not tkhd or len(stts) < 16:
        return None
    timescale = struct.unpack_from(">I", mdhd, 20 if mdhd[0] == 1 else 12)[0]
    delta = struct.unpack_from(">I", stts, 12)[0]
    if not timescale or not delta:
        return None
    width, height = struct.unpack_from(">II", tkhd, len(tkhd) - 8)
    return {"fps": round(timescale / delta, 3), "width": width >> 16, "height": height >> 16}
