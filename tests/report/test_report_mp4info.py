"""The frame rate and size the page steps and syncs by, read from the MP4 itself."""

from __future__ import annotations

import json

from batchgen.report import write_report
from batchgen.report.mp4info import video_facts
from batchgen.simulator.media import FPS, video_for


def test_frame_rate_and_size_come_from_the_file(tmp_path):
    path = tmp_path / "a.mp4"
    path.write_bytes(video_for("job_1", body={"resolution": "1080p", "aspectRatio": "9:16"}))
    assert video_facts(path) == {"fps": FPS, "width": 180, "height": 320}


def test_a_missing_or_foreign_file_has_no_facts(tmp_path):
    (tmp_path / "notes.txt").write_text("not a video at all")
    (tmp_path / "cut.mp4").write_bytes(video_for("job_1")[:200])  # ends inside moov
    assert video_facts(tmp_path / "gone.mp4") is None
    assert video_facts(tmp_path / "notes.txt") is None
    assert video_facts(tmp_path / "cut.mp4") is None


def test_the_page_data_carries_each_videos_frame_rate(tmp_path):
    (tmp_path / "a.mp4").write_bytes(video_for("job_1", body={"resolution": "540p"}))
    record = {"key": "k", "id": "p", "sample": 1, "prompt": "x", "params": {}, "state": "succeeded",
              "jobId": "job_1", "files": [{"path": "a.mp4"}], "error": None}
    page = write_report([record], {}, "s", tmp_path / "report.html", base_dir=tmp_path).read_text()
    data = json.loads(page.split('id="report-data">')[1].split("</script>")[0])
    assert {k: data["jobs"][0][k] for k in ("fps", "width", "height")} == {"fps": FPS, "width": 160, "height": 90}
