"""Every request batchgen sends, checked against the official SDK's own definitions.

The simulator records each request it receives; `sdkcontract` reads the SDK's
endpoints, parameter names and literal values from its sources by introspection.
A full run (frames uploaded, lost answers recovered, polling, downloads), `estimate`
and `schema check` run here; the fault soak's requests are checked in tests/run/test_fault_soak.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import runkit
import sdkcontract
from batchgen.api import ScenarioClient
from batchgen.cli import main
from batchgen.simulator import Simulator
from batchgen.simulator.server import serve_in_thread
from simkit import png, set_credentials

KEY, SECRET = "contract-key", "contract-secret"
MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
MANIFEST = """\
version: 1
name: contract
prompts:
  - id: knight
    prompt: The knight turns toward the camera and raises a lantern
    startFrame: frames/knight.png
  - id: valley
    prompt: a misty valley at dawn, slow aerial push-in
matrix:
  resolution: [720p, 1080p]
samples: 3
"""


def test_the_checker_reads_the_sdk_and_refuses_what_the_sdk_does_not_define():
    assert sdkcontract.rule_texts_present()
    check = sdkcontract.problems
    assert check("GET", "/v1/jobs", {"type": "custom", "updatedAfter": "2026-01-01T00:00:00Z"}, None) == []
    # The list call batchgen used to send: updatedAfter without type or status.
    assert check("GET", "/v1/jobs", {"updatedAfter": "2026-01-01T00:00:00Z", "pageSize": "100"}, None)
    assert check("GET", "/v1/jobs", {"createdAfter": "2026-01-01T00:00:00Z", "status": "success"}, None)
    assert check("GET", "/v1/jobs", {"types": "custom,videos"}, None)  # not an SDK job type
    assert check("GET", "/v1/jobs", {"updated_since": "x"}, None)  # no such parameter
    assert check("POST", "/v1/generate/custom/m", {"dryRun": "yes"}, {"prompt": "a"})
    assert check("POST", "/v1/uploads/u_1/action", {}, {})  # the required action is missing
    assert check("GET", "/v1/jobs/j/status", {}, None)  # no such endpoint


@pytest.fixture
def served(tmp_path, monkeypatch):
    shutil.copytree(MANIFESTS / "frames", tmp_path / "frames")
    (tmp_path / "m.yaml").write_text(MANIFEST, encoding="utf-8")
    set_credentials(monkeypatch, KEY, SECRET)
    sim = Simulator(api_key=KEY, api_secret=SECRET, seed=8)
    with serve_in_thread(sim) as url:
        yield sim, url, tmp_path


def test_estimate_and_schema_check_send_only_what_the_sdk_defines(served, capsys):
    sim, url, tmp = served
    assert main(["estimate", str(tmp / "m.yaml"), "--base-url", url]) == 0
    assert main(["schema", "check", "--base-url", url]) == 0
    capsys.readouterr()
    assert sdkcontract.check_all(sim.requests) == []
    assert any(r.query.get("dryRun") for r in sim.requests)
    assert any(r.path.startswith("/v1/models/") for r in sim.requests)


def test_a_full_run_with_frames_and_lost_answers_sends_only_what_the_sdk_defines(tmp_path):
    sim = runkit.simulator(seed=8)
    frame = runkit.framed(tmp_path, png(8, 8))
    jobs = [runkit.make_job(f"a knight in fog, take {i}", frames={"startFrame": frame})
            for i in range(4)]
    jobs += [runkit.make_job(f"a valley at dawn, take {i}", resolution="1080p") for i in range(8)]
    transport = runkit.LoseGenerateAnswers(sim, every=3)
    client = ScenarioClient("http://simulator.test/v1", runkit.KEY, runkit.SECRET,
                            retry=runkit.FAST_RETRY, transport=transport)
    summary = runkit.run(runkit.make_batch(tmp_path, jobs), client, concurrency=6)
    assert summary.exit_code == 0 and summary.downloaded == 12 and transport.lost == 4
    assert sdkcontract.check_all(sim.requests) == []
    sent = {(r.method, sdkcontract.endpoint_for(r.method, r.path[3:]).pattern)
            for r in sim.requests if r.path.startswith("/v1/")}
    assert {("POST", "/generate/custom/{model_id}"), ("GET", "/jobs"), ("POST", "/assets"),
            ("POST", "/assets/get-bulk")} <= sent
    assert any("createdAfter" in r.query for r in sim.requests)  # the recovery listings
    assert any("updatedAfter" in r.query for r in sim.requests)  # the batched polls
    downloads = [r for r in sim.requests if r.path.startswith("/cdn/")]
    assert len(downloads) >= 12
    assert all(r.headers.get("accept-encoding") == "identity" for r in downloads)
