"""Every answer the API can give maps onto one error class, and only safe calls are resent."""

from __future__ import annotations

import socket
import threading

import httpx

from batchgen.api import ConnectFailed, RetryPolicy, ScenarioClient
from batchgen.errors import (AccessDenied, AmbiguousSubmission, JobRejected, RateLimited,
                             RetriableError, ServerError, TransportError, URLExpired)
from batchgen.simulator.faults import FaultRates
from simkit import KEY, MODEL, SECRET, ManualClock, connect, run, simulator  # noqa: F401

BODY = {"prompt": "a lighthouse at dusk"}
BODY_KEY = '{"prompt":"a lighthouse at dusk"}'


def outcome(client, call):
    """Run `call(client)` inside the client; the exception it raises (or its result)."""
    async def go():
        async with client:
            try:
                return await call(client)
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                return exc
    return run(go)


def test_429_on_generate_is_rate_limited_with_the_stated_ceiling_and_not_resent(connect):
    sim = simulator(ceiling=1, retry_after=4, time_scale=2)
    error = outcome(connect(sim), lambda c: _twice(c))
    assert isinstance(error, RateLimited) and isinstance(error, RetriableError)
    assert (error.action_limit, error.action_name, error.retry_after) == (1, "custom-generation", 2.0)
    assert sim.counters.rate_limited == 1 and sim.counters.generate_calls[BODY_KEY] == 2


async def _twice(client):
    await client.generate(MODEL, BODY)
    return await client.generate(MODEL, BODY)


def test_400_rejects_the_job_with_the_apis_message_and_hint(connect):
    sim = simulator()
    error = outcome(connect(sim), lambda c: c.generate(MODEL, {"prompt": "a", "hdr": True,
                                                              "resolution": "540p"}))
    assert isinstance(error, JobRejected) and error.status == 400
    assert "720p or 1080p" in error.message and error.hint


def test_404_on_a_job_rejects_it(connect):
    error = outcome(connect(simulator()), lambda c: c.get_job("job_unknown"))
    assert isinstance(error, JobRejected) and error.status == 404


def test_401_is_access_denied(connect):
    sim = simulator()
    error = outcome(connect(sim, api_secret="wrong"), lambda c: c.get_job("job_x"))
    assert isinstance(error, AccessDenied) and error.status == 401 and error.exit_code == 3
    assert sim.counters.unauthorized == 1  # not retried


def test_403_is_access_denied_with_the_apis_message(connect):
    error = outcome(connect(simulator(access_denied=True)), lambda c: c.generate(MODEL, BODY))
    assert isinstance(error, AccessDenied) and error.status == 403 and "plan" in error.message


def test_5xx_on_a_read_is_retried_then_raised_as_server_error(connect):
    sim = simulator(server_error_rate=1.0)
    error = outcome(connect(sim), lambda c: c.get_job("job_x"))
    assert isinstance(error, ServerError) and error.status in (500, 502, 503)
    assert sim.counters.calls["GET /jobs/{job_id}"] == 3


def test_a_dropped_connection_on_a_read_is_retried_then_raised_as_transport_error(connect):
    sim = simulator(drop_rate=1.0)
    error = outcome(connect(sim), lambda c: c.list_jobs())
    assert isinstance(error, TransportError) and not isinstance(error, ConnectFailed)
    assert sim.counters.calls["GET /jobs"] == 3 and sim.counters.dropped == 3


def test_a_read_succeeds_once_the_fault_clears(connect):
    sim = simulator(server_error_rate=1.0)

    async def clear_faults(_seconds):
        sim.faults = FaultRates()

    jobs, token = outcome(connect(sim, sleep=clear_faults), lambda c: c.list_jobs())
    assert jobs == [] and token is None and sim.counters.calls["GET /jobs"] == 2


def test_a_5xx_after_the_job_was_created_is_ambiguous_and_not_resent(connect):
    sim = simulator(server_error_rate=1.0, after_create_rate=1.0)
    error = outcome(connect(sim), lambda c: c.generate(MODEL, BODY))
    assert isinstance(error, AmbiguousSubmission) and not isinstance(error, RetriableError)
    assert sim.counters.generate_calls[BODY_KEY] == 1 and len(sim.jobs) == 1


def test_a_dropped_generate_is_ambiguous_and_not_resent(connect):
    sim = simulator(drop_rate=1.0, after_create_rate=0.0)
    error = outcome(connect(sim), lambda c: c.generate(MODEL, BODY))
    assert isinstance(error, AmbiguousSubmission)
    assert sim.counters.generate_calls[BODY_KEY] == 1 and sim.jobs == {}


def test_a_dropped_generate_after_creation_leaves_a_job_to_recover(connect):
    sim = simulator(drop_rate=1.0, after_create_rate=1.0)
    error = outcome(connect(sim), lambda c: c.generate(MODEL, BODY))
    assert isinstance(error, AmbiguousSubmission)
    (job,) = sim.jobs.values()
    assert job.body == BODY


def test_a_dry_run_is_retried_like_a_read(connect):
    sim = simulator(server_error_rate=1.0)
    error = outcome(connect(sim), lambda c: c.generate(MODEL, BODY, dry_run=True))
    assert isinstance(error, ServerError)
    assert sim.counters.calls["POST /generate/custom/{model_id}"] == 3


