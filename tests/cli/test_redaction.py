"""An API that echoes the credentials back (in an error's words, its hint, its details
and in a response header) never gets them stored or shown; the rejection's own words
and its trace id still reach the ledger, `status`, the report and the console. A base
URL that carries credentials is refused before anything is sent or written."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest

from batchgen import redact
from batchgen.cli import main
from batchgen.ledger.events import read_events
from batchgen.simulator import Simulator
from batchgen.simulator.http import read_request
from batchgen.simulator.server import serve_in_thread

KEY, SECRET = "echo-test-key-5be02d", "echo-test-secret-91c3aa7f"
TOKEN = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
REASON = "The prompt was refused by the moderation filter"
MANIFEST = """\
version: 1
name: echo
prompts:
  - id: refused
    prompt: a refused prompt
  - id: valley
    prompt: a misty valley at dawn
"""


class Echoing:
    """The simulator, but every answer carries the Authorization header back in a
    header, and generating the refused prompt answers 400 quoting the credentials."""

    def __init__(self, sim: Simulator):
        self.sim = sim

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.sim.app(scope, receive, send)
        auth = dict(scope["headers"]).get(b"authorization", b"")
        echo = (b"x-echo-authorization", auth)
        if scope["path"].startswith("/v1/generate/") and b"dryRun" not in scope["query_string"]:
            body = (await read_request(scope, receive)).body
            if b"refused" in body:
                answer = json.dumps({
                    "reason": f"{REASON} (request signed {auth.decode()} by {KEY})",
                    "hint": f"the key {KEY} with secret {SECRET} may not use this model",
                    "details": {"authorization": auth.decode(), "secret": SECRET},
                    "traceId": "trace-echo-1"}).encode()
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(answer)).encode()), echo]})
                await send({"type": "http.response.body", "body": answer})
                return
            replay = iter([{"type": "http.request", "body": body, "more_body": False}])

            async def receive():  # noqa: F811 - the body was read: hand it on as it came
                return next(replay)

        async def send_echoing(message, send=send):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], echo]}
            await send(message)

        await self.sim.app(scope, receive, send_echoing)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "m.yaml").write_text(MANIFEST, encoding="utf-8")
    monkeypatch.setenv("SCENARIO_SDK_API_KEY", KEY)
    monkeypatch.setenv("SCENARIO_SDK_API_SECRET", SECRET)
    monkeypatch.delenv("BATCHGEN_LOG", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def leaks(text: str) -> list[str]:
    return [name for name, value in (("key", KEY), ("secret", SECRET), ("token", TOKEN))
            if value in text]


def test_echoed_credentials_are_redacted_and_the_apis_words_kept_everywhere(project, capfd):
    sim = Simulator(api_key=KEY, api_secret=SECRET, duration_range=(5.0, 10.0), time_scale=100.0)
    with serve_in_thread(Echoing(sim)) as url:
        code = main(["-vv", "run", "m.yaml", "--base-url", url, "--yes", "--no-progress",
                     "--poll-interval", "0.05"])
    run_console = capfd.readouterr()
    status = main(["status", "m.yaml", "--json"])
    records = {r["id"]: r for r in json.loads(capfd.readouterr().out)["jobs"]}
    table = main(["status", "m.yaml"])
    report = main(["report", "m.yaml", "--out", str(project / "report.html")])
    console = capfd.readouterr()

    assert code == 1 and (status, table, report) == (0, 0, 0), run_console.err + console.err
    # The log really showed the echoing response headers (redacted).
    assert "x-echo-authorization" in run_console.err and redact.REDACTED in run_console.err
    failed = [e for e in read_events(project / "out" / "echo" / "ledger.jsonl")
              if e["event"] == "failed"]
    assert len(failed) == 1 and failed[0]["status"] == 400
    words = (f"{REASON} (request signed Basic {redact.REDACTED} by {redact.REDACTED}) "
             "(trace id trace-echo-1)")
    assert failed[0]["error"].endswith(words)
    assert failed[0]["hint"] == (f"the key {redact.REDACTED} with secret {redact.REDACTED} "
                                 "may not use this model")
    assert records["refused"]["error"].endswith(words)
    assert words in run_console.out  # the run's summary
    assert words in console.out  # the status table
    assert "trace-echo-1" in (project / "report.html").read_text(encoding="utf-8")
    everything = run_console.out + run_console.err + console.out + console.err + "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in project.rglob("*") if p.is_file())
    assert leaks(everything) == []


def test_an_echo_in_any_log_line_is_redacted(caplog):
    redact.remember(KEY, SECRET)
    logger = logging.getLogger("batchgen.test.redaction")
    handler = logging.Handler()
    seen = []
    handler.emit = lambda record: seen.append(record.getMessage())
    handler.addFilter(redact.LogFilter())
    logger.addHandler(handler)
    try:
        logger.warning("headers %r", [(b"x-echo", f"Basic {TOKEN}".encode()), (b"k", KEY)])
    finally:
        logger.removeHandler(handler)
    assert seen and leaks(seen[0]) == [] and redact.REDACTED in seen[0]


@pytest.mark.parametrize("url", ["http://user:pa55word@127.0.0.1:9/v1",
                                 "http://127.0.0.1:9/v1?apiKey=pa55word",
                                 "http://127.0.0.1:9/v1#pa55word"])
@pytest.mark.parametrize("command", ["run", "estimate"])
def test_a_base_url_carrying_credentials_is_refused_before_anything_is_written(
        project, capfd, url, command):
    code = main([command, "m.yaml", "--base-url", url, "--yes"][:4 if command == "estimate" else 5])
    err = capfd.readouterr().err
    assert code == 2
    assert "pa55word" not in err and "SCENARIO_SDK_API_KEY" in err
    assert "http://127.0.0.1:9/v1" in err
    assert not (project / "out").exists()
