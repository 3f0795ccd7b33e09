"""`batchgen run` from the command line: setup errors, the simulated demo, output, signals."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import time
from collections import Counter

import pytest

from batchgen.cli import main
from batchgen.jobs import canonical_json
from batchgen.ledger.events import ledger_path, read_events
from batchgen.manifest.load import load_batch
from crashkit import BATCHGEN, run_command, run_env, served, write_manifest


def _manifest(tmp_path, prompts=2, samples=1):
    return write_manifest(tmp_path, prompts, samples)


def test_without_credentials_run_stops_before_anything_and_names_the_variables(
        tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SCENARIO_SDK_API_KEY", raising=False)
    monkeypatch.delenv("SCENARIO_SDK_API_SECRET", raising=False)
    manifest = _manifest(tmp_path)
    assert main(["run", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert "SCENARIO_SDK_API_KEY" in err and "SCENARIO_SDK_API_SECRET" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_invalid_manifest_is_refused_with_exit_2_and_nothing_written(tmp_path, capsys):
    manifest = tmp_path / "bad.yaml"
    manifest.write_text("version: 1\nname: bad\nprompts:\n  - id: x\n    prompt: hi\n    duration: 7s\n")
    assert main(["run", str(manifest), "--simulate"]) == 2
    assert "bad.yaml:6" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_simulate_needs_no_credentials_and_leaves_videos_a_ledger_and_a_json_summary(
        tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SCENARIO_SDK_API_KEY", raising=False)
    manifest = _manifest(tmp_path, prompts=2, samples=2)
    code = main(["run", str(manifest), "--simulate", "--yes", "--json", "--concurrency", "4"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)
    assert summary["counts"]["succeeded"] == 4 and summary["exitCode"] == 0
    assert summary["spentThisRun"] == summary["spent"] == summary["estimated"] == 120
    assert "spent 120 CU (estimate 120 CU)\n" in err  # the human summary, on stderr
    batch = load_batch(manifest)
    for job in batch.jobs:
        assert (batch.output / job.filename).read_bytes()[4:8] == b"ftyp"
    assert ledger_path(batch.output).exists()
    assert "4 jobs: 4 succeeded" in err  # the human summary moves to stderr under --json


def test_without_a_terminal_progress_is_plain_log_lines(tmp_path):
    manifest = _manifest(tmp_path, prompts=2)
    with served(seed=5) as (_, url):
        done = subprocess.run(run_command(manifest, url), env=run_env(), capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert sum(" submitted p" in line for line in lines) == 2
    assert sum(" downloaded " in line for line in lines) == 2
    assert all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines)
    assert "\r" not in done.stderr
    assert "2 jobs: 2 succeeded" in done.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_exits_130_says_how_to_resume_and_resumes_without_resubmitting(
        tmp_path, signum):
    folder = tmp_path / "my batch's $HOME"  # the resume command must quote it for the shell
    folder.mkdir()
    manifest = _manifest(folder, prompts=4, samples=2)
    batch = load_batch(manifest)
    ledger = ledger_path(batch.output)
    with served(seed=9, time_scale=10.0) as (sim, url):
        proc = subprocess.Popen(run_command(manifest, url), env=run_env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if ledger.exists() and ledger.read_bytes().count(b'"event":"submitted"') >= 3:
                break
            time.sleep(0.02)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        resume = out.split("Resume with:\n", 1)[1].strip().splitlines()[0]
        # Run as `python -m batchgen`: that is what it names, with this interpreter.
        assert resume.startswith(shlex.join([*BATCHGEN, "run", str(manifest)]))
        events = read_events(ledger)
        answered = Counter(e["event"] for e in events)
        assert answered["intent"] == answered["submitted"] + answered["failed"] + answered["unsent"]
        assert events[-1]["event"] == "end" and events[-1]["summary"]["interrupted"]

        again = subprocess.run(["bash", "-c", resume],  # pasted into a shell as printed
                               env=run_env(), capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr
    bodies = Counter(canonical_json(job.body({})) for job in batch.jobs)
    assert all(sim.counters.generate_calls[b] <= n for b, n in bodies.items())
    assert sum(sim.counters.generate_calls.values()) == len(batch.jobs)


def test_an_interrupted_simulate_run_lets_its_jobs_finish_since_the_simulator_forgets_them(tmp_path):
    manifest = _manifest(tmp_path, prompts=4, samples=2)
    batch = load_batch(manifest)
    ledger = ledger_path(batch.output)
    proc = subprocess.Popen([*BATCHGEN, "run", str(manifest), "--simulate", "--no-progress"],
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ledger.exists() and b'"event":"submitted"' in ledger.read_bytes():
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "waiting for the" in err
    state = {e["key"]: e["event"] for e in read_events(ledger) if "key" in e}
    assert state and set(state.values()) == {"file"}  # every submitted job finished
    assert "Resume with:" in out


@pytest.mark.parametrize("after,gap", [(1, 0.0), (1, 0.05), (3, 0.01), (3, 0.2), (3, 0.3), (6, 0.1)])
def test_a_double_ctrl_c_quits_without_a_traceback_and_the_resume_pays_nothing_twice(
        tmp_path, after, gap):
    # The second Ctrl-C lands at different moments: while the first one's in-flight calls
    # are waited for, while the ledger is being closed, or just as the run ends.
    manifest = _manifest(tmp_path, prompts=4, samples=2)
    batch = load_batch(manifest)
    ledger = ledger_path(batch.output)
    with served(seed=after, time_scale=10.0) as (sim, url):
        proc = subprocess.Popen(run_command(manifest, url), env=run_env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if ledger.exists() and ledger.read_bytes().count(b'"event":"intent"') >= after:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        time.sleep(gap)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "Traceback" not in err + out
        again = subprocess.run(run_command(manifest, url), env=run_env(), capture_output=True,
                               text=True, timeout=60)
        assert again.returncode == 0, again.stderr
        assert "Traceback" not in again.stderr
    assert {e["key"] for e in read_events(ledger) if e["event"] == "file"} == \
        {job.key for job in batch.jobs}
    bodies = Counter(canonical_json(job.body({})) for job in batch.jobs)
    assert all(sim.counters.generate_calls[b] <= n for b, n in bodies.items())
    assert sum(sim.counters.generate_calls.values()) == len(batch.jobs)
