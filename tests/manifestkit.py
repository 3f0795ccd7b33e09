"""Helpers for the manifest tests: write manifests and images, run the CLI, check refusals."""

from __future__ import annotations

import os
import re
import struct
import textwrap
import zlib
from pathlib import Path

from batchgen.cli import main


def write(folder: Path, name: str, text: str) -> Path:
    """Write a (dedented) text file and return its path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def png(width: int = 2, height: int = 2, shade: int = 128) -> bytes:
    """A real, tiny grey PNG image; `shade` changes its content (and so its hash)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root with its size and mtime: proves nothing was written."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            seen[os.path.relpath(os.path.join(dirpath, name), root)] = (st.st_size, st.st_mtime_ns)
    return seen


def assert_refused(capsys, manifest: Path, line: int, *fragments: str, named: str | None = None,
                   command: str = "validate", extra: tuple[str, ...] = ()) -> str:
    """Run the CLI on a bad manifest and check the refusal; returns stderr.

    Exit 2; a message naming `named` (default: the manifest's file name), the line, and
    every fragment of the rule; no traceback; nothing written in the manifest's folder.
    """
    before = snapshot(manifest.parent)
    code = main([command, str(manifest), *extra])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in out + err
    where = re.compile(rf"{re.escape(named or manifest.name)}:{line}: ")
    located = [text for text in err.splitlines() if where.search(text)]
    assert located, f"no message names {named or manifest.name}:{line}:\n{err}"
    assert any(all(f.lower() in text.lower() for f in fragments) for text in located), err
    assert snapshot(manifest.parent) == before
    return err
