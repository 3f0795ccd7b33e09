"""`batchgen estimate MANIFEST`: through the CLI, against the simulator."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from batchgen.cli import main
from batchgen.simulator.server import serve_in_thread

from simkit import KEY, SECRET, simulator

SWEEP = """\
version: 1
name: knight-sweep
prompts:
  - id: knight
    prompt: "A knight walks through fog, {style}"
  - A misty valley at dawn
matrix:
  resolution: [540p, 1080p]
  aspectRatio: ["16:9", "9:16"]
  style: [noir, watercolor]
  exclude:
    - {resolution: 1080p, style: noir}
samples: 2
"""


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    return path


def test_estimate_prints_each_priced_combination_and_the_total(manifest, capsys):
    assert main(["estimate", str(manifest), "--simulate"]) == 0
    out = capsys.readouterr().out
    assert "resolution=540p" in out and "12 jobs x 20 CU = 240 CU" in out
    assert "resolution=1080p" in out and "8 jobs x 60 CU = 480 CU" in out
    assert "total: 720 CU for 20 jobs (2 priced combinations, 2 dry runs at dryRun=api)" in out


def test_estimate_json_gives_combinations_and_total(manifest, capsys):
    assert main(["estimate", str(manifest), "--simulate", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == 720 and report["jobs"] == 20 and report["dryRuns"] == 2
    assert sorted(c["cost"] for c in report["combinations"]) == [240, 480]


def test_estimate_sends_one_dry_run_per_combination_to_a_real_server(manifest, monkeypatch, capsys):
    monkeypatch.setenv("SCENARIO_SDK_API_KEY", KEY)
    monkeypatch.setenv("SCENARIO_SDK_API_SECRET", SECRET)
    sim = simulator()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(serve_in_thread(sim))
        assert main(["estimate", str(manifest), "--base-url", url]) == 0
    assert sim.counters.calls["POST /generate/custom/{model_id}"] == 2
    assert sim.jobs == {}


def test_estimate_of_an_invalid_manifest_sends_nothing_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nprompts: [a cat]\ndefaults: {resolution: 4k}\n")
    assert main(["estimate", str(bad), "--simulate"]) == 2
    assert "bad.yaml" in capsys.readouterr().err


def test_estimate_without_credentials_exits_2(manifest, monkeypatch, capsys):
    monkeypatch.delenv("SCENARIO_SDK_API_KEY", raising=False)
    monkeypatch.delenv("SCENARIO_SDK_API_SECRET", raising=False)
    assert main(["estimate", str(manifest)]) == 2
    assert "credentials are missing" in capsys.readouterr().err
