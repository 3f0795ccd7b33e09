"""The simulator's assets: videos, uploads, bulk reads and signed URLs that expire."""

from __future__ import annotations

import base64
import hashlib
import struct

from simkit import ManualClock, png, request, simulator, submit


def finished_job(**knobs):
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(10, 10), ceiling=100, **knobs)
    job = submit(sim)
    clock.advance(10)
    asset_ids = request(sim, "GET", f"jobs/{job['jobId']}").json()["job"]["metadata"]["assetIds"]
    return sim, clock, job["jobId"], asset_ids[0]


def get_asset(sim, asset_id):
    return request(sim, "GET", f"assets/{asset_id}").json()["asset"]


def download(sim, url):
    return request(sim, "GET", url, auth=None)


def boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of each top-level MP4 box."""
    out, i = [], 0
    while i < len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        assert size >= 8, "a box is at least its header"
        out.append((kind, data[i + 8:i + size]))
        i += size
    assert i == len(data)
    return out


def test_a_video_asset_is_a_complete_mp4_marked_with_its_job():
    sim, _, job_id, asset_id = finished_job()
    asset = get_asset(sim, asset_id)
    assert asset["kind"] == "video" and asset["mimeType"] == "video/mp4" and asset["status"] == "success"
    body = download(sim, asset["url"])
    assert body.status_code == 200 and body.headers["content-type"] == "video/mp4"
    parsed = boxes(body.content)
    assert [k for k, _ in parsed][:2] == [b"ftyp", b"moov"] and b"mdat" in [k for k, _ in parsed]
    assert parsed[-1][0] == b"free" and job_id.encode() in parsed[-1][1]
    assert asset["properties"]["size"] == len(body.content)


def test_every_job_gets_different_video_bytes():
    digests = set()
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(10, 10), ceiling=100)
    ids = [submit(sim)["jobId"] for _ in range(3)]
    clock.advance(10)
    for job_id in ids:
        asset_id = request(sim, "GET", f"jobs/{job_id}").json()["job"]["metadata"]["assetIds"][0]
        digests.add(hashlib.sha256(download(sim, get_asset(sim, asset_id)["url"]).content).digest())
    assert len(digests) == 3


def test_an_asset_does_not_exist_before_its_job_succeeds():
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(10, 10))
    job = submit(sim)
    asset_id = sim.jobs[job["jobId"]].asset_ids[0]
    assert request(sim, "GET", f"assets/{asset_id}").status_code == 404


def test_signed_urls_expire_after_url_lifetime():
    sim, clock, _, asset_id = finished_job(url_lifetime=60)
    url = get_asset(sim, asset_id)["url"]
    clock.advance(59)
    assert download(sim, url).status_code == 200
    clock.advance(2)
    expired = download(sim, url)
    assert expired.status_code == 403 and b"expired" in expired.content
    assert download(sim, get_asset(sim, asset_id)["url"]).status_code == 200


def test_url_lifetime_is_in_simulated_seconds():
    sim, clock, _, asset_id = finished_job(url_lifetime=60, time_scale=10)
    url = get_asset(sim, asset_id)["url"]
    clock.advance(6.5)
    assert download(sim, url).status_code == 403


def test_a_tampered_signature_is_refused():
    sim, _, _, asset_id = finished_job()
    url = get_asset(sim, asset_id)["url"]
    assert download(sim, url[:-1] + ("0" if url[-1] != "0" else "1")).status_code == 403


def test_the_cdn_needs_no_credentials_and_the_first_download_is_timed():
    sim, clock, _, asset_id = finished_job()
    clock.advance(3)
    assert download(sim, get_asset(sim, asset_id)["url"]).status_code == 200
    (timing,) = sim.timings()
    assert timing.first_download - timing.finished == 3


def test_get_bulk_returns_the_assets_asked_for():
    sim, _, _, asset_id = finished_job()
    answer = request(sim, "POST", "assets/get-bulk", json={"assetIds": [asset_id, "asset_unknown"]})
    assert [a["id"] for a in answer.json()["assets"]] == [asset_id]


def test_get_bulk_refuses_more_than_200_ids():
    sim, _, _, asset_id = finished_job()
    answer = request(sim, "POST", "assets/get-bulk", json={"assetIds": [asset_id] * 201})
    assert answer.status_code == 400 and "200" in answer.json()["reason"]


def test_an_uploaded_image_becomes_an_image_asset_with_its_size():
    sim = simulator()
    image = png(3, 2)
    answer = request(sim, "POST", "assets", json={"image": base64.b64encode(image).decode(), "name": "a.png"})
    asset = answer.json()["asset"]
    assert answer.status_code == 200 and asset["id"].startswith("asset_")
    assert asset["kind"] == "image" and asset["mimeType"] == "image/png"
    assert asset["properties"] == {"size": len(image), "width": 3, "height": 2}
    assert download(sim, asset["url"]).content == image


def test_an_upload_that_is_not_an_image_is_refused():
    sim = simulator()
    not_base64 = request(sim, "POST", "assets", json={"image": "%%%", "name": "a.png"})
    not_image = request(sim, "POST", "assets", json={"image": base64.b64encode(b"hello").decode(),
                                                     "name": "a.png"})
    no_name = request(sim, "POST", "assets", json={"image": base64.b64encode(png()).decode()})
    assert [r.status_code for r in (not_base64, not_image, no_name)] == [400, 400, 400]
    assert sim.assets == {}
