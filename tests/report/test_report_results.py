"""results.csv and results.json: one row per job, readable by spreadsheets and scripts."""

from __future__ import annotations

import csv
import json

from batchgen.report import write_report

JOBS = [
    {"key": "k1", "id": "knight", "sample": 1, "prompt": 'A knight, "noir", 1,2', "params": {"resolution": "720p"},
     "variables": {"style": "noir"}, "state": "succeeded", "jobId": "job_1",
     "files": [{"path": "knight/1.mp4", "sha256": "aa", "bytes": 10},
               {"path": "knight/1b.mp4", "sha256": "bb", "bytes": 20}],
     "error": None, "cost": 12, "submittedAt": "2026-11-27T10:00:00Z", "finishedAt": "2026-11-27T10:00:41Z"},
    {"key": "k2", "id": "knight", "sample": 2, "prompt": "A knight\nsecond line", "params": {"resolution": "720p"},
     "state": "failed", "jobId": None, "files": [], "error": "content policy"},
]


def written(tmp_path):
    out = write_report(JOBS, {"resolution": ["720p"]}, "sweep", tmp_path / "report" / "index.html",
                       base_dir=tmp_path / "out")
    return out.parent


def test_csv_has_one_row_per_job_in_order(tmp_path):
    with open(written(tmp_path) / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["key"] for r in rows] == ["k1", "k2"]
    assert rows[1]["prompt"] == "A knight\nsecond line"


def test_csv_row_carries_params_files_hashes_cost_and_times(tmp_path):
    with open(written(tmp_path) / "results.csv", newline="", encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    assert json.loads(first["params"]) == {"resolution": "720p"}
    assert first["files"] == "../out/knight/1.mp4;../out/knight/1b.mp4"
    assert first["sha256"] == "aa;bb"
    assert (first["cost"], first["seconds"], first["submittedAt"]) == ("12", "41", "2026-11-27T10:00:00Z")


def test_csv_failed_row_carries_its_error_and_empty_cells(tmp_path):
    with open(written(tmp_path) / "results.csv", newline="", encoding="utf-8") as handle:
        failed = list(csv.DictReader(handle))[1]
    assert (failed["state"], failed["error"], failed["jobId"], failed["cost"]) == (
        "failed", "content policy", "", "")


def test_json_has_name_axes_and_one_object_per_job(tmp_path):
    document = json.loads((written(tmp_path) / "results.json").read_text(encoding="utf-8"))
    assert document["name"] == "sweep"
    assert document["axes"] == {"resolution": ["720p"]}
    first = document["jobs"][0]
    assert first["files"][1] == {"path": "../out/knight/1b.mp4", "sha256": "bb", "bytes": 20}
    assert (first["jobId"], first["cost"], first["seconds"]) == ("job_1", 12, 41.0)
    assert document["jobs"][1]["error"] == "content policy"
