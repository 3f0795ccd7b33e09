"""The example manifests in manifests/ work as shipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchgen.cli import main
from batchgen.manifest.load import load_batch

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests"
MANIFESTS = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".csv"))


def test_there_are_examples_of_each_kind():
    names = {p.name for p in MANIFESTS}
    assert {"prompts.yaml", "ab-sweep.yaml", "start-frame.yaml", "shots.csv"} <= names


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_each_example_validates(path, capsys):
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert ": ok, " in out and err == ""


def test_validating_the_whole_examples_folder_passes(capsys):
    assert main(["validate", *map(str, sorted(EXAMPLES.iterdir()))]) == 0


def test_the_ab_sweep_is_resolution_by_hdr_without_hdr_at_1080p_two_samples_each():
    batch = load_batch(EXAMPLES / "ab-sweep.yaml")
    assert len(batch.jobs) == 12
    assert batch.axes == {"resolution": ["720p", "1080p"], "hdr": [False, True]}
    assert not any(j.params["resolution"] == "1080p" and j.params["hdr"] for j in batch.jobs)
    assert {j.sample for j in batch.jobs} == {1, 2}


def test_the_start_frame_example_ships_a_real_png_beside_it():
    batch = load_batch(EXAMPLES / "start-frame.yaml")
    (frame,) = batch.frames.values()
    assert frame.path == (EXAMPLES / "frames" / "knight.png").resolve()
    assert frame.path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert all(j.frames["startFrame"] is frame for j in batch.jobs)


def test_the_demo_plan_prints_every_job(capsys):
    assert main(["plan", str(EXAMPLES / "ab-sweep.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.count("pending ") == 12 and out.rstrip().endswith("12 pending")
