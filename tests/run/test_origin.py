"""An output folder is resumed only against the API its results come from."""

from __future__ import annotations

import subprocess

import pytest

from batchgen.cli import main
from batchgen.errors import UsageError
from batchgen.run.origin import SIMULATED_API, check_same_api, same_api
from crashkit import run_command, run_env, served, write_manifest

LOOPBACK = "http://127.0.0.1:8787/v1"


def _ran(api):
    return [{"event": "run", "api": api}, {"event": "end"}]


@pytest.mark.parametrize("recorded, current", [
    ("scenario", "https://api.cloud.scenario.com/v1"),
    ("https://api.cloud.scenario.com/v1/", "scenario"),
    (LOOPBACK, LOOPBACK + "/"),
    (SIMULATED_API, SIMULATED_API)])
def test_the_same_api_however_it_is_spelled_resumes(recorded, current, tmp_path):
    assert same_api(recorded, current)
    check_same_api(_ran(recorded), current, tmp_path)


@pytest.mark.parametrize("recorded, current, message", [
    (LOOPBACK, SIMULATED_API, "holds results from the API at http://127.0.0.1:8787/v1, and "
     "this run uses the built-in simulator (--simulate)"),
    (SIMULATED_API, "scenario", "holds results from the built-in simulator (--simulate), and "
     "this run uses Scenario's API"),
    ("scenario", LOOPBACK, "holds results from Scenario's API, and this run uses the API at "
     "http://127.0.0.1:8787/v1"),
    (LOOPBACK, "http://127.0.0.1:9999/v1", "the API at http://127.0.0.1:8787/v1")])
def test_another_api_is_refused_naming_both(recorded, current, message, tmp_path):
    with pytest.raises(UsageError) as refused:
        check_same_api(_ran(recorded), current, tmp_path)
    assert message in str(refused.value) and "--out DIR" in str(refused.value)


def test_a_batchgen_simulate_folder_then_run_simulate_is_refused_as_what_it_is(tmp_path, capsys):
    manifest = write_manifest(tmp_path, prompts=1, samples=1)
    with served(seed=1) as (_, url):
        done = subprocess.run(run_command(manifest, url), env=run_env(), capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    assert main(["run", str(manifest), "--simulate", "--yes", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"holds results from the API at {url}, and this run uses the built-in simulator" in err
    assert "real API" not in err
