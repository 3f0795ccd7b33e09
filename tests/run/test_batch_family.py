"""One batch, many folders: an output folder, its shard-I-of-N folders and the folder
above them see each other's ledgers, so no key is paid for twice among them."""

from __future__ import annotations

import json
from pathlib import Path

import anyio

from batchgen.cli import main
from batchgen.ledger.events import ledger_path, read_events
from batchgen.run.runner import run_batch
from batchgen.run.shards import Shard, select
from runkit import (cli_run, client_for, events, fast_options, make_batch, make_job,
                    run as run_here, simulator)
from runkit import harbour as manifest, harbour_api as api  # noqa: F401 (fixtures)
from test_run_recovery import LosesAnswers


def run(manifest: Path, url: str, *extra: str) -> int:
    return cli_run(manifest, url, "--yes", *extra)


def created(sim) -> int:
    return sum(sim.counters.jobs_created.values())


def status(manifest_or_folder: Path, capsys) -> dict:
    capsys.readouterr()
    main(["status", str(manifest_or_folder), "--json"])
    return json.loads(capsys.readouterr().out)


def test_a_shard_after_a_finished_unsharded_run_submits_nothing(api, manifest, capsys):
    sim, url = api
    assert run(manifest, url) == 0
    assert created(sim) == 10
    assert run(manifest, url, "--shard", "1/2") == 0
    assert run(manifest, url, "--shard", "2/2") == 0
    assert created(sim) == 10
    assert status(manifest, capsys)["counts"]["succeeded"] == 10
    shard = status(manifest.parent / "out/shard-1-of-2", capsys)
    assert shard["counts"]["pending"] == 0 and shard["counts"]["succeeded"] > 0


def test_an_unsharded_run_after_the_shards_submits_nothing(api, manifest, capsys):
    sim, url = api
    assert run(manifest, url, "--shard", "1/2") == 0
    assert run(manifest, url, "--shard", "2/2") == 0
    assert run(manifest, url) == 0
    assert created(sim) == 10
    out = status(manifest.parent / "out", capsys)
    assert out["counts"] == {"pending": 0, "running": 0, "succeeded": 10, "failed": 0}


def test_shards_of_another_split_after_shards_submit_nothing(api, manifest):
    sim, url = api
    for shard in ("1/2", "2/2"):
        assert run(manifest, url, "--shard", shard) == 0
    for shard in ("1/3", "2/3", "3/3"):
        assert run(manifest, url, "--shard", shard) == 0
    assert created(sim) == 10


def test_samples_of_one_request_body_run_in_the_same_shard(api, manifest):
    _, url = api
    for shard in ("1/3", "2/3", "3/3"):
        assert run(manifest, url, "--shard", shard) == 0
    bodies: dict[str, set[str]] = {}
    for n in (1, 2, 3):
        for event in read_events(ledger_path(manifest.parent / f"out/shard-{n}-of-3")):
            if event["event"] == "intent":
                bodies.setdefault(json.dumps(event["body"], sort_keys=True), set()).add(str(n))
    assert len(bodies) == 5 and all(len(shards) == 1 for shards in bodies.values())


def final_job_ids(folder: Path) -> dict[str, str]:
    """key -> the jobId its ledger ends with."""
    owned: dict[str, str] = {}
    for event in read_events(ledger_path(folder)):
        if event["event"] in ("submitted", "recovered"):
            owned[event["key"]] = event["jobId"]
    return owned


def test_recovery_never_claims_a_job_another_ledger_of_the_batch_holds(tmp_path):
    sim = simulator()
    first = make_job("a lantern", sample=1, duration="5s")
    shard_folder = make_batch(tmp_path, [first])
    shard_folder.output = tmp_path / "out" / "shard-1-of-2"
    run_here(shard_folder, client_for(sim))
    second = make_job("a lantern", sample=2, duration="5s")
    top = make_batch(tmp_path, [second])
    summary = run_here(top, LosesAnswers(client_for(sim), lose=1, reach=True))
    assert summary.exit_code == 0 and summary.recovered == 1
    [recovered] = events(top, "recovered")
    assert recovered["jobId"] != final_job_ids(shard_folder.output)[first.key]
    assert len(sim.jobs) == 2


def test_two_shards_at_once_with_faults_give_each_key_one_job_and_orphan_none(tmp_path):
    sim = simulator(server_error_rate=0.3, seed=7)
    jobs = [make_job(f"a harbour, take {n}", sample=s, duration="5s")
            for n in range(6) for s in (1, 2, 3)]
    shards = [Shard(1, 2), Shard(2, 2)]
    batches = []
    for shard in shards:
        batch = make_batch(tmp_path, select(jobs, shard))
        batch.output = tmp_path / "out" / shard.folder_name
        batches.append(batch)

    async def both() -> list:
        results: list = []

        async def one(batch, shard) -> None:
            async with client_for(sim) as client:
                results.append(await run_batch(batch, client, options=fast_options(
                    shard=shard, concurrency=6)))

        async with anyio.create_task_group() as tg:
            for batch, shard in zip(batches, shards):
                tg.start_soon(one, batch, shard)
        return results

    summaries = anyio.run(both)
    assert all(s.exit_code == 0 for s in summaries)
    owned = [final_job_ids(batch.output) for batch in batches]
    every = [job_id for part in owned for job_id in part.values()]
    assert sum(len(part) for part in owned) == len(jobs)  # each key once, in one shard
    assert len(set(every)) == len(every) == len(jobs)  # no jobId given to two keys
    assert set(every) == set(sim.jobs)  # no paid job left without its key


def plan(manifest: Path, capsys, *extra: str) -> dict:
    capsys.readouterr()
    assert main(["plan", str(manifest), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_status_and_report_of_a_shard_see_the_jobs_done_above_it(api, manifest, capsys):
    sim, url = api
    assert run(manifest, url) == 0
    planned = plan(manifest, capsys, "--shard", "1/2")
    shard_status = status_scoped(manifest, capsys, "--shard", "1/2")
    assert planned["counts"] == shard_status["counts"]
    assert planned["counts"]["pending"] == 0 and planned["counts"]["succeeded"] > 0
    assert {j["key"]: j["state"] for j in planned["jobs"]} == \
        {j["key"]: j["state"] for j in shard_status["jobs"]}
    # What the plan promised: the shard's run submits nothing, and agrees.
    assert run(manifest, url, "--shard", "1/2") == 0
    assert created(sim) == 10
    assert plan(manifest, capsys, "--shard", "1/2")["counts"] == planned["counts"]
    assert status_scoped(manifest, capsys, "--shard", "1/2")["counts"] == planned["counts"]
    assert main(["report", str(manifest), "--shard", "1/2"]) == 0
    results = json.loads((manifest.parent / "out/shard-1-of-2/results.json").read_text())
    assert {j["key"]: j["state"] for j in results["jobs"]} == \
        {j["key"]: j["state"] for j in planned["jobs"]}


def status_scoped(manifest: Path, capsys, *extra: str) -> dict:
    capsys.readouterr()
    assert main(["status", str(manifest), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)
