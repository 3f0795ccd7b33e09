"""`batchgen validate` and `batchgen plan`: every user mistake is one located sentence and exit 2.

Each refusal test checks: exit code 2, a message naming file:line and the rule, no
traceback, and nothing written in the manifest's folder (see manifestkit.assert_refused).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from batchgen.cli import main
from batchgen.ledger.events import LedgerWriter, ledger_path
from batchgen.manifest.load import load_batch
from manifestkit import assert_refused, png, snapshot, write

HEAD = "version: 1\nname: t\n"


def test_malformed_yaml_is_refused_with_its_line(tmp_path, capsys):
    path = write(tmp_path, "bad.yaml", HEAD + "prompts:\n  - [unclosed, list\n  - fine\n")
    assert_refused(capsys, path, 6, "not valid YAML", "flow sequence on line 4")


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path, capsys):
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 9):  # 10**9 values once expanded
        prev, name = chr(ord("a") + n - 1), chr(ord("a") + n)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    path = write(tmp_path, "bomb.yaml", "\n".join(levels) + "\n")
    start = time.perf_counter()
    assert_refused(capsys, path, 1, "alias bomb")
    assert time.perf_counter() - start < 2


# Manifests that break one rule, each refused as assert_refused checks:
# id -> (the manifest after HEAD, the line its message names, fragments of the rule).
ONE_RULE_BROKEN = {
    "an_unknown_key_with_a_suggestion": (
        "promts:\n  - a valley\n", 3, ["unknown key 'promts'", "did you mean 'prompts'"]),
    "an_unknown_parameter_in_a_prompt": (
        "prompts:\n  - prompt: a valley\n    durration: 5s\n", 5,
        ["unknown key 'durration'", "duration"]),
    "a_wrong_type_naming_the_field": (
        "defaults:\n  hdr: \"yes\"\nprompts:\n  - a valley\n", 4, ["hdr must be true or false"]),
    "a_duration_written_as_a_number": (
        "defaults:\n  duration: 5\nprompts:\n  - a valley\n", 4,
        ["duration must be 5s or 10s", "number 5"]),
    "hdr_at_540p": (  # named at the resolution line
        "prompts:\n  - prompt: a valley\n    resolution: 540p\n    hdr: true\n", 5,
        ["hdr needs resolution 720p or 1080p"]),
    "end_frame_without_start_frame": (
        "prompts:\n  - prompt: a valley\n    endFrame: asset_123\n", 5, ["endFrame needs a startFrame"]),
    "an_empty_prompt": (
        "prompts:\n  - a valley\n  - \"   \"\n", 5, ["prompt-2", "the prompt is empty"]),
    "a_missing_csv_file": (
        "prompts:\n  - a valley\n  - csv: rows.csv\n", 5, ["rows.csv does not exist"]),
    "a_missing_frame_file": (
        "prompts:\n  - prompt: a knight\n    startFrame: frames/knight.png\n", 5,
        ["startFrame image frames/knight.png does not exist"]),
    "a_placeholder_with_no_value": (
        "prompts:\n  - id: knight\n    prompt: a knight, {style}\n", 4,
        ["knight", "{style} has no value"]),
    "an_attribute_access_placeholder": (
        "prompts:\n  - a knight, {style.__class__}\nmatrix:\n  style: [noir]\n", 4,
        ["{style.__class__}", "not a plain placeholder"]),
    "a_variable_no_prompt_uses": (
        "prompts:\n  - a knight\nmatrix:\n  style: [noir]\n", 6, ["'style' is not used by any prompt"]),
    "a_filename_template_escaping_the_output_folder": (
        "filename: ../../{id}.mp4\nprompts:\n  - a knight\n", 3, ["outside the output folder"]),
    "two_jobs_writing_the_same_file": (
        "filename: \"{id}.mp4\"\nprompts:\n  - a knight\nsamples: 2\n", 3,
        ["prompt-1 #1 and prompt-1 #2 would both write prompt-1.mp4"]),
    "a_bad_value_after_plain_prompts_names_its_own_line": (
        "prompts:\n  - a\n  - b\n  - prompt: c\n    resolution: 4k\n  - d\n", 7,
        ["resolution must be", "not 4k"]),
}


@pytest.mark.parametrize("manifest, line, fragments", ONE_RULE_BROKEN.values(),
                         ids=list(ONE_RULE_BROKEN))
def test_a_manifest_breaking_one_rule_is_refused_naming_its_line(manifest, line, fragments,
                                                                 tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + manifest)
    assert_refused(capsys, path, line, *fragments)


def test_ten_seconds_with_loop_is_refused_naming_the_job(tmp_path, capsys):
    path = write(tmp_path, "sweep.yaml", HEAD + """\
        prompts:
          - id: knight
            prompt: a knight in fog
        matrix:
          duration: [5s, 10s]
          loop: [false, true]
        """.replace("        ", ""))
    err = assert_refused(capsys, path, 8, "knight #4 (duration=10s, loop=true)",
                         "10s is not available with loop")
    assert "#1" not in err and "#2" not in err and "#3" not in err  # the valid ones are fine


def test_a_job_breaking_a_rule_and_with_an_empty_prompt_gets_both_problems(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - id: v\n    prompt: \"\"\n"
                 "    resolution: 540p\n    hdr: true\n")
    err = assert_refused(capsys, path, 6, "hdr needs resolution 720p or 1080p")
    assert "m.yaml:4: v: the prompt is empty" in err


def test_a_prompt_over_the_length_limit_is_refused_without_echoing_it(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - " + "fog," * 2000 + "\n")
    err = assert_refused(capsys, path, 4, "8,000 characters", "at most 6,000")
    assert "fog,fog,fog" not in err


def test_a_frame_outside_the_manifest_folder_is_refused(tmp_path, capsys):
    (tmp_path / "secret.png").write_bytes(png())
    path = write(tmp_path / "project", "m.yaml", HEAD + "prompts:\n  - prompt: a knight\n"
                 "    startFrame: ../secret.png\n")
    assert_refused(capsys, path, 5, "outside the manifest's folder")


def test_a_csv_without_a_prompt_column_is_refused(tmp_path, capsys):
    path = write(tmp_path, "rows.csv", "id,duration\nknight,5s\n")
    assert_refused(capsys, path, 1, "no 'prompt' column")


def test_a_csv_with_a_byte_order_mark_works(tmp_path, capsys):
    path = tmp_path / "rows.csv"
    path.write_bytes("\ufeffprompt,hdr\na knight in fog,YES\n".encode("utf-8"))
    assert main(["validate", str(path)]) == 0
    assert "1 job" in capsys.readouterr().out


def test_a_csv_with_bytes_that_are_not_utf8_is_refused(tmp_path, capsys):
    path = tmp_path / "rows.csv"
    path.write_bytes("prompt\na knight\na caf\xe9 at night\n".encode("latin-1"))
    assert_refused(capsys, path, 3, "not UTF-8")


def test_a_bad_row_in_a_referenced_csv_names_the_csv_file(tmp_path, capsys):
    write(tmp_path, "rows.csv", "prompt,resolution\na knight,720p\na valley,4k\n")
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - csv: rows.csv\n")
    assert_refused(capsys, path, 3, "resolution must be", "4k", named="rows.csv")


@pytest.mark.parametrize("placeholder", ["{style[0]}", "{style", "{ style }", "{style.__class__}"])
def test_a_malformed_placeholder_is_the_only_problem_reported_for_its_variable(placeholder, tmp_path,
                                                                            capsys):
    path = write(tmp_path, "m.yaml", HEAD + f"prompts:\n  - 'a knight in {placeholder} light'\n"
                 "matrix:\n  style: [noir, watercolor]\n")
    err = assert_refused(capsys, path, 4, "prompt-1", placeholder.split(" light")[0])
    assert "not used" not in err
    assert "(1 problem)" in err


def test_a_matrix_past_100000_jobs_is_refused_fast(tmp_path, capsys):
    axes = "".join(f"  v{n}: [" + ", ".join(f"x{i}" for i in range(10)) + "]\n" for n in range(9))
    placeholders = " ".join(f"{{v{n}}}" for n in range(9))
    path = write(tmp_path, "m.yaml", HEAD + f"prompts:\n  - a knight {placeholders}\nmatrix:\n" + axes)
    start = time.perf_counter()
    assert_refused(capsys, path, 5, "1,000,000,000 jobs", "limit of 100,000", "max_jobs", "--max-jobs")
    assert time.perf_counter() - start < 2


def _samples_manifest(tmp_path, samples: int, extra: str = ""):
    return write(tmp_path, "m.yaml", HEAD + extra + f"prompts:\n  - a knight\nsamples: {samples}\n")


def test_the_job_limit_can_be_raised_with_max_jobs_in_the_manifest(tmp_path, capsys):
    assert main(["validate", str(_samples_manifest(tmp_path, 100_001, "max_jobs: 100001\n"))]) == 0
    assert "100,001 jobs" in capsys.readouterr().out


def test_the_job_limit_can_be_raised_with_the_max_jobs_option(tmp_path, capsys):
    path = _samples_manifest(tmp_path, 100_001)
    assert_refused(capsys, path, 5, "100,001 jobs")
    assert main(["validate", str(path), "--max-jobs", "100001"]) == 0


def test_validate_lists_every_problem_not_only_the_first(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "defaults:\n  duration: 7s\n  hdr: maybe\n"
                 "prompts:\n  - a knight\n")
    err = assert_refused(capsys, path, 4, "duration")
    assert "m.yaml:5: hdr must be true or false" in err
    assert "2 problems" in err


def test_validate_checks_every_manifest_given(tmp_path, capsys):
    good = write(tmp_path, "good.yaml", HEAD + "prompts:\n  - a knight\n")
    bad = write(tmp_path, "bad.yaml", HEAD + "prompts: []\n")
    assert main(["validate", str(bad), str(good)]) == 2
    out, err = capsys.readouterr()
    assert "bad.yaml:3: prompts must list at least one value" in err
    assert f"{good}: ok, 1 job" in out


def test_skipped_combinations_are_listed_as_warnings(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "on_invalid: skip\nprompts:\n  - a knight\n"
                 "matrix:\n  resolution: [540p, 720p]\n  hdr: [true]\n")
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "m.yaml:7: prompt-1 #1 (resolution=540p, hdr=true): skipped: hdr needs" in err
    assert "1 job " in out


def test_plan_lists_the_jobs_with_their_swept_values(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - id: knight\n    prompt: a knight\n"
                 "matrix:\n  resolution: [720p, 1080p]\n")
    assert main(["plan", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["STATE", "KEY", "PROMPT", "#", "RESOLUTION", "FILE"]
    assert lines[2].split()[0::2] == ["pending", "knight", "720p"]
    assert lines[3].split()[4] == "1080p"
    assert lines[-1] == "2 pending"


def test_plan_json_has_the_status_shape(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - id: knight\n    prompt: a knight {style}\n"
                 "matrix:\n  style: [noir]\n")
    assert main(["plan", str(path), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["counts"] == {"pending": 1, "running": 0, "succeeded": 0, "failed": 0}
    (job,) = plan["jobs"]
    assert job["id"] == "knight" and job["sample"] == 1 and job["prompt"] == "a knight noir"
    assert job["params"] == {"duration": "5s", "resolution": "720p", "aspectRatio": "16:9",
                             "loop": False, "hdr": False}
    assert (job["state"], job["jobId"], job["files"], job["error"]) == ("pending", None, [], None)
    assert len(job["key"]) == 16 and job["filename"] == f"knight/{job['key']}.mp4"


def test_plan_json_puts_each_job_on_its_own_line(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - a knight\n  - a valley\nsamples: 2\n")
    assert main(["plan", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    job_lines = [line for line in out.splitlines() if line.lstrip().startswith('{"key"')]
    assert [json.loads(line.rstrip(","))["prompt"] for line in job_lines] == [
        "a knight", "a knight", "a valley", "a valley"]
    assert len(json.loads(out)["jobs"]) == 4


def test_plan_shows_what_the_ledger_knows_about_each_job(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "output: out\nprompts:\n  - a knight\n  - a valley\n"
                 "  - a lighthouse\n")
    done, running, new = load_batch(path).jobs
    with LedgerWriter(ledger_path(tmp_path / "out")) as ledger:
        for job in (done, running):
            ledger.append({"event": "intent", "key": job.key, "id": job.id, "sample": job.sample,
                           "body": job.body({})})
            ledger.append({"event": "submitted", "key": job.key, "jobId": f"job_{job.id}", "cost": 1})
        ledger.append({"event": "succeeded", "key": done.key, "jobId": "job_prompt-1",
                       "assetIds": ["asset_1"], "cost": 1})
        ledger.append({"event": "file", "key": done.key, "assetId": "asset_1",
                       "path": done.filename, "bytes": 3, "sha256": "c" * 64})
    assert main(["plan", str(path), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["counts"] == {"pending": 1, "running": 1, "succeeded": 1, "failed": 0}
    assert [(j["key"], j["state"], j["jobId"]) for j in plan["jobs"]] == [
        (done.key, "succeeded", "job_prompt-1"), (running.key, "running", "job_prompt-2"),
        (new.key, "pending", None)]
    assert plan["jobs"][0]["files"][0]["sha256"] == "c" * 64


def test_plan_refuses_an_invalid_manifest_like_validate(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - prompt: x\n    resolution: 4k\n")
    assert_refused(capsys, path, 5, "resolution must be", "4k", command="plan", extra=("--json",))


def test_a_missing_manifest_is_refused(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: the manifest" in capsys.readouterr().err


def test_the_console_command_exits_2_without_a_traceback(tmp_path):
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - !!python/object/apply:os.system [ls]\n")
    before = snapshot(tmp_path)
    done = subprocess.run([sys.executable, "-m", "batchgen", "validate", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert "m.yaml:4: the YAML tag !!python/object/apply:os.system is not allowed" in done.stderr
    assert snapshot(tmp_path) == before


def test_the_console_command_refuses_a_csv_with_a_nul_byte_without_a_traceback(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes(b"prompt\na knight\na \x00 valley\n")
    done = subprocess.run([sys.executable, "-m", "batchgen", "plan", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert "rows.csv:3: this line contains a NUL byte" in done.stderr


def test_a_plain_prompt_with_a_colon_is_explained(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n  - a valley\n  - Shot 2: a lighthouse\n")
    err = assert_refused(capsys, path, 5, "read as a mapping", "colon after 'Shot 2'", "quotes")
    assert "unknown key" not in err


def test_a_manifest_broken_many_ways_shows_the_first_50_problems(tmp_path, capsys):
    path = write(tmp_path, "m.yaml", HEAD + "prompts:\n"
                 + "".join(f"  - prompt: p{i}\n    hdr: maybe\n" for i in range(80)))
    err = assert_refused(capsys, path, 5, "hdr must be true or false")
    assert err.count("hdr must be true or false") == 50
    assert "... and 30 more problems; fix the ones above first" in err
