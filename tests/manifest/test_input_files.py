"""Files a manifest names are read only when they are regular files of a bounded size.

A FIFO as manifest, CSV or frame used to block `validate` forever, and `/dev/zero` read
until MemoryError. Each case must be refused with one sentence naming the file (and the
line that names it), exit 2, before anything is opened for reading: the FIFO tests would
hang, not fail, if anything opened them (pytest-timeout turns that into a failure).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from batchgen import inputfile
from batchgen.cli import main
from manifestkit import assert_refused, png, snapshot, write

HEAD = "version: 1\nname: t\n"
pytestmark = pytest.mark.timeout(30)


def _refused(capsys, argv: list[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "Traceback" not in out + err
    return err


def test_a_fifo_as_the_manifest_is_refused_without_opening_it(tmp_path, capsys):
    fifo = tmp_path / "m.yaml"
    os.mkfifo(fifo)
    err = _refused(capsys, ["validate", str(fifo)])
    assert "m.yaml: the manifest" in err and "FIFO (named pipe), not a regular file" in err


@pytest.mark.parametrize("command", ["validate", "plan", "run"])
def test_dev_zero_as_the_manifest_is_refused(command, capsys, tmp_path):
    extra = ["--simulate", "--yes", "--out", str(tmp_path / "out")] if command == "run" else []
    err = _refused(capsys, [command, "/dev/zero", *extra])
    assert "/dev/zero" in err and "a character device" in err
    assert not (tmp_path / "out").exists()


def test_a_directory_as_the_manifest_of_run_is_refused(tmp_path, capsys):
    """(`validate` takes folders on purpose: it checks the manifests in them.)"""
    (tmp_path / "m.yaml").mkdir()
    err = _refused(capsys, ["run", str(tmp_path / "m.yaml"), "--simulate", "--yes"])
    assert "m.yaml" in err and "directory" in err


def test_a_fifo_as_a_csv_file_is_refused_at_its_line(tmp_path, capsys):
    os.mkfifo(tmp_path / "rows.csv")
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - a valley\n  - csv: rows.csv\n")
    assert_refused(capsys, path, 5, "CSV file rows.csv is a FIFO (named pipe)", "regular file")


def test_a_fifo_as_a_csv_manifest_is_refused(tmp_path, capsys):
    os.mkfifo(tmp_path / "rows.csv")
    err = _refused(capsys, ["validate", str(tmp_path / "rows.csv")])
    assert "FIFO (named pipe), not a regular file" in err


def test_a_directory_as_a_csv_file_is_refused_at_its_line(tmp_path, capsys):
    (tmp_path / "rows.csv").mkdir()
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - a valley\n  - csv: rows.csv\n")
    assert_refused(capsys, path, 5, "CSV file rows.csv is a directory")


@pytest.mark.parametrize("kind", ["fifo", "directory", "socket"])
def test_a_frame_that_is_not_a_regular_file_is_refused_at_its_line(kind, tmp_path, capsys):
    frame = tmp_path / "frames" / "knight.png"
    frame.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(frame)
    elif kind == "directory":
        frame.mkdir()
    else:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(frame))
        sock.close()
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - prompt: a knight\n"
                 "    startFrame: frames/knight.png\n")
    words = {"fifo": "a FIFO", "directory": "a directory", "socket": "a socket"}[kind]
    assert_refused(capsys, path, 5, f"startFrame image frames/knight.png is {words}",
                   "not a regular file")


def _sparse(path: Path, size: int, head: bytes) -> Path:
    """A file of `size` bytes that takes no room on disk (its size is what is checked)."""
    path.write_bytes(head)
    os.truncate(path, size)
    return path


def test_a_manifest_over_the_size_limit_is_refused_before_parsing(tmp_path, capsys):
    path = _sparse(tmp_path / "big.yaml", inputfile.MAX_TEXT_BYTES + 1, HEAD.encode())
    err = _refused(capsys, ["validate", str(path)])
    assert f"{inputfile.MAX_TEXT_BYTES + 1:,} bytes, more than the 64 MiB" in err


def test_a_csv_over_the_size_limit_is_refused_at_its_line(tmp_path, capsys):
    _sparse(tmp_path / "rows.csv", inputfile.MAX_TEXT_BYTES + 1, b"prompt\n")
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - csv: rows.csv\n")
    assert_refused(capsys, path, 4, "CSV file rows.csv is", "more than the 64 MiB")


def test_a_frame_over_the_size_limit_is_refused_at_its_line(tmp_path, capsys):
    (tmp_path / "frames").mkdir()
    _sparse(tmp_path / "frames" / "k.png", inputfile.MAX_IMAGE_BYTES + 1, png())
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - prompt: a knight\n"
                 "    startFrame: frames/k.png\n")
    assert_refused(capsys, path, 5, "frames/k.png is", "more than the 64 MiB")


def test_a_file_exactly_at_the_limit_is_read(tmp_path):
    path = tmp_path / "at.csv"
    path.write_bytes(b"x" * 100)
    data, problems = inputfile.read_bytes(path, "m.yaml", 3, "at.csv", what="CSV file", limit=100)
    assert (data, problems) == (b"x" * 100, [])
    data, problems = inputfile.read_bytes(path, "m.yaml", 3, "at.csv", what="CSV file", limit=99)
    assert data is None and "100 bytes" in str(problems[0]) and str(problems[0]).startswith("m.yaml:3:")


def test_a_file_swapped_for_a_fifo_after_stat_is_still_refused(tmp_path, monkeypatch):
    """The check after opening (fstat) catches a FIFO put in place between stat and open;
    the open itself is non-blocking, so it returns at once instead of waiting for a writer."""
    path = tmp_path / "rows.csv"
    path.write_bytes(b"prompt\nfog\n")
    real_stat, swapped = os.stat, []

    def stat_then_swap(target, *args, **kwargs):
        result = real_stat(target, *args, **kwargs)
        if Path(target) == path and not swapped:
            swapped.append(True)
            path.unlink()
            os.mkfifo(path)
        return result

    monkeypatch.setattr(inputfile.os, "stat", stat_then_swap)
    data, problems = inputfile.read_bytes(path, "m.yaml", 3, "rows.csv", what="CSV file", limit=1000)
    assert data is None and "FIFO" in str(problems[0])


def test_the_console_command_returns_on_a_fifo_manifest(tmp_path):
    """The real program, not only main(): it exits 2 at once instead of waiting for a writer."""
    os.mkfifo(tmp_path / "m.yaml")
    done = subprocess.run([sys.executable, "-m", "batchgen", "validate", str(tmp_path / "m.yaml")],
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 2 and "FIFO" in done.stderr and "Traceback" not in done.stderr


def test_a_model_schema_that_is_a_fifo_is_refused(tmp_path, capsys):
    (tmp_path / "models").mkdir()
    os.mkfifo(tmp_path / "models" / "model_mine.schema.json")
    path = write(tmp_path, "m.yaml", HEAD + "model: model_mine\nprompts:\n  - a valley\n")
    before = snapshot(tmp_path)
    err = _refused(capsys, ["validate", str(path)])
    assert "FIFO" in err and snapshot(tmp_path) == before
