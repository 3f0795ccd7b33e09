"""An API that cannot be reached ends the run after a bounded time, with the right summary.

Connect failures (nothing was sent) used to be retried forever, and the jobs whose intent
was written said "running on the server". Now every key whose call could not connect is
recorded `unsent` at once (pending), the run stops once every call has failed to connect
for `unreachable_after` seconds (default 300 s), exit 1, and the next run with the API
back sends each job exactly once.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest

from batchgen.run import options as run_options
from batchgen.ledger.state import replay
from runkit import KEY, SECRET, client_for, events, make_batch, make_job, run, simulator

pytestmark = pytest.mark.timeout(120)


class Outage(httpx.AsyncBaseTransport):
    """The simulator in process, but while `down` every request fails to connect; with
    `after_generates` set, the outage starts once that many generate calls got through."""

    def __init__(self, sim, *, down: bool = True, after_generates: int | None = None):
        self.inner = httpx.ASGITransport(sim.app)
        self.down = down
        self.after = after_generates
        self.generates = 0
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.after is not None and self.generates >= self.after:
            self.down = True
        if self.down:
            self.refused += 1
            raise httpx.ConnectError("connection refused (test)")
        if request.method == "POST" and "/generate/" in request.url.path:
            self.generates += 1
        return await self.inner.handle_async_request(request)


def _client(sim, transport):
    from runkit import FAST_RETRY
    from batchgen.api import ScenarioClient

    return ScenarioClient("http://simulator.test/v1", KEY, SECRET, transport=transport,
                          retry=FAST_RETRY)


def _jobs_per_key(sim) -> Counter:
    from batchgen.jobs import canonical_json

    return Counter(canonical_json(job.body) for job in sim.jobs.values())


def test_an_api_unreachable_from_the_start_ends_the_run_with_every_job_pending(tmp_path):
    sim = simulator()
    jobs = [make_job(f"a misty valley {i}") for i in range(3)]
    batch = make_batch(tmp_path, jobs)
    transport = Outage(sim)
    started = time.monotonic()

    summary = run(batch, _client(sim, transport), unreachable_after=0.5, concurrency=2)

    assert time.monotonic() - started < 15
    assert summary.exit_code == 1 and not summary.interrupted
    assert summary.unreachable and "could not connect to http://simulator.test/v1 for 0.5 s" \
        in summary.unreachable
    assert summary.counts["pending"] == 3 and summary.counts["running"] == 0
    assert transport.refused > 0 and not sim.jobs
    state = replay(events(batch))
    assert all(not ks.ambiguous and ks.job_id is None for ks in state.jobs.values())
    assert events(batch)[-1]["event"] == "end"

    # The API is back: the next run sends each job once and finishes.
    transport.down = False
    again = run(batch, _client(sim, transport))
    assert again.exit_code == 0 and again.counts["succeeded"] == 3
    assert len(sim.jobs) == 3 and set(_jobs_per_key(sim).values()) == {1}


def test_an_outage_after_some_submissions_keeps_the_sent_jobs_running(tmp_path):
    sim = simulator(duration_range=(300.0, 400.0))  # still running when the outage ends the run
    jobs = [make_job(f"a knight {i}") for i in range(4)]
    batch = make_batch(tmp_path, jobs)
    transport = Outage(sim, down=False, after_generates=2)

    summary = run(batch, _client(sim, transport), unreachable_after=0.5, concurrency=2)

    assert summary.exit_code == 1 and summary.unreachable
    assert summary.counts == {"pending": 2, "running": 2, "succeeded": 0, "failed": 0}
    assert len(sim.jobs) == 2

    transport.down, transport.after = False, None
    sim_fast = run(batch, _client(sim, transport), unreachable_after=30)
    assert sim_fast.exit_code == 0 and sim_fast.counts["succeeded"] == 4
    assert len(sim.jobs) == 4 and set(_jobs_per_key(sim).values()) == {1}


def test_a_short_outage_does_not_end_the_run(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, [make_job("a harbour at night")])
    transport = Outage(sim)

    import anyio

    async def go():
        from batchgen.run.runner import run_batch
        from runkit import fast_options

        async def heal():
            await anyio.sleep(0.3)
            transport.down = False

        async with _client(sim, transport) as client, anyio.create_task_group() as tg:
            tg.start_soon(heal)
            return await run_batch(batch, client, options=fast_options(unreachable_after=5.0))

    summary = anyio.run(go)
    assert summary.exit_code == 0 and summary.unreachable is None
    assert len(sim.jobs) == 1
    # Every try that could not connect was closed as unsent before the next intent.
    kinds = [e["event"] for e in events(batch) if e["event"] in ("intent", "unsent", "submitted")]
    assert kinds[-2:] == ["intent", "submitted"] and kinds.count("intent") == kinds.count("unsent") + 1


def test_the_client_measures_how_long_it_has_been_unreachable():
    sim = simulator()
    transport = Outage(sim)
    client = _client(sim, transport)

    import anyio

    async def go():
        async with client:
            assert client.unreachable_for() == 0.0
            with pytest.raises(Exception):
                await client.get_model("model_luma-ray-3-2")
            first = client.unreachable_for()
            await anyio.sleep(0.05)
            assert client.unreachable_for() > first > 0
            transport.down = False
            await client.get_model("model_luma-ray-3-2")
            assert client.unreachable_for() == 0.0

    anyio.run(go)


def test_the_command_says_what_happened_and_how_to_resume(tmp_path):
    """`batchgen run` against a port nothing listens on: one clear stop, exit 1, no traceback."""
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\nname: t\nprompts:\n  - a misty valley\n  - a knight\n")
    code = ("import sys; from batchgen.run import options; options.UNREACHABLE_AFTER = 1.0; "
            "from batchgen.cli import main; sys.exit(main(sys.argv[1:]))")
    env = {"SCENARIO_SDK_API_KEY": "k", "SCENARIO_SDK_API_SECRET": "s", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code, "run", str(manifest), "--base-url",
                           "http://127.0.0.1:9/v1", "--yes", "--no-progress"],
                          capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path)
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    assert "Traceback" not in said
    assert "stopped: could not connect to http://127.0.0.1:9/v1 for 1 s" in said
    assert "the 2 jobs not sent are pending" in said
    assert "0 running, 2 pending" in said
    assert "running on the server" not in said
