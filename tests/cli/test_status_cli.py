"""`batchgen status` and the ledger states `batchgen plan` shows, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from batchgen.cli import main
from batchgen.ledger.events import LedgerWriter, ledger_path
from batchgen.ledger.status import write_batch_snapshot
from batchgen.manifest.load import load_batch

from ledgerkit import lifecycle, manifest  # noqa: F401  (fixture)

SPEC_FIELDS = ["key", "id", "sample", "prompt", "params", "state", "jobId", "files", "error"]


@pytest.fixture
def batch(manifest):
    """The sweep with one job succeeded, one failed and two never started."""
    batch = load_batch(manifest)
    write_batch_snapshot(batch, batch.output)
    with LedgerWriter(ledger_path(batch.output)) as ledger:
        for event in [*lifecycle(batch.jobs[0]), *lifecycle(batch.jobs[1], outcome="failed")]:
            ledger.append(event)
    return batch


def status(capsys, *argv):
    code = main(["status", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_status_json_prints_counts_and_jobs_with_the_spec_fields_first(capsys, manifest, batch):
    code, out, _ = status(capsys, str(manifest), "--json")
    document = json.loads(out)
    assert code == 0
    assert list(document) == ["counts", "jobs"]
    assert document["counts"] == {"pending": 2, "running": 0, "succeeded": 1, "failed": 1}
    assert [list(job)[:9] for job in document["jobs"]] == [SPEC_FIELDS] * 4
    assert list(document["jobs"][0])[9:] == ["model", "variables", "cost", "submittedAt", "finishedAt",
                                             "hint", "output", "reusedFrom"]
    done, failed = document["jobs"][:2]
    assert (done["state"], done["jobId"]) == ("succeeded", f"job_{batch.jobs[0].key}")
    assert (failed["state"], failed["error"]) == ("failed", "The prompt was refused")


def test_status_json_file_paths_are_absolute(capsys, monkeypatch, tmp_path, batch):
    monkeypatch.chdir(tmp_path)
    _, out, _ = status(capsys, "out", "--json")
    job = json.loads(out)["jobs"][0]
    assert job["files"][0]["path"] == os.path.join(str(batch.output), batch.jobs[0].filename)
    assert job["output"] == str(batch.output)


def test_status_prints_counts_then_one_line_per_job(capsys, manifest, batch):
    code, out, _ = status(capsys, str(manifest))
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "knight-sweep: 4 jobs (2 pending, 0 running, 1 succeeded, 1 failed)"
    assert lines[2].split() == ["ID", "SAMPLE", "RESOLUTION", "STYLE", "STATE", "COST", "JOB",
                                "ID", "ERROR"]
    assert lines[3].split() == ["knight", "1", "720p", "noir", "succeeded", "20",
                                f"job_{batch.jobs[0].key}"]
    assert lines[4].split()[:7] == ["knight", "1", "720p", "watercolor", "failed", "20",
                                    f"job_{batch.jobs[1].key}"]
    assert lines[4].endswith("The prompt was refused (hint: rephrase it)")
    assert lines[5].split() == ["knight", "1", "1080p", "noir", "pending", "-", "-"]
    assert len(lines) == 7


def test_the_status_table_shows_only_the_values_that_differ_between_jobs(capsys, tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text("version: 1\nprompts:\n  - id: a\n    prompt: x\n    duration: 10s\n"
                    "  - id: b\n    prompt: y\n")
    _, out, _ = status(capsys, str(path))
    assert out.splitlines()[2].split() == ["ID", "SAMPLE", "DURATION", "STATE", "COST", "JOB",
                                           "ID", "ERROR"]
    assert out.splitlines()[3].split() == ["a", "1", "10s", "pending", "-", "-"]


@pytest.mark.parametrize("how", ["table", "json"])
def test_status_state_lists_only_the_jobs_in_that_state(capsys, manifest, batch, how):
    code, out, _ = status(capsys, str(manifest), "--state", "failed",
                          *(["--json"] if how == "json" else []))
    assert code == 0
    if how == "json":
        document = json.loads(out)
        assert list(document) == ["counts", "jobs"]  # the shape of every status --json
        assert document["counts"] == {"pending": 2, "running": 0, "succeeded": 1, "failed": 1}
        assert [job["key"] for job in document["jobs"]] == [batch.jobs[1].key]
    else:
        rows = out.splitlines()[3:]
        assert len(rows) == 1 and " failed " in rows[0]


def test_status_state_may_be_repeated_and_says_when_no_job_matches(capsys, manifest, batch):
    _, out, _ = status(capsys, str(manifest), "--state", "failed", "--state", "pending")
    assert len(out.splitlines()[3:]) == 3
    _, out, _ = status(capsys, str(manifest), "--state", "running")
    assert out.splitlines()[1:] == ["no job in that state"]
    with pytest.raises(SystemExit) as refused:
        status(capsys, str(manifest), "--state", "done")
    assert refused.value.code == 2 and "invalid choice: 'done'" in capsys.readouterr().err


def test_status_without_argument_reads_the_current_folder(capsys, monkeypatch, batch):
    monkeypatch.chdir(batch.output)
    code, out, _ = status(capsys, "--json")
    assert code == 0 and json.loads(out)["counts"]["succeeded"] == 1


def test_status_merges_several_output_folders(capsys, tmp_path, batch):
    other = tmp_path / "other"
    with LedgerWriter(ledger_path(other)) as ledger:
        for event in lifecycle(batch.jobs[3]):
            ledger.append(event)
    _, out, _ = status(capsys, str(batch.output), str(other), "--json")
    assert json.loads(out)["counts"] == {"pending": 1, "running": 0, "succeeded": 2, "failed": 1}


def test_status_with_nothing_to_show_exits_2_with_a_clear_message(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, err = status(capsys)
    assert code == 2 and out == ""
    assert "no ledger.jsonl" in err and "Traceback" not in err


def test_status_of_a_corrupt_ledger_exits_2_naming_the_line(capsys, batch):
    with open(ledger_path(batch.output), "ab") as handle:
        handle.write(b"{not json\n{\"event\":\"end\"}\n")
    code, _, err = status(capsys, str(batch.output))
    assert code == 2 and "ledger.jsonl:" in err and "not a JSON object" in err


def test_status_warns_about_a_torn_last_line_and_still_answers(batch):
    with open(ledger_path(batch.output), "ab") as handle:
        handle.write(b'{"event":"intent","key":"x')
    result = subprocess.run([sys.executable, "-m", "batchgen", "status", str(batch.output)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "torn last line" in result.stderr
    assert result.stdout.startswith("knight-sweep: 4 jobs")


def test_plan_shows_the_ledger_states_of_the_manifests_jobs(capsys, manifest, batch):
    code = main(["plan", str(manifest), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["counts"] == {"pending": 2, "running": 0, "succeeded": 1, "failed": 1}
    assert [job["state"] for job in document["jobs"]] == ["succeeded", "failed", "pending", "pending"]
    assert document["jobs"][1]["error"] == "The prompt was refused"


def test_plan_json_prints_what_plan_records_returns_to_a_library_caller(capsys, manifest, batch):
    from batchgen.ledger.records import plan_records
    from batchgen.ledger.status import ledger_states

    assert main(["plan", str(manifest), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    loaded, states = load_batch(manifest), ledger_states(batch.output)
    records = plan_records(loaded, states)
    assert printed == records
    assert [job["state"] for job in records["jobs"]] == ["succeeded", "failed", "pending", "pending"]
    records["jobs"][2]["params"]["resolution"] = "changed"  # the caller's own copies
    records["jobs"][0]["files"].clear()
    assert plan_records(loaded, states) == printed


def _plan(capsys, *argv):
    code = main(["plan", *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_plan_takes_an_output_folder_or_its_ledger_like_status(capsys, manifest, batch):
    for target in (batch.output, ledger_path(batch.output)):
        document = _plan(capsys, str(target))
        assert document["counts"] == {"pending": 2, "running": 0, "succeeded": 1, "failed": 1}
        assert [list(job)[:9] for job in document["jobs"]] == [SPEC_FIELDS] * 4
    assert main(["plan", str(batch.output)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["STATE", "KEY", "PROMPT", "#", "RESOLUTION", "STYLE", "FILE"]
    assert lines[2].split()[:6] == ["succeeded", batch.jobs[0].key, "knight", "1", "720p", "noir"]


def test_plan_and_status_out_read_the_folder_run_out_would_write(capsys, tmp_path, manifest, batch):
    elsewhere = tmp_path / "elsewhere"
    with LedgerWriter(ledger_path(elsewhere)) as ledger:
        for job in batch.jobs:
            for event in lifecycle(job):
                ledger.append(event)
    assert _plan(capsys, str(manifest), "--out", str(elsewhere))["counts"]["succeeded"] == 4
    assert _plan(capsys, str(manifest))["counts"]["succeeded"] == 1
    code, out, _ = status(capsys, str(manifest), "--out", str(elsewhere), "--json")
    assert code == 0 and json.loads(out)["counts"]["succeeded"] == 4


def test_plan_and_status_shard_show_the_jobs_and_folder_of_that_shard(capsys, manifest, batch):
    from batchgen.run.shards import parse_shard, select, shard_output

    shard = parse_shard("2/2")
    mine = select(batch.jobs, shard)
    assert 0 < len(mine) < len(batch.jobs)
    with LedgerWriter(ledger_path(shard_output(batch.output, shard))) as ledger:
        for event in lifecycle(mine[0]):
            ledger.append(event)
    for command in ("plan", "status"):
        assert main([command, str(manifest), "--shard", "2/2", "--json"]) == 0
        document = json.loads(capsys.readouterr().out)
        assert [job["key"] for job in document["jobs"]] == [job.key for job in mine]
        assert document["counts"]["succeeded"] == 1


@pytest.mark.parametrize("command", ["plan", "status"])
def test_out_or_shard_with_an_output_folder_is_refused_clearly(capsys, command, batch):
    assert main([command, str(batch.output), "--shard", "1/2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("batchgen: --shard applies to one manifest; for output folders")
