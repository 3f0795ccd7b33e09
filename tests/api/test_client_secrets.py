"""The key, the secret and the Authorization header never show: logs, errors, reprs, CDN."""

from __future__ import annotations

import base64
import logging

import httpx

from batchgen.api import Credentials, ScenarioClient
from batchgen.api.auth import BasicAuth
from batchgen.errors import UsageError
from simkit import KEY, MODEL, SECRET, ManualClock, connect, run, simulator  # noqa: F401

TOKEN = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
SECRETS = (KEY, SECRET, TOKEN)


def assert_hidden(text: str) -> None:
    for value in SECRETS:
        assert value not in text


def test_debug_logs_of_httpx_and_httpcore_never_show_credentials(connect, caplog):
    clock = ManualClock()
    sim = simulator(clock=clock, ceiling=1)

    async def session():
        async with connect(sim) as client:
            job = (await client.generate(MODEL, {"prompt": "a"}))["job"]
            for call in (lambda: client.generate(MODEL, {"prompt": "b"}),  # 429
                         lambda: client.get_job("job_missing")):  # 404
                try:
                    await call()
                except Exception:  # noqa: BLE001 - only the logs matter here
                    pass
            clock.advance(1000)
            asset_id = (await client.get_job(job["jobId"]))["metadata"]["assetIds"][0]
            async with client.download((await client.get_asset(asset_id))["url"]) as response:
                async for _ in response.aiter_bytes():
                    pass

    with caplog.at_level(logging.DEBUG):
        run(session)
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "httpcore" in logged or "httpx" in logged  # the debug logs were really captured
    assert_hidden(logged)
    assert "authorization" not in logged.lower()


def test_reprs_of_client_credentials_and_auth_hide_the_secrets():
    client = ScenarioClient("http://api.test/v1", KEY, SECRET)
    credentials = Credentials(KEY, SECRET)
    for shown in (repr(client), str(client), repr(credentials), str(credentials),
                  repr(BasicAuth(credentials)), repr(vars(client))):
        assert_hidden(shown)


def test_error_messages_never_contain_credentials_even_if_the_api_echoes_them():
    echo = httpx.MockTransport(lambda request: httpx.Response(
        400, json={"message": f"bad header {request.headers['authorization']} for {KEY}:{SECRET}"}))
    client = ScenarioClient("http://api.test/v1", KEY, SECRET, transport=echo)

    async def go():
        async with client:
            try:
                await client.get_job("job_1")
            except Exception as exc:  # noqa: BLE001
                return exc
    error = run(go)
    assert "[redacted]" in str(error)
    assert_hidden(str(error) + repr(error) + repr(error.args))


def test_missing_credentials_say_which_variable_to_set(monkeypatch):
    monkeypatch.delenv("SCENARIO_SDK_API_KEY", raising=False)
    monkeypatch.setenv("SCENARIO_SDK_API_SECRET", "s")
    try:
        ScenarioClient("http://api.test/v1")
    except UsageError as exc:
        assert "SCENARIO_SDK_API_KEY" in str(exc) and "SCENARIO_SDK_API_SECRET" not in str(exc)
    else:
        raise AssertionError("a client without a key was built")


def test_credentials_come_from_the_sdk_environment_variables(monkeypatch):
    monkeypatch.setenv("SCENARIO_SDK_API_KEY", KEY)
    monkeypatch.setenv("SCENARIO_SDK_API_SECRET", SECRET)
    seen = []
    transport = httpx.MockTransport(lambda r: seen.append(r.headers["authorization"])
                                    or httpx.Response(200, json={"job": {}}))

    async def go():
        async with ScenarioClient("http://api.test/v1", transport=transport) as client:
            await client.get_job("job_1")
    run(go)
    assert seen == [f"Basic {TOKEN}"]


def test_downloads_send_no_authorization_header():
    seen = []

    def cdn(request):
        seen.append(dict(request.headers))
        return httpx.Response(200, content=b"video")

    async def go():
        async with ScenarioClient("http://api.test/v1", KEY, SECRET,
                                  transport=httpx.MockTransport(cdn)) as client:
            async with client.download("https://cdn.other.test/a.mp4?sig=1") as response:
                return b"".join([c async for c in response.aiter_bytes()])
    assert run(go) == b"video"
    assert "authorization" not in {k.lower() for k in seen[0]}
