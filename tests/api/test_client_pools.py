"""The client's two pools, over real loopback sockets: API calls wait at a gate, not in
httpx's pool, and signed-URL transfers (CDN downloads) have a pool of their own."""

from __future__ import annotations

import json
from types import SimpleNamespace

import anyio
import httpx

from batchgen.api import ScenarioClient
from batchgen.api.retry import RetryPolicy
from batchgen.simulator.server import serve_in_thread
from simkit import KEY, SECRET, run


def slow_server(in_flight: list[int], seconds: float):
    """An ASGI app that answers each job read, and streams each download, after
    `seconds`, noting how many requests it held at once."""
    now = [0]

    async def app(scope, receive, send):
        now[0] += 1
        in_flight.append(now[0])
        try:
            await anyio.sleep(seconds)
            if scope["path"].startswith("/cdn/"):
                body, kind = b"x" * 10, b"video/mp4"
            else:
                job_id = scope["path"].rsplit("/", 1)[-1]
                body, kind = json.dumps({"job": {"jobId": job_id, "status": "in-progress"}}).encode(), b"application/json"
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
        finally:
            now[0] -= 1

    return SimpleNamespace(app=app)


def test_many_calls_wait_at_the_gate_and_never_meet_the_pool_timeout():
    """40 calls at once through 2 connections, with a pool timeout far shorter than their
    wait and no retry to hide one: none fails, and no more than 2 are ever at the server."""
    in_flight: list[int] = []
    with serve_in_thread(slow_server(in_flight, 0.05)) as url:
        client = ScenarioClient(url, KEY, SECRET, max_connections=2, retry=RetryPolicy(attempts=1),
                                timeout=httpx.Timeout(5.0, pool=0.01))

        async def go():
            answers = []
            async with client:
                async with anyio.create_task_group() as tg:
                    for n in range(40):
                        async def one(n=n):
                            answers.append(await client.get_job(f"job_{n}"))
                        tg.start_soon(one)
            return answers

        answers = run(go)
    assert sorted(a["jobId"] for a in answers) == sorted(f"job_{n}" for n in range(40))
    assert max(in_flight) == 2


def test_downloads_in_progress_never_hold_an_api_call_up():
    """Both storage connections wait on a slow CDN; an API call on its one connection
    still goes through, long before they end."""
    in_flight: list[int] = []
    with serve_in_thread(slow_server(in_flight, 2.0)) as url:
        cdn = url.rsplit("/", 1)[0] + "/cdn/video.mp4?sig=1"
        client = ScenarioClient(url, KEY, SECRET, max_connections=1, storage_connections=2)

        async def go():
            async with client:
                async def fetch():
                    async with client.download(cdn) as download:
                        async for _ in download.aiter_bytes():
                            pass

                async with anyio.create_task_group() as tg:
                    tg.start_soon(fetch)
                    tg.start_soon(fetch)
                    await anyio.sleep(0.2)  # both downloads are at the server
                    with anyio.fail_after(3.0):  # 2 s for the call itself, not 4
                        started = anyio.current_time()
                        job = await client.get_job("job_1")
                        took = anyio.current_time() - started
                    tg.cancel_scope.cancel()
                return job, took

        job, took = run(go)
    assert job["jobId"] == "job_1" and took < 3.0
    assert max(in_flight) == 3
