"""403 and other API failures end every command cleanly: one sentence with the API's
words, exit 3 for a refusal, never a traceback or ExceptionGroup; `run` closes its
ledger with an `end` event whichever way it stops."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from batchgen.cli import main
from batchgen.ledger.events import read_events
from batchgen.simulator import Simulator
from batchgen.simulator.server import serve_in_thread
from simkit import set_credentials

KEY, SECRET = "deny-test-key-7d1e", "deny-test-secret-40af9c"
MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
REASON = "Your plan does not give this key access to model_luma-ray-3-2"
MANIFEST = """\
version: 1
name: deny
prompts:
  - id: knight
    prompt: The knight turns toward the camera
    startFrame: frames/knight.png
  - id: valley
    prompt: a misty valley at dawn
"""


class Denying:
    """The simulator, but requests matching `refuse(method, path, query)` answer 403."""

    def __init__(self, sim: Simulator, refuse):
        self.sim, self.refuse = sim, refuse

    async def app(self, scope, receive, send):
        if scope["type"] == "http" and self.refuse(scope["method"], scope["path"],
                                                   scope["query_string"].decode()):
            body = json.dumps({"reason": REASON, "traceId": "trace-403"}).encode()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.sim.app(scope, receive, send)


@pytest.fixture
def deny(tmp_path, monkeypatch):
    """deny(refuse, *argv) -> (exit code, stderr), with URL in argv replaced by the API's."""
    shutil.copytree(MANIFESTS / "frames", tmp_path / "frames")
    (tmp_path / "m.yaml").write_text(MANIFEST, encoding="utf-8")
    set_credentials(monkeypatch, KEY, SECRET)

    def go(capfd, refuse, *argv):
        sim = Simulator(api_key=KEY, api_secret=SECRET, duration_range=(5.0, 10.0),
                        time_scale=100.0)
        with serve_in_thread(Denying(sim, refuse)) as url:
            args = [str(tmp_path / "m.yaml") if a == "M" else url if a == "URL" else a
                    for a in argv]
            code = main(args)
        return code, capfd.readouterr().err
    return go


def assert_clean_refusal(code, err):
    assert code == 3
    assert "Traceback" not in err and "ExceptionGroup" not in err and "+-+-" not in err
    assert f"answered 403: {REASON} (trace id trace-403)" in err
    assert KEY not in err and SECRET not in err


def _ledger(tmp_path):
    return read_events(tmp_path / "out" / "deny" / "ledger.jsonl")


RUN = ("run", "M", "--base-url", "URL", "--yes", "--no-progress", "--poll-interval", "0.05")


def test_estimate_refused_on_its_dry_runs(deny, capfd):
    code, err = deny(capfd, lambda m, p, q: "/generate/" in p, "estimate", "M", "--base-url", "URL")
    assert_clean_refusal(code, err)
    assert len(err.strip().splitlines()) == 1


def test_estimate_refused_on_the_model_definition(deny, capfd):
    code, err = deny(capfd, lambda m, p, q: "/models/" in p, "estimate", "M", "--base-url", "URL")
    assert_clean_refusal(code, err)


def test_schema_check_refused(deny, capfd):
    code, err = deny(capfd, lambda m, p, q: "/models/" in p, "schema", "check", "--base-url", "URL")
    assert_clean_refusal(code, err)
    assert len(err.strip().splitlines()) == 1


def test_run_refused_at_its_estimate_records_the_run_and_its_end(deny, capfd, tmp_path):
    code, err = deny(capfd, lambda m, p, q: "/generate/" in p, *RUN)
    assert_clean_refusal(code, err)
    events = _ledger(tmp_path)
    assert [e["event"] for e in events][-1] == "end" and events[-1]["summary"]["exitCode"] == 3
    assert not any(e["event"] == "intent" for e in events)


def test_run_refused_on_generate(deny, capfd, tmp_path):
    code, err = deny(capfd, lambda m, p, q: "/generate/" in p and "dryRun" not in q, *RUN)
    assert_clean_refusal(code, err)
    events = _ledger(tmp_path)
    assert events[-1]["event"] == "end" and events[-1]["summary"]["exitCode"] == 3
    assert not any(e["event"] == "submitted" for e in events)


def test_run_refused_on_a_frame_upload(deny, capfd, tmp_path):
    code, err = deny(capfd, lambda m, p, q: m == "POST" and p.endswith(("/assets", "/uploads")),
                     *RUN)
    assert_clean_refusal(code, err)
    assert _ledger(tmp_path)[-1]["event"] == "end"


def test_run_refused_while_polling(deny, capfd, tmp_path):
    code, err = deny(capfd, lambda m, p, q: m == "GET" and "/jobs" in p, *RUN)
    assert_clean_refusal(code, err)
    events = _ledger(tmp_path)
    assert events[-1]["event"] == "end"
    assert sum(e["event"] == "submitted" for e in events) >= 1  # they stay running, not failed
    assert not any(e["event"] == "failed" for e in events)
