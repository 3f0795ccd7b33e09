"""`collect_records`: job records from manifests, output folders and ledgers, merged."""

from __future__ import annotations

import json
import textwrap

import pytest

from batchgen.errors import LedgerError, ManifestError, UsageError
from batchgen.ledger.events import LedgerWriter, ledger_path
from batchgen.ledger.status import (collect_records, count_states, read_batch_snapshot,
                             write_batch_snapshot)
from batchgen.manifest.load import load_batch
from ledgerkit import MANIFEST, job_states, lifecycle, manifest  # noqa: F401  (fixture)


@pytest.fixture
def batch(manifest):
    return load_batch(manifest)


def record(folder, *events):
    with LedgerWriter(ledger_path(folder)) as ledger:
        for event in events:
            ledger.append(event)


def by_key(records):
    return {r["key"]: r for r in records}


def test_a_manifest_without_a_ledger_lists_every_job_as_pending(manifest, batch):
    records, axes, name = collect_records([str(manifest)])
    assert [r["key"] for r in records] == [job.key for job in batch.jobs]
    assert {r["state"] for r in records} == {"pending"}
    assert name == "knight-sweep"
    assert axes == {"resolution": ["720p", "1080p"], "style": ["noir", "watercolor"]}


def test_records_have_the_status_json_shape_plus_report_fields(manifest, batch):
    records, _, _ = collect_records([str(manifest)])
    assert set(records[0]) == {"key", "id", "sample", "model", "prompt", "params", "state",
                               "jobId", "files", "error", "variables", "cost", "submittedAt",
                               "finishedAt", "hint", "output", "reusedFrom"}
    first = batch.jobs[0]
    assert (records[0]["model"], records[0]["prompt"], records[0]["params"],
            records[0]["variables"]) == (first.model, first.prompt, first.params, first.variables)


def test_a_manifests_records_carry_ledger_states(manifest, batch):
    done, failing, running, _new = batch.jobs
    record(batch.output, *lifecycle(done), *lifecycle(failing, outcome="failed"),
           *lifecycle(running, outcome="running"))
    records = by_key(collect_records([str(manifest)])[0])
    assert records[done.key]["state"] == "succeeded"
    assert records[done.key]["files"] == [{"path": str(batch.output / done.filename),
                                           "sha256": "c" * 64, "bytes": 3}]
    assert records[done.key]["output"] == str(batch.output)
    assert records[failing.key]["state"] == "failed"
    assert (records[failing.key]["error"], records[failing.key]["hint"]) == (
        "The prompt was refused", "rephrase it")
    assert (records[running.key]["state"], records[running.key]["jobId"]) == (
        "running", f"job_{running.key}")
    assert count_states(records.values()) == {"pending": 1, "running": 1, "succeeded": 1, "failed": 1}


def test_times_and_cost_come_from_the_ledger(manifest, batch):
    job = batch.jobs[0]
    times = ["2026-01-01T00:00:00.000Z", "2026-01-01T00:00:01.000Z", "2026-01-01T00:01:00.000Z",
             "2026-01-01T00:01:02.000Z"]
    record(batch.output, *[{**event, "t": t} for event, t in zip(lifecycle(job), times)])
    rec = collect_records([str(manifest)])[0][0]
    assert (rec["cost"], rec["submittedAt"], rec["finishedAt"]) == (20, times[1], times[2])


def test_a_manifest_shows_only_its_own_jobs_not_older_ones_in_the_ledger(manifest, batch):
    stale = {"event": "intent", "key": "ffffffffffffffff", "id": "old", "sample": 1,
             "body": {"prompt": "an older prompt"}}
    record(batch.output, stale)
    keys = [r["key"] for r in collect_records([str(manifest)])[0]]
    assert "ffffffffffffffff" not in keys and len(keys) == 4


def test_an_output_folder_lists_its_snapshots_jobs_with_name_and_axes(batch):
    write_batch_snapshot(batch, batch.output)
    record(batch.output, *lifecycle(batch.jobs[0]))
    records, axes, name = collect_records([str(batch.output)])
    assert [r["key"] for r in records] == [job.key for job in batch.jobs]
    assert [r["state"] for r in records] == ["succeeded", "pending", "pending", "pending"]
    assert records[1]["variables"] == batch.jobs[1].variables
    assert (name, axes) == ("knight-sweep", batch.axes)


def test_an_output_folder_without_snapshot_lists_what_its_ledger_knows(batch):
    job = batch.jobs[2]
    record(batch.output, *lifecycle(job, outcome="failed"))
    records, _, _ = collect_records([str(batch.output)])
    assert [(r["key"], r["id"], r["sample"], r["prompt"], r["params"], r["state"])
            for r in records] == [(job.key, job.id, job.sample, job.prompt, job.params, "failed")]


