"""Never paying twice: a run looks its keys up in the index (or named folders) before
paying, asks before paying again, and with --reuse takes the verified files instead."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from batchgen.cli import main
from batchgen.ledger.events import ledger_path, read_events
from batchgen.reuse.index import CACHE_ENV, INDEX_NAME, Index
from runkit import HARBOUR, generate_calls, sha256_of
from runkit import harbour as manifest, harbour_api as api  # noqa: F401 (fixtures)


def run(manifest: Path, url: str, out: Path, *extra: str) -> int:
    return main(["run", str(manifest), "--out", str(out), "--base-url", url, "--no-progress",
                 "--poll-interval", "0.02", *extra])


def status(folder: Path, capsys) -> dict:
    capsys.readouterr()
    assert main(["status", str(folder), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def videos(folder: Path) -> dict[str, str]:
    return {p.name: sha256_of(p) for p in sorted(folder.rglob("*.mp4"))}


def reused(folder: Path) -> list[dict]:
    return [e for e in read_events(ledger_path(folder)) if e["event"] == "reused"]


def test_a_second_folder_takes_the_first_ones_results_without_a_generate_call(
        api, manifest, tmp_path, capsys):
    sim, url = api
    first, second = tmp_path / "first", tmp_path / "second"
    assert run(manifest, url, first, "--yes") == 0
    calls = generate_calls(sim)
    assert calls == 10
    capsys.readouterr()
    assert run(manifest, url, second, "--reuse") == 0
    assert "this run submitted 0, reused 10" in capsys.readouterr().out
    assert generate_calls(sim) == calls
    assert videos(second) == videos(first) and len(videos(second)) == 10
    events = reused(second)
    assert len(events) == 10 and {e["from"] for e in events} == {str(first)}
    assert all(e["jobId"] and e["files"][0]["sha256"] for e in events)
    shown = status(second, capsys)
    assert shown["counts"]["succeeded"] == 10
    assert {(j["cost"], j["reusedFrom"]) for j in shown["jobs"]} == {(0, str(first))}
    capsys.readouterr()
    assert main(["status", str(second)]) == 0
    table = capsys.readouterr().out
    assert "10 succeeded" in table and "10 of them reused" in table and " reused " in table
    results = json.loads((second / "results.json").read_text())  # the report, after the run
    assert {(j["state"], j["cost"], j["reusedFrom"]) for j in results["jobs"]} == \
        {("succeeded", 0, str(first))}
    with open(second / "results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["state"], r["cost"], r["reusedFrom"]) for r in rows} == \
        {("succeeded", "0", str(first))}


def test_every_run_records_its_succeeded_keys_in_the_index(api, manifest, tmp_path):
    _, url = api
    first = tmp_path / "first"
    assert run(manifest, url, first, "--yes") == 0
    done = {e["key"]: e for e in read_events(ledger_path(first)) if e["event"] == "succeeded"}
    files = {e["key"]: e for e in read_events(ledger_path(first)) if e["event"] == "file"}
    found = Index().lookup(done)
    assert set(found) == set(done)
    for key, [row] in found.items():
        assert (row.output, row.job_id, row.cost) == (str(first), done[key]["jobId"], 30)
        assert row.model == "model_luma-ray-3-2" and len(row.body_hash) == 16 and row.t
        assert [(f["path"], f["sha256"]) for f in row.files] == \
            [(files[key]["path"], files[key]["sha256"])]
        assert row.paths() == [str(first / files[key]["path"])]


def test_without_yes_or_a_terminal_paying_again_is_refused_and_nothing_is_sent(
        api, manifest, tmp_path, capsys):
    sim, url = api
    assert run(manifest, url, tmp_path / "first", "--yes") == 0
    capsys.readouterr()
    assert run(manifest, url, tmp_path / "second") == 2
    err = capsys.readouterr().err
    assert "10 of the jobs to submit were already generated elsewhere: ../first (10)" in err
    assert "pass --reuse" in err and "or --yes" in err and "Nothing was submitted" in err
    assert generate_calls(sim) == 10
    assert not [e for e in read_events(ledger_path(tmp_path / "second"))
                if e["event"] in ("intent", "run")]
    assert run(manifest, url, tmp_path / "second", "--yes") == 0  # agreed: paid again
    assert generate_calls(sim) == 20 and not reused(tmp_path / "second")


def test_on_a_terminal_the_user_is_asked_before_paying_again(api, manifest, tmp_path,
                                                           monkeypatch):
    import io
    import sys

    sim, url = api
    assert run(manifest, url, tmp_path / "first", "--yes") == 0

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    monkeypatch.setattr("sys.stderr", Terminal())
    assert run(manifest, url, tmp_path / "second") == 2
    assert "Pay for them again?" in sys.stderr.getvalue()
    assert generate_calls(sim) == 10


def test_a_moved_or_altered_source_file_is_not_reused_and_its_job_is_paid_and_estimated(
        api, manifest, tmp_path, capsys):
    sim, url = api
    first = tmp_path / "first"
    assert run(manifest, url, first, "--yes") == 0
    moved, altered = sorted(first.rglob("*.mp4"))[:2]
    moved.rename(tmp_path / "elsewhere.mp4")
    data = bytearray(altered.read_bytes())
    data[-1] ^= 0xFF  # same size, other content
    altered.write_bytes(bytes(data))
    capsys.readouterr()
    assert run(manifest, url, tmp_path / "second", "--reuse", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert generate_calls(sim) == 12
    assert summary["reused"] == 8 and summary["submitted"] == 2
    assert summary["estimated"] == pytest.approx(2 * 30)  # the two paid again are estimated
    assert summary["notReused"] == "../first (2)"  # the run says why it paid for them
    assert len(reused(tmp_path / "second")) == 8
    assert len(videos(tmp_path / "second")) == 10
    assert run(manifest, url, tmp_path / "third", "--reuse-from", str(first)) == 0
    assert "not reused, their files gone or altered since (submitted as usual): ../first (2)" \
        in capsys.readouterr().out


def test_reuse_from_takes_a_folders_results_without_the_index(api, manifest, tmp_path,
                                                             capsys):
    sim, url = api
    first = tmp_path / "first"
    assert run(manifest, url, first, "--yes") == 0
    (Path(os.environ[CACHE_ENV]) / INDEX_NAME).unlink()
    assert run(manifest, url, tmp_path / "second", "--reuse-from", str(first)) == 0
    assert generate_calls(sim) == 10
    assert videos(tmp_path / "second") == videos(first)


def test_reuse_from_a_folder_without_a_ledger_is_refused(api, manifest, tmp_path, capsys):
    sim, url = api
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert run(manifest, url, tmp_path / "second", "--reuse-from", str(tmp_path / "empty")) == 2
    assert "--reuse-from" in capsys.readouterr().err
    assert generate_calls(sim) == 0


def test_reuse_true_in_the_manifest_reuses_without_the_option(api, manifest, tmp_path):
    sim, url = api
    assert run(manifest, url, tmp_path / "first", "--yes") == 0
    manifest.write_text(HARBOUR + "reuse: true\n")
    assert run(manifest, url, tmp_path / "second") == 0
    assert generate_calls(sim) == 10 and len(reused(tmp_path / "second")) == 10


def test_plan_and_estimate_say_how_many_jobs_were_generated_elsewhere(api, manifest, tmp_path,
                                                                      capsys):
    _, url = api
    assert run(manifest, url, tmp_path / "first", "--yes") == 0
    capsys.readouterr()
    assert main(["plan", str(manifest), "--out", str(tmp_path / "second")]) == 0
    out = capsys.readouterr().out
    assert "10 of the jobs to submit were already generated elsewhere" in out
    assert "../first (10); run --reuse takes them at no cost" in out
    assert main(["estimate", str(manifest), "--base-url", url]) == 0
    assert "were already generated elsewhere" in capsys.readouterr().out
    assert main(["plan", str(manifest), "--out", str(tmp_path / "first")]) == 0
    assert "elsewhere" not in capsys.readouterr().out  # done there: nothing to submit


def test_a_broken_index_never_fails_a_run(api, manifest, tmp_path, monkeypatch, capsys):
    sim, url = api
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocker))
    capsys.readouterr()
    assert run(manifest, url, tmp_path / "first", "--yes") == 0
    assert "index of paid results" in capsys.readouterr().err
    assert generate_calls(sim) == 10


def test_two_runs_ending_at_once_both_record_their_keys_in_the_index(tmp_path):
    import anyio

    from batchgen.run.runner import run_batch
    from runkit import client_for, fast_options, make_batch, make_job, simulator

    sim = simulator()
    batches = []
    for name in ("left", "right"):
        batch = make_batch(tmp_path, [make_job(f"a {name} harbour, take {n}", duration="5s")
                                      for n in range(6)])
        batch.output = tmp_path / name
        batches.append(batch)

    async def both() -> None:
        async def one(batch) -> None:
            async with client_for(sim) as client:
                assert (await run_batch(batch, client, options=fast_options())).exit_code == 0

        async with anyio.create_task_group() as tg:
            for batch in batches:
                tg.start_soon(one, batch)

    anyio.run(both)
    for batch in batches:
        found = Index().lookup(job.key for job in batch.jobs)
        assert {key: [r.output for r in rows] for key, rows in found.items()} == \
            {job.key: [str(batch.output)] for job in batch.jobs}


def test_results_made_on_another_api_are_neither_offered_nor_taken(tmp_path):
    from runkit import client_for, fast_options, make_batch, make_job, run as run_here
    from runkit import simulator

    sim = simulator()
    jobs = [make_job(f"a lighthouse, take {n}", duration="5s") for n in range(3)]
    first = make_batch(tmp_path, jobs)
    first.output = tmp_path / "first"
    run_here(first, client_for(sim), api="simulated")
    asked = []
    elsewhere = make_batch(tmp_path, jobs)
    elsewhere.output = tmp_path / "real"
    summary = run_here(elsewhere, client_for(sim), api="https://api.example.test/v1",
                       reuse=True, confirm_again=asked.append)
    assert (summary.reused, summary.submitted, asked) == (0, 3, [])
    same = make_batch(tmp_path, jobs)
    same.output = tmp_path / "again"
    summary = run_here(same, client_for(sim), api="simulated", reuse=True)
    assert (summary.reused, summary.submitted) == (3, 0)


def test_a_run_leaves_no_connection_to_the_index_open(tmp_path):
    from runkit import client_for, make_batch, make_job, run as run_here
    from runkit import simulator

    def open_on_index() -> int:  # this process's descriptors on the database file
        fds = Path("/proc/self/fd")
        return sum(1 for fd in fds.iterdir()
                   if os.path.realpath(fd) == str(Index().path.resolve()))

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc")
    sim = simulator()
    jobs = [make_job(f"a harbour at dawn, take {n}", duration="5s") for n in range(2)]
    kept = [Index(), Index()]  # still referenced, as a program's own options would be
    for name, index in zip(("first", "second"), kept):  # the second looks up, then records
        batch = make_batch(tmp_path, jobs)
        batch.output = tmp_path / name
        run_here(batch, client_for(sim), index=index)
    assert open_on_index() == 0
    assert {len(rows) for rows in Index().lookup(job.key for job in jobs).values()} == {2}
