"""The report's view of jobs: file locations, times, errors and the sweep's axes."""

from __future__ import annotations

from pathlib import Path

from batchgen.report.model import rows_from_records, sweep_axes


def record(**overrides):
    base = {"key": "k1", "id": "knight", "sample": 1, "prompt": "A knight", "params": {"resolution": "720p"},
            "state": "succeeded", "jobId": "job_1", "files": [], "error": None}
    return {**base, **overrides}


def one_row(tmp_path: Path, report_dir: Path | None = None, **overrides):
    rows = rows_from_records([record(**overrides)], base_dir=tmp_path / "out",
                             report_dir=report_dir or tmp_path / "out")
    return rows[0]


def test_relative_file_path_is_resolved_against_base_dir_and_made_relative_to_report(tmp_path):
    row = one_row(tmp_path, report_dir=tmp_path, files=[{"path": "knight/a.mp4", "sha256": "ab", "bytes": 3}])
    assert row.files[0].path == tmp_path / "out" / "knight" / "a.mp4"
    assert row.files[0].src == "out/knight/a.mp4"


def test_report_in_another_folder_reaches_the_videos_with_dot_dot(tmp_path):
    row = one_row(tmp_path, report_dir=tmp_path / "reports", files=[{"path": "a.mp4"}])
    assert row.files[0].src == "../out/a.mp4"


def test_record_output_folder_overrides_base_dir_so_folders_can_merge(tmp_path):
    row = one_row(tmp_path, report_dir=tmp_path, output=str(tmp_path / "shard2"), files=[{"path": "a.mp4"}])
    assert row.files[0].src == "shard2/a.mp4"


def test_absolute_file_path_is_kept(tmp_path):
    row = one_row(tmp_path, report_dir=tmp_path, files=[{"path": str(tmp_path / "elsewhere" / "a.mp4")}])
    assert row.files[0].src == "elsewhere/a.mp4"


def test_unusual_file_names_are_percent_encoded_in_the_url_but_not_in_the_path(tmp_path):
    row = one_row(tmp_path, files=[{"path": "night #1/50% done?.mp4"}])
    assert row.files[0].src == "night%20%231/50%25%20done%3F.mp4"
    assert row.files[0].relative == "night #1/50% done?.mp4"


def test_generation_time_is_seconds_between_submitted_and_finished(tmp_path):
    row = one_row(tmp_path, submittedAt="2026-11-27T10:00:00Z", finishedAt="2026-11-27T10:01:02.5Z")
    assert row.seconds == 62.5


def test_generation_time_is_unknown_while_unfinished(tmp_path):
    assert one_row(tmp_path, submittedAt="2026-11-27T10:00:00Z").seconds is None


def test_error_object_becomes_one_line_with_its_hint(tmp_path):
    row = one_row(tmp_path, state="failed", error={"message": "rejected", "hint": "shorten the prompt"})
    assert row.error == "rejected (hint: shorten the prompt)"


def test_record_hint_is_shown_after_its_error(tmp_path):
    row = one_row(tmp_path, state="failed", error="rejected", hint="shorten the prompt")
    assert row.error == "rejected (hint: shorten the prompt)"


def test_unknown_state_is_shown_as_pending(tmp_path):
    assert one_row(tmp_path, state="weird").state == "pending"


def rows_for(*specs):
    records = [record(key=f"k{i}", id=pid, params=params, variables=variables)
               for i, (pid, params, variables) in enumerate(specs)]
    return rows_from_records(records, base_dir=Path("/x"), report_dir=Path("/x"))


def test_declared_axes_come_first_and_gain_values_the_jobs_have():
    rows = rows_for(("a", {"resolution": "720p"}, {}), ("a", {"resolution": "540p"}, {}))
    assert sweep_axes(rows, {"resolution": ["720p"]}) == {"resolution": ["720p", "540p"]}


def test_declared_values_no_job_has_are_dropped():
    rows = rows_for(("a", {"resolution": "720p", "hdr": False}, {}), ("a", {"resolution": "720p", "hdr": True}, {}))
    assert sweep_axes(rows, {"hdr": [False, True], "resolution": ["720p", "1080p"]}) == {
        "hdr": [False, True], "resolution": ["720p"]}


def test_parameter_varying_within_a_prompt_is_an_axis_even_if_undeclared():
    rows = rows_for(("a", {"duration": "5s"}, {"style": "noir"}), ("a", {"duration": "9s"}, {"style": "ink"}))
    assert sweep_axes(rows, None) == {"duration": ["5s", "9s"], "style": ["noir", "ink"]}


def test_a_prompts_own_fixed_parameter_is_not_an_axis():
    rows = rows_for(("a", {"duration": "5s"}, {}), ("b", {"duration": "9s"}, {}))
    assert sweep_axes(rows, None) == {}


def test_job_without_the_axis_gets_a_none_value_last():
    rows = rows_for(("a", {"hdr": True}, {}), ("a", {}, {}))
    assert sweep_axes(rows, {"hdr": [True]}) == {"hdr": [True, None]}
