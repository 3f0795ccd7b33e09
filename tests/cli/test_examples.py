"""The example manifests in manifests/ work as shipped.

Each test works on a copy of the folder without its output folders: the Quick start's
demo writes `manifests/out/ab-sweep`, and the tests must neither read nor change it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from batchgen.cli import main
from batchgen.manifest.load import load_batch

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests"
MANIFESTS = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".csv"))


@pytest.fixture
def examples(tmp_path) -> Path:
    """A copy of manifests/ as shipped: without the output folders runs leave in it."""
    copy = tmp_path / "manifests"
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("out"))
    return copy


def test_there_are_examples_of_each_kind():
    names = set(MANIFESTS)
    assert {"prompts.yaml", "ab-sweep.yaml", "start-frame.yaml", "shots.csv"} <= names


@pytest.mark.parametrize("name", MANIFESTS)
def test_each_example_validates(name, examples, capsys):
    assert main(["validate", str(examples / name)]) == 0
    out, err = capsys.readouterr()
    assert ": ok, " in out and err == ""


def test_validating_the_whole_examples_folder_passes(examples, capsys):
    assert main(["validate", *map(str, sorted(examples.iterdir()))]) == 0


def test_the_ab_sweep_is_resolution_by_hdr_without_hdr_at_1080p_two_samples_each(examples):
    batch = load_batch(examples / "ab-sweep.yaml")
    assert len(batch.jobs) == 12
    assert batch.axes == {"resolution": ["720p", "1080p"], "hdr": [False, True]}
    assert not any(j.params["resolution"] == "1080p" and j.params["hdr"] for j in batch.jobs)
    assert {j.sample for j in batch.jobs} == {1, 2}


def test_the_start_frame_example_ships_a_real_png_beside_it(examples):
    batch = load_batch(examples / "start-frame.yaml")
    (frame,) = batch.frames.values()
    assert frame.path == (examples / "frames" / "knight.png").resolve()
    assert frame.path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert all(j.frames["startFrame"] is frame for j in batch.jobs)


def test_the_demo_plan_prints_every_job(examples, capsys):
    assert main(["plan", str(examples / "ab-sweep.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.count("pending ") == 12 and out.rstrip().endswith("12 pending")