def test_a_generate_that_could_not_connect_is_resent():
    sim = simulator()
    app_transport = httpx.ASGITransport(sim.app)
    refusals = [httpx.ConnectError("Connection refused")]

    async def handler(request):
        if refusals:
            raise refusals.pop()
        return await app_transport.handle_async_request(request)

    class Flaky(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request):
            return await handler(request)

    client = ScenarioClient("http://simulator.test/v1", KEY, SECRET, transport=Flaky(),
                            retry=RetryPolicy(attempts=2, base=0, cap=0))
    answer = outcome(client, lambda c: c.generate(MODEL, BODY))
    assert answer["job"]["status"] == "pending" and sim.counters.generate_calls[BODY_KEY] == 1


def test_connection_refused_is_connect_failed():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ScenarioClient(f"http://127.0.0.1:{port}/v1", KEY, SECRET, retry=RetryPolicy(attempts=2, base=0))
    error = outcome(client, lambda c: c.generate(MODEL, BODY))
    assert isinstance(error, ConnectFailed) and isinstance(error, TransportError)


def test_a_generate_that_times_out_is_ambiguous():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []

    def accept_and_stay_silent():
        conn, _ = server.accept()
        accepted.append(conn)
        conn.recv(65536)

    thread = threading.Thread(target=accept_and_stay_silent, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    client = ScenarioClient(url, KEY, SECRET, timeout=httpx.Timeout(0.3))
    try:
        error = outcome(client, lambda c: c.generate(MODEL, BODY))
    finally:
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        server.close()
    assert isinstance(error, AmbiguousSubmission) and "timed out" in error.message
    assert len(accepted) == 1


def test_a_read_honours_retry_after():
    answers = [httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"}),
               httpx.Response(200, json={"job": {"jobId": "job_1"}})]
    waits = []

    async def record(seconds):
        waits.append(seconds)

    client = ScenarioClient("http://api.test/v1", KEY, SECRET, sleep=record,
                            transport=httpx.MockTransport(lambda request: answers.pop(0)),
                            retry=RetryPolicy(attempts=3, base=0.01, cap=0.01))
    job = outcome(client, lambda c: c.get_job("job_1"))
    assert job == {"jobId": "job_1"} and waits == [7.0]


async def _download_all(client, url):
    async with client.download(url) as response:
        return b"".join([chunk async for chunk in response.aiter_bytes()])


async def _video_url(client, sim, clock):
    job = (await client.generate(MODEL, BODY))["job"]
    clock.advance(1000)
    asset_id = (await client.get_job(job["jobId"]))["metadata"]["assetIds"][0]
    return (await client.get_asset(asset_id))["url"]


def test_a_truncated_download_raises_transport_error(connect):
    clock = ManualClock()
    sim = simulator(clock=clock, truncate_rate=1.0)

    async def go(client):
        return await _download_all(client, await _video_url(client, sim, clock))

    error = outcome(connect(sim), go)
    assert isinstance(error, TransportError)
    assert sim.counters.dropped == 1


def test_an_expired_download_url_raises_url_expired(connect):
    clock = ManualClock()
    sim = simulator(clock=clock, url_lifetime=60)

    async def go(client):
        url = await _video_url(client, sim, clock)
        clock.advance(61)
        return await _download_all(client, url)

    error = outcome(connect(sim), go)
    assert isinstance(error, URLExpired) and error.status == 403


def test_a_generate_answer_that_is_not_json_is_ambiguous():
    garbled = httpx.MockTransport(lambda request: httpx.Response(200, content=b"<html>oops"))
    client = ScenarioClient("http://api.test/v1", KEY, SECRET, transport=garbled)
    assert isinstance(outcome(client, lambda c: c.generate(MODEL, BODY)), AmbiguousSubmission)


def test_a_download_follows_a_redirect_without_credentials():
    seen = []

    def cdn(request):
        seen.append((request.url.host, request.headers.get("authorization")))
        if request.url.host == "cdn.test":
            return httpx.Response(302, headers={"location": "https://edge.test/a.mp4"})
        return httpx.Response(200, content=b"video")

    async def go(client):
        async with client.download("https://cdn.test/a.mp4?sig=1") as response:
            return b"".join([chunk async for chunk in response.aiter_bytes()])

    client = ScenarioClient("http://api.test/v1", KEY, SECRET, transport=httpx.MockTransport(cdn))
    assert outcome(client, go) == b"video"
    assert seen == [("cdn.test", None), ("edge.test", None)]


def _answering(status, body):
    return ScenarioClient("http://api.test/v1", KEY, SECRET, retry=RetryPolicy(attempts=1),
                          transport=httpx.MockTransport(lambda request: httpx.Response(status, json=body)))


def test_the_error_text_is_read_from_reason_then_message_error_detail_with_the_trace_id():
    cases = [({"reason": "R", "message": "M", "error": "E"}, "R"),
             ({"message": "M", "error": "E", "detail": "D"}, "M"),
             ({"error": "E", "detail": "D"}, "E"),
             ({"detail": "D", "traceId": "t-1"}, "D (trace id t-1)"),
             ({"error": {"message": "nested"}, "trace_id": "t-2"}, "nested (trace id t-2)"),
             ({}, "Bad Request")]
    for body, text in cases:
        error = outcome(_answering(400, body), lambda c: c.get_job("job_x"))
        assert isinstance(error, JobRejected) and error.message == f"GET /jobs/job_x answered 400: {text}"
