"""Helpers for the runner tests: small batches built by hand, fast run options."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import anyio
import httpx
import pytest

from batchgen.api import RetryPolicy, ScenarioClient
from batchgen.cli import main
from batchgen.run.download import DownloadTiming
from batchgen.jobs import Job, LocalFrame, job_key
from batchgen.ledger.events import LedgerWriter, ledger_path, read_events
from batchgen.run.runner import RunOptions, RunSummary, run_batch
from batchgen.simulator import Simulator
from batchgen.simulator.server import serve_in_thread
from batchgen.run.submit import SubmitTiming
from simkit import png, set_credentials  # noqa: F401  (re-exported for the run tests)

KEY, SECRET = "run-test-key-51c2", "run-test-secret-9d4e0a"
MODEL = "model_luma-ray-3-2"
FAST_RETRY = RetryPolicy(attempts=3, base=0.001, cap=0.005, max_retry_after=0.01)


@dataclass
class TestBatch:
    """The shape of `validate.Batch` that the runner reads."""

    name: str
    output: Path
    jobs: list[Job]
    model: str = MODEL
    source: str = "test.yaml"
    frames: dict[str, LocalFrame] = field(default_factory=dict)
    axes: dict[str, list] = field(default_factory=dict)


def make_job(prompt: str, *, sample: int = 1, filename: str | None = None,
             frames: dict[str, LocalFrame] | None = None, **params: Any) -> Job:
    """A job as the manifest loader would make it."""
    frames = frames or {}
    identity = {"prompt": prompt, **params, **{k: f.identity for k, f in frames.items()}}
    key = job_key(MODEL, identity, sample)
    slug = "-".join(prompt.split()[:3]).lower()
    return Job(key=key, id=slug, index=1, sample=sample, model=MODEL, prompt=prompt,
               params=dict(params), frames=dict(frames),
               filename=filename or f"{slug}/{key}-{sample}.mp4")


def make_batch(tmp_path: Path, jobs: list[Job], name: str = "test-batch") -> TestBatch:
    return TestBatch(name=name, output=tmp_path / "out", jobs=jobs)


def simulator(**knobs: Any) -> Simulator:
    """A fast simulator: jobs take 0.1 to 0.3 real seconds unless told otherwise."""
    knobs.setdefault("duration_range", (10.0, 30.0))
    knobs.setdefault("time_scale", 100.0)
    knobs.setdefault("ceiling", 50)
    return Simulator(api_key=KEY, api_secret=SECRET, **knobs)


def client_for(sim: Simulator, **kw: Any) -> ScenarioClient:
    kw.setdefault("retry", FAST_RETRY)
    return ScenarioClient("http://simulator.test/v1", KEY, SECRET,
                          transport=httpx.ASGITransport(sim.app), **kw)


class LoseGenerateAnswers(httpx.AsyncBaseTransport):
    """The simulator in process, but every `every`-th generate answer is lost after the
    job exists (the connection drops before the answer arrives)."""

    def __init__(self, sim: Simulator, every: int):
        self.inner = httpx.ASGITransport(sim.app)
        self.every = every
        self.generates = 0
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and "/generate/" in request.url.path \
                and "dryRun" not in request.url.params:
            self.generates += 1
            if response.status_code == 200 and self.generates % self.every == 0:
                await response.aread()
                self.lost += 1
                raise httpx.ReadError("connection lost before the answer (test)")
        return response


def framed(tmp_path: Path, data: bytes, name: str = "frame.png") -> LocalFrame:
    """A local frame file holding `data`, as the manifest loader would describe it."""
    path = tmp_path / name
    path.write_bytes(data)
    return LocalFrame(path=path, sha256=hashlib.sha256(data).hexdigest(), display=name)


def fast_options(**kw: Any) -> RunOptions:
    """Run options with test-speed timing and no progress bar."""
    kw.setdefault("poll_interval", 0.02)
    kw.setdefault("progress", False)
    kw.setdefault("progress_stream", io.StringIO())
    kw.setdefault("submit", SubmitTiming(rate_limit_wait=0.01, rate_limit_max_wait=0.05,
                                         recovery_wait=0.2, recovery_interval=0.02))
    kw.setdefault("download", DownloadTiming(attempts=6, retry_wait=0.01, pending_wait=0.01))
    return RunOptions(**kw)


def run(batch: TestBatch, client: Any, **options: Any) -> RunSummary:
    """run_batch with fast options, from synchronous test code."""
    async def go() -> RunSummary:
        async with client:
            return await run_batch(batch, client, options=fast_options(**options))
    return anyio.run(go)


def intent_only(batch: TestBatch, job: Job) -> None:
    """The ledger a kill -9 leaves between writing the intent and recording the answer."""
    batch.output.mkdir(parents=True, exist_ok=True)
    with LedgerWriter(ledger_path(batch.output)) as writer:
        writer.append({"event": "intent", "key": job.key, "id": job.id, "sample": job.sample,
                       "body": job.body({})})


def crashed_after_submitting(sim: Simulator, batch: TestBatch, job: Job) -> None:
    """What a kill -9 between the generate call and its answer leaves: the intent in
    the ledger and the job (charged) on the API."""
    intent_only(batch, job)

    async def call() -> None:
        async with client_for(sim) as client:
            await client.generate(job.model, job.body({}))

    anyio.run(call)


def served_with_credentials(monkeypatch: Any, **knobs: Any) -> Iterator[tuple[Simulator, str]]:
    """For a fixture: a fast simulator on loopback (yields it and its URL), with its
    credentials in the environment, as `batchgen run` reads them."""
    set_credentials(monkeypatch, KEY, SECRET)
    sim = simulator(**knobs)
    with serve_in_thread(sim) as url:
        yield sim, url


def write_manifest(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def cli_run(manifest: Path, url: str, *extra: str) -> int:
    """`batchgen run MANIFEST` against `url`, quiet and polling fast (`--yes` not implied)."""
    return main(["run", str(manifest), "--base-url", url, "--no-progress",
                 "--poll-interval", "0.02", *extra])


def events(batch: TestBatch, name: str | None = None) -> list[dict[str, Any]]:
    found = read_events(ledger_path(batch.output))
    return [e for e in found if name is None or e["event"] == name]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generate_calls(sim: Simulator) -> int:
    return sum(sim.counters.generate_calls.values())


@pytest.fixture
def harbour_api(monkeypatch: Any) -> Iterator[tuple[Simulator, str]]:
    """For the tests that run HARBOUR through the CLI: `served_with_credentials`."""
    yield from served_with_credentials(monkeypatch)


@pytest.fixture
def harbour(tmp_path: Path) -> Path:
    """tmp_path/harbour.yaml, the HARBOUR sweep (its output folder: tmp_path/out)."""
    path = tmp_path / "harbour.yaml"
    path.write_text(HARBOUR)
    return path


# Five styles x 2 samples: the sweep the shard, batch-family and reuse tests split and share.
HARBOUR = """\
version: 1
name: harbour
output: out
prompts:
  - A harbour at night, {style}
matrix:
  style: [noir, watercolor, pastel, neon, ink]
samples: 2
"""
