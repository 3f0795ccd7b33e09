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

from ledgerkit import MANIFEST, lifecycle

SPEC_FIELDS = ["key", "id", "sample", "prompt", "params", "state", "jobId", "files", "error"]


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(MANIFEST)
    return path


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
                                             "hint", "output"]
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
    assert lines[2].split() == ["ID", "SAMPLE", "STATE", "JOB", "ID", "ERROR"]
    assert lines[3].split() == ["knight", "1", "succeeded", f"job_{batch.jobs[0].key}"]
    assert lines[4].split()[:4] == ["knight", "1", "failed", f"job_{batch.jobs[1].key}"]
    assert lines[4].endswith("The prompt was refused (hint: rephrase it)")
    assert lines[5].split() == ["knight", "1", "pending", "-"]
    assert len(lines) == 7


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
