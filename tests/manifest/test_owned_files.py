"""A filename template can never name batchgen's own files, the manifest or a file it
reads, nor a name too long to be written: validation refuses it (exit 2, nothing sent)."""

from __future__ import annotations

import pytest

import batchgen.ledger.events
import batchgen.ledger.status
import batchgen.report.targets
import batchgen.report.write
from batchgen.manifest.owned import BATCHGEN_FILES
from manifestkit import assert_refused, png, write

PROMPTS = """\
prompts:
  - id: knight
    prompt: A knight in fog
"""


def manifest(tmp_path, filename, *, output="out", extra=""):
    return write(tmp_path, "m.yaml", f"""\
version: 1
name: owned
output: {output}
filename: "{filename}"
{PROMPTS}{extra}""")


@pytest.mark.parametrize("filename", ["ledger.jsonl", "report.html", "batch.json",
                                      "results.csv", "Results.JSON", "ledger.jsonl/{key}.mp4",
                                      "shard-1-of-2/{key}.mp4"])
def test_a_template_naming_batchgens_own_files_is_refused(tmp_path, capsys, filename):
    assert_refused(capsys, manifest(tmp_path, filename), 4, "batchgen's own")


@pytest.mark.parametrize("filename", [".batchgen.lock", "{id}/.x.part", ".ledger.jsonl.checkpoint"])
def test_a_hidden_name_is_batchgens_and_refused(tmp_path, capsys, filename):
    assert_refused(capsys, manifest(tmp_path, filename), 4, "starting with '.'")


def test_a_value_naming_the_ledger_is_refused(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", """\
version: 1
name: owned
filename: "{id}"
prompts:
  - id: ledger.jsonl
    prompt: A knight in fog
""")
    assert_refused(capsys, path, 3, "ledger.jsonl is batchgen's own file")


def test_writing_over_the_manifest_itself_is_refused(tmp_path, capsys):
    assert_refused(capsys, manifest(tmp_path, "m.yaml", output="."), 4, "a file this manifest reads")


def test_writing_over_a_frame_the_manifest_uploads_is_refused(tmp_path, capsys):
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "knight.png").write_bytes(png())
    path = write(tmp_path, "m.yaml", """\
version: 1
name: owned
output: .
filename: "frames/{id}.png"
prompts:
  - id: knight
    prompt: A knight in fog
    startFrame: frames/knight.png
""")
    assert_refused(capsys, path, 4, "knight.png, a file this manifest reads")


def test_writing_over_a_csv_the_manifest_reads_is_refused(tmp_path, capsys):
    write(tmp_path, "more.csv", "prompt,id\nA fox in snow,fox\n")
    path = write(tmp_path, "m.yaml", """\
version: 1
name: owned
output: .
filename: "more.csv"
prompts:
  - csv: more.csv
""")
    assert_refused(capsys, path, 4, "more.csv, a file this manifest reads")


def test_a_name_longer_than_a_filesystem_allows_is_refused(tmp_path, capsys):
    long_id = "k" * 70
    path = write(tmp_path, "m.yaml", f"""\
version: 1
name: owned
filename: "{{id}}-{{id}}-{{id}}-{{key}}.mp4"
prompts:
  - id: {long_id}
    prompt: A knight in fog
""")
    assert_refused(capsys, path, 3, "bytes long, more than the 200 bytes")


def test_ordinary_names_still_validate(tmp_path, capsys):
    from batchgen.cli import main
    assert main(["validate", str(manifest(tmp_path, "{id}/ledger-{key}.mp4"))]) == 0


def test_the_reserved_names_are_those_the_modules_write():
    assert BATCHGEN_FILES == {batchgen.ledger.events.LEDGER_NAME,
                              batchgen.ledger.status.SNAPSHOT_NAME,
                              batchgen.report.targets.REPORT_NAME,
                              batchgen.report.write.RESULTS_CSV, batchgen.report.write.RESULTS_JSON}
