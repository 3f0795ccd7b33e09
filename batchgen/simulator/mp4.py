"""Wrap an H.264 stream in a faststart MP4 (ISO BMFF): `moov` before `mdat`, so a
browser can start playing while the file downloads."""

from __future__ import annotations

import struct

TIMESCALE = 12_000  # ticks per second of the track: divisible by every frame rate we use
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


def mp4(sps: bytes, pps: bytes, frames: list[bytes], width: int, height: int, fps: int) -> bytes:
    """An MP4 file of one video track: `frames` are NAL units, the first an IDR."""
    delta = TIMESCALE // fps
    duration = delta * len(frames)
    millis = duration * 1000 // TIMESCALE
    samples = [struct.pack(">I", len(f)) + f for f in frames]  # 4-byte NAL lengths
    avcc = _box(b"avcC", bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]),
                struct.pack(">H", len(sps)), sps, b"\x01", struct.pack(">H", len(pps)), pps)
    avc1 = _box(b"avc1", bytes(6), struct.pack(">H", 1), bytes(16),
                struct.pack(">HHIIIH", width, height, 0x480000, 0x480000, 0, 1),
                bytes(32), struct.pack(">Hh", 0x18, -1), avcc)

    def moov(chunk_offset: int) -> bytes:
        stbl = _box(b"stbl",
                    _full(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
                    _full(b"stts", 0, 0, struct.pack(">III", 1, len(frames), delta)),
                    _full(b"stss", 0, 0, struct.pack(">II", 1, 1)),
                    _full(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(frames), 1)),
                    _full(b"stsz", 0, 0, struct.pack(">II", 0, len(frames)),
                          b"".join(struct.pack(">I", len(s)) for s in samples)),
                    _full(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset)))
        minf = _box(b"minf", _full(b"vmhd", 0, 1, bytes(8)),
                    _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1), _full(b"url ", 0, 1))),
                    stbl)
        mdia = _box(b"mdia",
                    _full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, TIMESCALE, duration, 0x55C4, 0)),
                    _full(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"VideoHandler\x00"),
                    minf)
        tkhd = _full(b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, 1, 0, millis), bytes(8),
                     struct.pack(">hhhH", 0, 0, 0, 0), _MATRIX,
                     struct.pack(">II", width << 16, height << 16))
        mvhd = _full(b"mvhd", 0, 0, struct.pack(">IIIIIH", 0, 0, 1000, millis, 0x10000, 0x100),
                     bytes(10), _MATRIX, bytes(24), struct.pack(">I", 2))
        return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    # moov's size does not depend on the offset it records, so measure it once.
    offset = len(ftyp) + len(moov(0)) + 8
    return ftyp + moov(offset) + _box(b"mdat", *samples)
