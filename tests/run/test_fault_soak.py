"""Fault soak: a 300-job run through a hostile API still ends exactly as it should.

Over loopback the simulator answers 5 % of API requests with a 5xx, 5 % with a 429,
drops 2 % of connections, cuts 2 % of downloads short, signs URLs that expire after
a few seconds (300 simulated seconds, 3 s at the time scale used) and refuses 5 % of
downloads as expired anyway, and fails 3 % of the jobs. Afterwards: every job the server
did not fail has succeeded with its file verified, each failed job carries the
server's own message, and no body was ever generated twice. Then `--retry-failed`
with the faults off completes the failed jobs and submits nothing else.
"""

from __future__ import annotations

import copy
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

import sdkcontract

from batchgen.cli import main
from batchgen.jobs import canonical_json
from batchgen.ledger.events import read_events
from batchgen.simulator import Simulator
from batchgen.simulator.faults import FaultRates
from batchgen.simulator.server import serve_in_thread
from batchgen.simulator.state import Counters
from batchgen.ledger.state import replay

KEY, SECRET = "soak-key", "soak-secret"

# 5 prompts x 3 resolutions x 5 aspect ratios x 4 samples = 300 jobs.
MANIFEST = """\
version: 1
name: soak
prompts:
  - a misty valley at dawn, slow aerial push-in
  - a knight walks through fog toward the camera
  - a lighthouse in a storm, waves crashing
  - a city street at night in the rain, neon reflections
  - a hummingbird drinking from a red flower, macro
matrix:
  resolution: [540p, 720p, 1080p]
  aspectRatio: ["16:9", "9:16", "1:1", "4:3", "21:9"]
samples: 4
"""


def run(manifest: Path, url: str, *extra: str) -> int:
    return main(["run", str(manifest), "--base-url", url, "--yes", "--no-progress",
                 "--concurrency", "40", "--poll-interval", "0.05", "--recovery-wait", "0.5",
                 *extra])


@dataclass
class Soak:
    """The faulty run's outcome, copied before anything else touches the simulator."""

    manifest: Path
    out: Path
    sim: Simulator
    url: str
    code: int
    events: list[dict]
    server_jobs: set[str]
    server_failures: dict[str, tuple[str, str]]  # jobId -> (error, hint) the server chose
    counters: Counters
    requests: list  # every request the simulator received during the faulty run


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("soak")
    manifest = tmp / "soak.yaml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    sim = Simulator(
        api_key=KEY, api_secret=SECRET, seed=2024, rate_limit_rate=0.05, expire_rate=0.05,
        server_error_rate=0.05, drop_rate=0.02, truncate_rate=0.02, failure_rate=0.03,
        duration_range=(20.0, 60.0), time_scale=100.0, url_lifetime=300.0, retry_after=1.0,
        ceiling=60)
    with pytest.MonkeyPatch.context() as mp, serve_in_thread(sim) as url:
        mp.setenv("SCENARIO_SDK_API_KEY", KEY)
        mp.setenv("SCENARIO_SDK_API_SECRET", SECRET)
        code = run(manifest, url)
        out = tmp / "out" / "soak"
        yield Soak(manifest, out, sim, url, code, read_events(out / "ledger.jsonl"), set(sim.jobs),
                   {job_id: job.failure for job_id, job in sim.jobs.items() if job.failure},
                   copy.deepcopy(sim.counters), list(sim.requests))


def test_the_faults_were_really_injected(soak):
    c = soak.counters
    assert soak.server_failures and c.server_errors and c.rate_limited and c.dropped
    assert c.expired, "no signed URL was refused as expired"
    assert len(replay(soak.events).jobs) == 300


def test_every_request_of_the_soak_is_one_the_official_sdk_defines(soak):
    assert len(soak.requests) > 600
    assert sdkcontract.check_all(soak.requests) == []


def test_every_job_the_server_did_not_fail_succeeded_with_a_verified_file(soak):
    for ks in replay(soak.events).jobs.values():
        if ks.job_id not in soak.server_failures:
            assert ks.state == "succeeded", ks
            assert ks.files
            for record in ks.files:
                data = (soak.out / record["path"]).read_bytes()
                assert (len(data), hashlib.sha256(data).hexdigest()) == (record["bytes"], record["sha256"])


def test_every_job_the_server_failed_is_failed_with_the_servers_message(soak):
    failed = {ks.job_id: ks for ks in replay(soak.events).jobs.values() if ks.state == "failed"}
    assert set(failed) == set(soak.server_failures)
    for job_id, ks in failed.items():
        assert (ks.error, ks.hint) == soak.server_failures[job_id]
    assert soak.code == 1


def test_no_generation_happened_twice_and_none_was_lost(soak):
    claims = Counter(e["jobId"] for e in soak.events if e["event"] in ("submitted", "recovered"))
    assert max(claims.values()) == 1, "one server job was claimed by two keys"
    assert set(claims) == soak.server_jobs, "the server generated jobs no key knows about"


def test_retry_failed_with_faults_off_completes_the_failed_jobs_and_submits_nothing_else(soak, capsys,
                                                                                     monkeypatch):
    failed = [key for key, ks in replay(soak.events).jobs.items() if ks.state == "failed"]
    bodies = {e["key"]: canonical_json(e["body"]) for e in soak.events if e["event"] == "intent"}
    sim = soak.sim
    sim.faults = FaultRates()
    created_before = Counter(sim.counters.jobs_created)
    calls_before = Counter(sim.counters.generate_calls)
    monkeypatch.setenv("SCENARIO_SDK_API_KEY", KEY)
    monkeypatch.setenv("SCENARIO_SDK_API_SECRET", SECRET)

    code = run(soak.manifest, soak.url, "--retry-failed")

    capsys.readouterr()
    final = replay(read_events(soak.out / "ledger.jsonl"))
    assert code == 0
    assert {ks.state for ks in final.jobs.values()} == {"succeeded"}
    retried = Counter(bodies[key] for key in failed)
    assert sim.counters.jobs_created - created_before == retried
    assert sim.counters.generate_calls - calls_before == retried
