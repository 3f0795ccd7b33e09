"""CSV prompt files: header row, typed cells, UTF-8 with or without a BOM."""

from __future__ import annotations

import pytest

from batchgen.errors import ManifestError
from batchgen.manifest.load import load_batch
from manifestkit import write


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # messages name files relative to the working folder


def load_csv(tmp_path, text: str, *, raw: bytes | None = None):
    path = tmp_path / "rows.csv"
    path.write_bytes(raw if raw is not None else text.encode("utf-8"))
    return load_batch(path)


def refusal(tmp_path, text: str = "", *, raw: bytes | None = None) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_csv(tmp_path, text, raw=raw)
    return [str(p) for p in caught.value.problems]


def test_each_row_is_a_prompt_with_its_own_fields(tmp_path):
    batch = load_csv(tmp_path, "prompt,id,resolution,samples\na knight,knight,1080p,2\na valley,,,\n")
    assert [(j.id, j.sample, j.params["resolution"]) for j in batch.jobs] == [
        ("knight", 1, "1080p"), ("knight", 2, "1080p"), ("prompt-2", 1, "720p")]


def test_a_csv_manifest_is_named_after_its_file(tmp_path):
    batch = load_csv(tmp_path, "prompt\na knight\n")
    assert batch.name == "rows" and batch.output == tmp_path / "out" / "rows"


@pytest.mark.parametrize("cell,value", [("true", True), ("YES", True), ("1", True),
                                        ("False", False), ("no", False), ("0", False)])
def test_booleans_accept_true_false_yes_no_1_0_in_any_case(tmp_path, cell, value):
    batch = load_csv(tmp_path, f"prompt,loop\na knight,{cell}\n")
    assert batch.jobs[0].params["loop"] is value


def test_an_empty_cell_sets_nothing(tmp_path):
    batch = load_csv(tmp_path, "prompt,duration,hdr\na knight,,\n")
    assert batch.jobs[0].params["duration"] == "5s" and batch.jobs[0].params["hdr"] is False


def test_a_byte_order_mark_is_ignored(tmp_path):
    batch = load_csv(tmp_path, "", raw="\ufeffprompt,id\na knight,knight\n".encode("utf-8"))
    assert batch.jobs[0].id == "knight"


def test_quoted_cells_may_hold_commas_and_newlines(tmp_path):
    batch = load_csv(tmp_path, 'prompt,id\n"fog, rain\nand snow",weather\n')
    assert batch.jobs[0].prompt == "fog, rain\nand snow"


def test_bytes_that_are_not_utf8_are_refused_with_their_line(tmp_path):
    assert refusal(tmp_path, raw=b"prompt\na knight\ncaf\xe9\n") == [
        "rows.csv:3: this file is not UTF-8 text (byte 0xe9 cannot be read); save it as UTF-8"]


def test_a_missing_prompt_column_is_refused(tmp_path):
    assert refusal(tmp_path, "id\nknight\n") == [
        "rows.csv:1: the header row has no 'prompt' column; every CSV prompt file needs one"]


def test_an_unknown_column_is_refused_with_a_suggestion(tmp_path):
    (message,) = refusal(tmp_path, "prompt,resolutoin\na knight,720p\n")
    assert message == "rows.csv:1: unknown column 'resolutoin' (did you mean 'resolution'?)"


def test_a_row_with_more_cells_than_columns_is_refused(tmp_path):
    (message,) = refusal(tmp_path, "prompt,duration\na knight,5s\na valley,5s,720p\n")
    assert message.startswith("rows.csv:3: this row has 3 cells but the header names 2 columns")


def test_a_bad_boolean_is_refused_naming_the_value(tmp_path):
    (message,) = refusal(tmp_path, "prompt,hdr\na knight,maybe\n")
    assert message == "rows.csv:2: hdr must be true or false, not maybe"


def test_samples_must_be_a_whole_number(tmp_path):
    (message,) = refusal(tmp_path, "prompt,samples\na knight,two\n")
    assert message == "rows.csv:2: samples must be a whole number, not two"


def test_an_empty_prompt_cell_is_refused(tmp_path):
    (message,) = refusal(tmp_path, "prompt,duration\na knight,5s\n,5s\n")
    assert message == "rows.csv:3: the prompt cell of this row is empty"


def test_an_unterminated_quote_is_refused_at_its_row(tmp_path):
    (message,) = refusal(tmp_path, 'prompt\na knight\n"a valley\nmore\n')
    assert message.startswith("rows.csv:3:") and "no closing quote" in message


def test_a_header_without_rows_is_refused(tmp_path):
    (message,) = refusal(tmp_path, "prompt,id\n")
    assert message.startswith("rows.csv:1:") and "no jobs" in message


def test_an_empty_file_is_refused(tmp_path):
    (message,) = refusal(tmp_path, "")
    assert message.startswith("rows.csv:1:") and "header row" in message


def test_a_referenced_csv_frame_is_relative_to_the_csv_folder(tmp_path):
    from manifestkit import png
    (tmp_path / "shots").mkdir()
    (tmp_path / "shots" / "a.png").write_bytes(png())
    write(tmp_path, "shots/rows.csv", "prompt,startFrame\na knight,a.png\n")
    batch = load_batch(write(tmp_path, "m.yaml", "version: 1\nprompts:\n  - csv: shots/rows.csv\n"))
    assert batch.jobs[0].frames["startFrame"].path == (tmp_path / "shots" / "a.png").resolve()


def test_a_referenced_csvs_problems_come_with_the_documents_shape_problems(tmp_path):
    (tmp_path / "rows.csv").write_text("prompt,colour\na knight,red\n", encoding="utf-8")
    write(tmp_path, "m.yaml", "version: 1\nname: t\nsamples: many\nprompts:\n  - csv: rows.csv\n"
          "  - csv: missing.csv\n")
    with pytest.raises(ManifestError) as caught:
        load_batch(tmp_path / "m.yaml")
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 3
    assert problems[0].startswith("m.yaml:3: ")  # samples: many
    assert problems[1].startswith("rows.csv:1: ") and "colour" in problems[1]
    assert problems[2].startswith("m.yaml:6: ") and "missing.csv" in problems[2]


@pytest.mark.parametrize("text", [
    "prompt;id;resolution\na knight, at dawn;knight;1080p\n",  # Excel where the decimal mark is ","
    "sep=;\nprompt;id;resolution\na knight, at dawn;knight;1080p\n",  # Excel's own hint
    "sep=,\nprompt,id,resolution\n\"a knight, at dawn\",knight,1080p\n",
    "prompt\tid\tresolution\na knight, at dawn\tknight\t1080p\n",
])
def test_semicolon_and_tab_separated_files_and_excels_sep_line_are_read(tmp_path, text):
    (job,) = load_csv(tmp_path, text).jobs
    assert (job.prompt, job.id, job.params["resolution"]) == ("a knight, at dawn", "knight", "1080p")


def test_lines_are_counted_from_the_sep_line(tmp_path):
    assert refusal(tmp_path, "sep=;\nprompt;resolution\na knight;720p\na fox;4k\n") == [
        "rows.csv:4: resolution must be 540p, 720p or 1080p, not 4k"]


def test_a_row_with_too_many_cells_names_the_files_separator(tmp_path):
    (message,) = refusal(tmp_path, "prompt;id\na knight;k;extra\n")
    assert message.endswith("quote cells that contain semicolons")
