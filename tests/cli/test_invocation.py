"""Commands printed for the user to paste name the program actually running, quoted."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from batchgen.cli.invocation import command, program
from batchgen.ledger.events import read_events, ledger_path
from batchgen.manifest.load import load_batch
from crashkit import run_command, run_env, served, write_manifest


def _script(folder) -> str:
    folder.mkdir(parents=True)
    path = folder / "batchgen"
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_a_script_not_on_path_is_named_by_the_path_it_was_run_by(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    script = _script(tmp_path / ".venv" / "bin")
    assert program(script) == [script]
    monkeypatch.chdir(tmp_path)
    assert program(".venv/bin/batchgen") == [".venv/bin/batchgen"]


def test_the_script_the_path_finds_is_named_by_its_name_alone(tmp_path, monkeypatch):
    script = _script(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin")
    assert program(script) == ["batchgen"]


def test_another_batchgen_first_on_the_path_does_not_stand_for_this_one(tmp_path, monkeypatch):
    other, mine = _script(tmp_path / "other"), _script(tmp_path / "mine")
    monkeypatch.setenv("PATH", f"{tmp_path / 'other'}{os.pathsep}/usr/bin")
    assert other != mine and program(mine) == [mine]


def test_python_m_batchgen_is_named_with_the_running_interpreter():
    main_module = os.path.join("site-packages", "batchgen", "__main__.py")
    assert program(main_module) == [sys.executable, "-m", "batchgen"]
    assert program("/usr/lib/python3/pytest") == [sys.executable, "-m", "batchgen"]


def test_words_are_quoted_for_the_shell(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    script = _script(tmp_path / "a dir")
    line = command("run", "it's $HOME.yaml", argv0=script)
    assert line == f"'{script}' run 'it'\"'\"'s $HOME.yaml'"


def test_the_printed_retry_command_pasted_in_a_shell_submits_the_failed_jobs_again(tmp_path):
    folder = tmp_path / "two words"
    folder.mkdir()
    manifest = write_manifest(folder, prompts=2, samples=1)
    with served(seed=3, failure_rate=1.0) as (sim, url):
        first = subprocess.run(run_command(manifest, url), env=run_env(), capture_output=True,
                               text=True, timeout=60)
        assert first.returncode == 1, first.stderr
        retry = first.stdout.split("to submit the failed jobs again:\n", 1)[1].splitlines()[0]
        assert retry.strip().endswith("--retry-failed")
        again = subprocess.run(["bash", "-c", retry], env=run_env(), capture_output=True,
                               text=True, timeout=60)
    assert again.returncode == 1, again.stderr
    events = read_events(ledger_path(load_batch(manifest).output))
    assert sum(e["event"] == "submitted" for e in events) == 4  # each job twice
    assert sum(sim.counters.generate_calls.values()) == 4


def test_the_resume_command_repeats_the_options_as_typed(monkeypatch):
    from batchgen.cli import build_parser
    from batchgen.cli.run_cmd import resume_command

    monkeypatch.setattr(sys, "argv", [os.path.join("pkg", "batchgen", "__main__.py")])
    words = ["-v", "run", "m.yaml", "--max-cu", "200", "--shard", "2/4", "--simulate"]
    args = build_parser().parse_args(words)
    args.words = words
    assert args.max_cu == 200.0
    assert resume_command(args) == shlex.join([sys.executable, "-m", "batchgen", *words])


def test_the_command_batchgen_simulate_prints_runs_a_manifest_when_pasted(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENARIO_")}
    server = subprocess.Popen([sys.executable, "-m", "batchgen", "simulate", "--port", "0",
                               "--time-scale", "100"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [server.stdout.readline() for _ in range(3)]
        assert lines[1] == "Run a manifest against it:\n"
        manifest = write_manifest(tmp_path, prompts=1, samples=1)
        pasted = lines[2].strip().replace("MANIFEST", shlex.quote(str(manifest)))
        done = subprocess.run(["bash", "-c", pasted + " --yes --no-progress --poll-interval 0.2"],
                              env=env, capture_output=True, text=True, timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert done.returncode == 0, done.stderr
    assert "1 jobs: 1 succeeded" in done.stdout
