"""`run --shard I/N` through the CLI: a deterministic share of the jobs, one ledger per shard."""

from __future__ import annotations

import json
from pathlib import Path

from batchgen.cli import main
from batchgen.ledger.events import ledger_path, read_events
from runkit import cli_run
from runkit import harbour as manifest, harbour_api as api  # noqa: F401 (fixtures)


def run_shard(manifest: Path, url: str, shard: str, *extra: str) -> int:
    return cli_run(manifest, url, "--shard", shard, "--yes", *extra)


def keys_in(folder: Path) -> set[str]:
    return {e["key"] for e in read_events(ledger_path(folder)) if e["event"] == "succeeded"}


def test_shards_run_every_job_exactly_once_between_them(api, manifest, capsys):
    sim, url = api
    assert run_shard(manifest, url, "1/2") == 0
    assert run_shard(manifest, url, "2/2") == 0
    one, two = keys_in(manifest.parent / "out/shard-1-of-2"), keys_in(manifest.parent / "out/shard-2-of-2")
    assert one and two and not one & two and len(one | two) == 10
    assert sum(sim.counters.jobs_created.values()) == 10


def test_status_of_the_manifest_merges_the_shards(api, manifest, capsys):
    _, url = api
    run_shard(manifest, url, "1/2")
    run_shard(manifest, url, "2/2")
    capsys.readouterr()
    assert main(["status", str(manifest), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["succeeded"] == 10


def test_a_shard_run_again_resumes_and_submits_nothing(api, manifest):
    sim, url = api
    run_shard(manifest, url, "1/3")
    created = sum(sim.counters.jobs_created.values())
    assert run_shard(manifest, url, "1/3") == 0
    assert sum(sim.counters.jobs_created.values()) == created


def test_a_folder_written_by_another_shard_is_refused(api, manifest, tmp_path, capsys):
    _, url = api
    out = str(tmp_path / "one-folder")
    assert run_shard(manifest, url, "1/2", "--out", out) == 0
    assert run_shard(manifest, url, "2/2", "--out", out) == 2
    assert "--shard 1/2" in capsys.readouterr().err


def test_a_malformed_shard_is_a_usage_error(api, manifest, capsys):
    _, url = api
    assert run_shard(manifest, url, "3/2") == 2
    assert "between 1 and 2" in capsys.readouterr().err
