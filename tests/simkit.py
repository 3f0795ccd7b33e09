"""Shared helpers for the API client and simulator tests."""

from __future__ import annotations

import contextlib
import struct
import zlib
from typing import Any, Awaitable, Callable

import anyio
import httpx
import pytest

from batchgen.api import RetryPolicy, ScenarioClient
from batchgen.simulator import Simulator
from batchgen.simulator.server import serve_in_thread

KEY, SECRET = "test-key-8e1f", "test-secret-3b9c7d"
MODEL = "model_luma-ray-3-2"
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.005, max_retry_after=0.01)
T0 = 1_800_000_000.0


class ManualClock:
    """A clock tests move by hand; pass `clock=the_clock` to Simulator."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def png(width: int = 2, height: int = 2) -> bytes:
    """A small valid PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def set_credentials(monkeypatch: Any, key: str = KEY, secret: str = SECRET) -> None:
    """Put credentials in the environment, where `batchgen` commands read them."""
    monkeypatch.setenv("SCENARIO_SDK_API_KEY", key)
    monkeypatch.setenv("SCENARIO_SDK_API_SECRET", secret)


def simulator(**knobs: Any) -> Simulator:
    """A Simulator expecting the test credentials; knobs as Simulator takes them."""
    return Simulator(api_key=KEY, api_secret=SECRET, **knobs)


def run(fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    return anyio.run(fn, *args)


def in_process_client(sim: Simulator, transport: httpx.AsyncBaseTransport | None = None,
                      **kw: Any) -> ScenarioClient:
    """A ScenarioClient on `sim` in this process (its ASGI app, or `transport` wrapping
    it), with this kit's credentials and fast retries unless `kw` says otherwise."""
    kw.setdefault("retry", FAST)
    kw.setdefault("api_key", KEY)
    kw.setdefault("api_secret", SECRET)
    return ScenarioClient("http://simulator.test/v1",
                          transport=transport or httpx.ASGITransport(sim.app), **kw)


@pytest.fixture(params=["in-process", "loopback"])
def connect(request: pytest.FixtureRequest):
    """`connect(sim, **client_kw)` -> a ScenarioClient on `sim`, in process or over loopback."""
    stack = contextlib.ExitStack()

    def factory(sim: Simulator, **kw: Any) -> ScenarioClient:
        if request.param == "in-process":
            return in_process_client(sim, **kw)
        kw.setdefault("retry", FAST)
        kw.setdefault("api_key", KEY)
        kw.setdefault("api_secret", SECRET)
        return ScenarioClient(stack.enter_context(serve_in_thread(sim)), **kw)

    yield factory
    stack.close()


def request(sim: Simulator, method: str, path: str, *, auth: tuple[str, str] | None = (KEY, SECRET),
            **kw: Any) -> httpx.Response:
    """One raw HTTP request to `sim` in process (path relative to /v1, or /cdn/...)."""
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), auth=auth,
                                     base_url="http://simulator.test/v1/") as client:
            url = "http://simulator.test" + path if path.startswith("/cdn/") else path
            url = url if url.startswith("http") else url.lstrip("/")
            return await client.request(method, url, **kw)
    return anyio.run(go)


def submit(sim: Simulator, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create a job in `sim` and return it (the `job` of the answer)."""
    answer = request(sim, "POST", f"generate/custom/{MODEL}", json=body or {"prompt": "a cat"})
    assert answer.status_code == 200, answer.text
    return answer.json()["job"]
