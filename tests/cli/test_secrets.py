"""Credentials never reach a file, a log line or the console.

A full run (local frame upload, submissions, retried 5xx, failed jobs, downloads, then
status, plan and report) goes to a `batchgen simulate` server on loopback with a
distinctive random key and secret, each command run as `batchgen -vv ...` so every
logger (batchgen, httpx, httpcore) writes DEBUG lines to stderr. Afterwards every file
under the test's folder (manifest folder, output, ledger, batch.json, report, temp
and home folders) and everything printed or logged is searched for the key, the
secret and the Basic token, and the log for any Authorization value: none may appear.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from batchgen.cli import main
from batchgen.ledger.events import read_events
from simkit import png

MANIFEST = """\
version: 1
name: secrets-check
prompts:
  - a misty valley at dawn, slow aerial push-in
  - id: knight
    prompt: a knight walks through fog toward the camera, {style}
    startFrame: frames/knight.png
  - id: lighthouse
    prompt: a lighthouse in a storm, {style}
matrix:
  style: [noir, watercolor]
samples: 4
"""


def needles(key: str, secret: str) -> dict[str, str]:
    """The forms a leaked credential could take."""
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return {"key": key, "secret": secret, "basic token": token,
            "url-safe token": base64.urlsafe_b64encode(f"{key}:{secret}".encode()).decode()}


def leaks_in_files(root: Path, forms: dict[str, str]) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{what} in {path.relative_to(root)}" for what, value in forms.items()
                      if value.encode() in data]
    return found


def leaks_in_text(text: str, where: str, forms: dict[str, str]) -> list[str]:
    found = [f"{what} in {where}" for what, value in forms.items() if value in text]
    # Any credential-bearing header value, whoever's credentials they are.
    return found + [f"an Authorization value in {where}"
                    for _ in re.findall(r"(?:Basic|Bearer) [A-Za-z0-9+/_=-]{16,}", text)]


class Simulate:
    """A `batchgen simulate` process on a free loopback port."""

    def __init__(self, env: dict[str, str], *knobs: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "batchgen", "simulate", "--port", "0", *knobs],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        first = self.proc.stdout.readline()
        self.output = first
        if " on http" not in first:
            self.stop()
            raise RuntimeError(f"batchgen simulate did not start: {self.output}")
        self.url = first.split(" on ", 1)[1].split()[0]

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=20)
        self.output += self.proc.stdout.read()
        self.proc.stdout.close()
        return self.output


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A manifest with a local frame; temp and home folders inside tmp_path."""
    key, secret = "k" + secrets.token_hex(12), "s" + secrets.token_hex(20)
    for name in ("project", "tmp", "home"):
        (tmp_path / name).mkdir()
    (tmp_path / "project" / "frames").mkdir()
    (tmp_path / "project" / "frames" / "knight.png").write_bytes(png())
    (tmp_path / "project" / "sweep.yaml").write_text(MANIFEST, encoding="utf-8")
    env = {"SCENARIO_SDK_API_KEY": key, "SCENARIO_SDK_API_SECRET": secret,
           "TMPDIR": str(tmp_path / "tmp"), "HOME": str(tmp_path / "home")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.delenv("BATCHGEN_LOG", raising=False)
    return tmp_path, key, secret, {**os.environ}


def test_a_full_run_with_debug_logging_writes_and_prints_no_credential(world, capfd):
    tmp_path, key, secret, env = world
    server = Simulate(env, "--time-scale", "200", "--duration", "5", "10", "--seed", "5",
                      "--failure-rate", "0.5", "--server-error-rate", "0.05", "--ceiling", "50")
    try:
        code = main(["-vv", "run", "sweep.yaml", "--base-url", server.url, "--yes", "--no-progress",
                     "--json", "--poll-interval", "0.05", "--recovery-wait", "0.5"])
        status = main(["-vv", "status", "sweep.yaml", "--json"])
        plan = main(["-vv", "plan", "sweep.yaml", "--json"])
        report = main(["-vv", "report", "sweep.yaml", "--out", str(tmp_path / "report.html")])
    finally:
        server_output = server.stop()
    console = capfd.readouterr()

    assert code in (0, 1), console.err
    assert (status, plan, report) == (0, 0, 0), console.err
    out = tmp_path / "project" / "out" / "secrets-check"
    videos = list(out.rglob("*.mp4"))
    assert len(videos) >= 3, "too few jobs succeeded for the run to prove anything"
    assert any(e["event"] == "failed" for e in read_events(out / "ledger.jsonl")), "no job failed"
    forms = needles(key, secret)
    leaks = (leaks_in_files(tmp_path, forms)
             + leaks_in_text(console.out, "stdout", forms)
             + leaks_in_text(console.err, "stderr and its log", forms)
             + leaks_in_text(server_output, "the simulator's console", forms))
    assert leaks == []
    # The search covered the verbose path: request lines and connection-level DEBUG.
    for logger in ("INFO httpx: HTTP Request:", "DEBUG httpcore.http11: send_request_headers",
                   "DEBUG batchgen.run.download:"):
        assert logger in console.err, f"no {logger!r} line was logged"


def test_refused_credentials_are_not_echoed_in_the_error(world, capfd):
    tmp_path, key, secret, env = world
    server = Simulate({**env, "SCENARIO_SDK_API_SECRET": "the-right-secret"}, "--seed", "1")
    try:
        code = main(["-vv", "run", "sweep.yaml", "--base-url", server.url, "--yes", "--no-progress",
                     "--poll-interval", "0.05"])
    finally:
        server_output = server.stop()
    console = capfd.readouterr()

    assert code == 3, console.err
    forms = needles(key, secret)
    leaks = (leaks_in_files(tmp_path, forms)
             + leaks_in_text(console.out + console.err, "the console and its log", forms)
             + leaks_in_text(server_output, "the simulator's console", forms))
    assert leaks == []