def test_an_output_folder_also_lists_keys_its_snapshot_no_longer_has(batch):
    write_batch_snapshot(batch, batch.output)
    record(batch.output, {"event": "intent", "key": "ffffffffffffffff", "id": "old",
                          "sample": 1, "body": {"prompt": "an older prompt", "duration": "5s"}})
    records = collect_records([str(batch.output)])[0]
    assert len(records) == 5
    assert (records[-1]["id"], records[-1]["prompt"], records[-1]["params"]) == (
        "old", "an older prompt", {"duration": "5s"})


def test_a_ledger_file_can_be_given_directly(batch):
    record(batch.output, *lifecycle(batch.jobs[0]))
    records, _, _ = collect_records([str(ledger_path(batch.output))])
    assert [r["state"] for r in records] == ["succeeded"]


def test_shard_folders_of_a_manifests_output_are_merged(manifest, batch):
    first, second = batch.jobs[0], batch.jobs[1]
    record(batch.output / "shard-1-of-2", *lifecycle(first))
    record(batch.output / "shard-2-of-2", *lifecycle(second, outcome="failed"))
    records = by_key(collect_records([str(manifest)])[0])
    assert (records[first.key]["state"], records[second.key]["state"]) == ("succeeded", "failed")
    assert records[first.key]["output"] == str(batch.output / "shard-1-of-2")


def test_shard_folders_of_an_output_folder_are_merged(batch):
    for index, job in enumerate(batch.jobs[:2], 1):
        folder = batch.output / f"shard-{index}-of-2"
        write_batch_snapshot(batch, folder)
        record(folder, *lifecycle(job))
    records = collect_records([str(batch.output)])[0]
    assert len(records) == 4
    assert [r["state"] for r in records] == ["succeeded", "succeeded", "pending", "pending"]


def test_several_targets_merge_and_the_most_advanced_state_wins(tmp_path, batch):
    job = batch.jobs[0]
    record(tmp_path / "a", *lifecycle(job, outcome="failed", job_id="job_a"))
    record(tmp_path / "b", *lifecycle(job, job_id="job_b"))
    for order in (["a", "b"], ["b", "a"]):
        records = collect_records([str(tmp_path / name) for name in order])[0]
        assert [(r["state"], r["jobId"]) for r in records] == [("succeeded", "job_b")]


def test_a_folder_without_a_ledger_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no ledger.jsonl"):
        collect_records([str(tmp_path)])


def test_a_missing_target_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such manifest, output folder or ledger"):
        collect_records([str(tmp_path / "nope")])


def test_an_invalid_manifest_reports_its_problems(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nprompts: []\nsurprise: true\n")
    with pytest.raises(ManifestError):
        collect_records([str(bad)])


def test_a_corrupt_ledger_is_a_ledger_error_naming_the_line(batch):
    ledger = ledger_path(batch.output)
    ledger.parent.mkdir(parents=True)
    ledger.write_text('{"event":"run"}\n{garbage\n{"event":"end"}\n')
    with pytest.raises(LedgerError, match=r"ledger\.jsonl:2:"):
        collect_records([str(batch.output)])


def test_the_snapshot_round_trips_what_status_needs(batch, tmp_path):
    path = write_batch_snapshot(batch, tmp_path)
    snapshot = read_batch_snapshot(tmp_path)
    assert path.name == "batch.json" and json.loads(path.read_text()) == snapshot
    assert (snapshot["name"], snapshot["model"], snapshot["axes"]) == (batch.name, batch.model, batch.axes)
    job = batch.jobs[0]
    assert snapshot["jobs"][0] == {"key": job.key, "id": job.id, "sample": job.sample,
                                   "model": job.model, "prompt": job.prompt, "params": job.params,
                                   "variables": job.variables, "filename": job.filename}


def test_rewriting_the_snapshot_leaves_no_temporary_file(batch, tmp_path):
    folder = tmp_path / "snap"
    write_batch_snapshot(batch, folder)
    write_batch_snapshot(batch, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["batch.json"]


def test_a_damaged_snapshot_is_a_usage_error_saying_what_to_do(tmp_path):
    (tmp_path / "batch.json").write_text("{")
    with pytest.raises(UsageError, match="delete it"):
        read_batch_snapshot(tmp_path)


def test_job_states_give_plan_the_ledgers_view_per_key(batch):
    done, failing = batch.jobs[:2]
    record(batch.output / "shard-1-of-2", *lifecycle(done))
    record(batch.output, *lifecycle(failing, outcome="failed"))
    states = job_states(batch.output)
    assert states[done.key]["state"] == "succeeded"
    assert states[done.key]["files"][0]["path"] == str(batch.output / "shard-1-of-2" / done.filename)
    assert (states[failing.key]["state"], states[failing.key]["error"]) == (
        "failed", "The prompt was refused")
    assert set(states) == {done.key, failing.key}


def test_manifest_paths_resolve_from_the_manifests_folder(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.yaml").write_text(textwrap.dedent(MANIFEST))
    monkeypatch.chdir(tmp_path)
    batch = load_batch("sub/m.yaml")
    record(batch.output, *lifecycle(batch.jobs[0]))
    assert collect_records(["sub/m.yaml"])[0][0]["state"] == "succeeded"
