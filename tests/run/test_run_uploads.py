"""Frames: small ones inline (`POST /assets`), larger than 100 KB by the multipart
`/uploads` flow (create, PUT each part, complete, the upload polled until its asset
exists), as scenario-sdk 2.4.0 shapes it. An upload that fails for good fails only the
jobs using that frame, with the API's words, and nothing is generated for them."""

from __future__ import annotations

import json
import os
import struct
import zlib

import httpx
import pytest

import sdkcontract
from batchgen.api import uploads as api_uploads
from batchgen.api import ScenarioClient
from runkit import (FAST_RETRY, KEY, SECRET, events, framed, generate_calls, make_batch,
                    make_job, run, simulator)
from simkit import png


def big_png(side: int = 220) -> bytes:
    """A valid PNG of random pixels: about 3 x side^2 bytes, since noise does not compress."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + os.urandom(3 * side) for _ in range(side))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Refusing(httpx.AsyncBaseTransport):
    """The simulator in process, but requests `refuse(request)` picks answer `answer`."""

    def __init__(self, sim, refuse, status: int, body: dict):
        self.inner = httpx.ASGITransport(sim.app)
        self.refuse, self.status, self.body = refuse, status, body
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.refuse(request):
            self.refused += 1
            return httpx.Response(self.status, json=self.body)
        return await self.inner.handle_async_request(request)


def _client(transport) -> ScenarioClient:
    return ScenarioClient("http://simulator.test/v1", KEY, SECRET, retry=FAST_RETRY,
                          transport=transport)


def _routes(sim) -> list[tuple[str, str]]:
    return [(r.method, r.path.split("/upload_")[0] if "/upload-parts/" in r.path else r.path)
            for r in sim.requests]


def _batch(tmp_path, big: bytes, small: bytes):
    large, little = framed(tmp_path, big, "large.png"), framed(tmp_path, small, "small.png")
    jobs = [make_job(f"a lighthouse, take {i}", frames={"startFrame": large}) for i in range(2)]
    jobs += [make_job("a small boat", frames={"startFrame": little}), make_job("open sea")]
    return make_batch(tmp_path, jobs), jobs


def test_a_large_frame_goes_multipart_and_a_small_one_inline(tmp_path):
    sim = simulator()
    big = big_png()
    assert len(big) > api_uploads.INLINE_UPLOAD_LIMIT
    batch, jobs = _batch(tmp_path, big, png(8, 8))
    summary = run(batch, _client(httpx.ASGITransport(sim.app)))
    assert summary.exit_code == 0 and summary.uploaded == 2
    routes = _routes(sim)
    assert routes.count(("POST", "/v1/uploads")) == 1 and routes.count(("POST", "/v1/assets")) == 1
    assert ("PUT", "/upload-parts") in [(m, p.rstrip("/")) for m, p in routes]
    [create] = [r for r in sim.requests if r.path == "/v1/uploads"]
    assert create.body == {"fileName": "large.png", "contentType": "image/png",
                           "fileSize": len(big), "kind": "image", "parts": 1}
    assert any(r.path.endswith("/action") and r.body == {"action": "complete"} for r in sim.requests)
    assert sdkcontract.check_all(sim.requests) == []
    uploaded = {e["path"]: e["assetId"] for e in events(batch, "upload")}
    assert sim.assets[uploaded["large.png"]].data == big
    parts = [r for r in sim.requests if "/upload-parts/" in r.path]
    assert all("authorization" not in r.headers for r in parts)  # a signed URL, no credentials


def test_a_frame_of_several_parts_arrives_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(api_uploads, "UPLOAD_PART_SIZE", 40_000)
    sim = simulator()
    big = big_png(230)  # ~159 KB: 4 parts
    batch, _ = _batch(tmp_path, big, png(8, 8))
    assert run(batch, _client(httpx.ASGITransport(sim.app))).exit_code == 0
    [create] = [r for r in sim.requests if r.path == "/v1/uploads"]
    assert create.body["parts"] == 4
    assert sum("/upload-parts/" in r.path for r in sim.requests) == 4
    uploaded = {e["path"]: e["assetId"] for e in events(batch, "upload")}
    assert sim.assets[uploaded["large.png"]].data == big


@pytest.mark.parametrize("status, where", [(500, "POST /v1/uploads"), (400, "action"),
                                           (503, "PUT")], ids=["5xx-create", "400-complete",
                                                               "5xx-part"])
def test_an_upload_failing_for_good_fails_only_the_jobs_using_that_frame(tmp_path, status, where):
    sim = simulator()
    reason = "Upload storage is unavailable" if status != 400 else "The file is corrupt"

    def refuse(request):
        path = request.url.path
        return ((where == "PUT" and request.method == "PUT")
                or (where == "action" and path.endswith("/action"))
                or (where == "POST /v1/uploads" and request.method == "POST" and path == "/v1/uploads"))
    transport = Refusing(sim, refuse, status, {"reason": reason, "traceId": "trace-up"})
    batch, jobs = _batch(tmp_path, big_png(), png(8, 8))
    summary = run(batch, _client(transport), concurrency=4)

    assert summary.exit_code == 1
    failed = {e["key"]: e for e in events(batch, "failed")}
    assert set(failed) == {jobs[0].key, jobs[1].key}  # the two jobs of the large frame only
    for event in failed.values():
        assert event["error"].startswith("the upload of large.png failed: ")
        assert f"{reason} (trace id trace-up)" in event["error"]
    # Nothing generated for them; the other two ran.
    assert generate_calls(sim) == 2 and summary.counts["succeeded"] == 2
    submitted = {json.dumps(r.body, sort_keys=True) for r in sim.requests if "/generate/" in r.path}
    assert not any("lighthouse" in body for body in submitted)
    # The frame was tried once for the run (with the client's retries), not once per job.
    retries = FAST_RETRY.attempts if status >= 500 else 1
    assert transport.refused == retries


def test_an_image_the_api_cannot_validate_fails_its_jobs_with_the_apis_words(tmp_path):
    sim = simulator()
    junk = b"GIF89a" + os.urandom(150_000)
    batch, jobs = _batch(tmp_path, junk, png(8, 8))
    summary = run(batch, _client(httpx.ASGITransport(sim.app)))
    failed = {e["key"]: e for e in events(batch, "failed")}
    assert set(failed) == {jobs[0].key, jobs[1].key} and summary.counts["succeeded"] == 2
    assert "Unsupported image: send a PNG, JPEG or WebP file" in failed[jobs[0].key]["error"]


def test_a_403_on_a_multipart_upload_stops_the_batch_with_the_apis_words(tmp_path):
    sim = simulator()
    transport = Refusing(sim, lambda r: r.method == "POST" and r.url.path == "/v1/uploads", 403,
                         {"reason": "This key may not upload assets", "traceId": "trace-403"})
    batch, jobs = _batch(tmp_path, big_png(), png(8, 8))
    summary = run(batch, _client(transport), concurrency=1)
    assert summary.exit_code == 3
    assert "This key may not upload assets (trace id trace-403)" in summary.access_denied
    assert not any(e["event"] == "failed" for e in events(batch))  # a refusal is no job's fault
    assert events(batch)[-1]["event"] == "end"
