"""The simulated multipart `/uploads` flow refuses what the API would: a body without
the multipart fields, a part URL with a bad signature, completing with parts missing or
sizes that do not add up."""

from __future__ import annotations

from simkit import png, request, simulator


def _create(sim, **over):
    body = {"fileName": "f.png", "contentType": "image/png", "fileSize": 10, "kind": "image",
            "parts": 2, **over}
    return request(sim, "POST", "uploads", json=body)


def _put(sim, url: str, data: bytes):
    return request(sim, "PUT", url, content=data, auth=None)


def test_a_body_without_the_multipart_fields_is_refused():
    sim = simulator()
    for over in ({"fileName": ""}, {"kind": "picture"}, {"parts": 0}, {"fileSize": 1.5},
                 {"parts": 11}):
        answer = _create(sim, **over)
        assert answer.status_code == 400 and answer.json()["reason"], over


def test_parts_missing_or_sizes_off_are_refused_at_complete_and_a_bad_signature_at_put():
    sim = simulator()
    upload = _create(sim).json()["upload"]
    first, second = (p["url"] for p in upload["parts"])
    assert _put(sim, first.replace("sig=", "sig=0"), b"12345").status_code == 403
    assert _put(sim, first, b"12345").status_code == 200
    action = f"uploads/{upload['id']}/action"
    missing = request(sim, "POST", action, json={"action": "complete"})
    assert missing.status_code == 400 and "missing part(s) 2" in missing.json()["reason"]
    assert _put(sim, second, b"123").status_code == 200
    short = request(sim, "POST", action, json={"action": "complete"})
    assert short.status_code == 400 and "received 8 bytes" in short.json()["reason"]
    assert request(sim, "POST", action, json={"action": "finish"}).status_code == 400


def test_a_completed_upload_becomes_an_image_asset_on_the_next_look():
    sim = simulator()
    data = png(4, 4)
    upload = _create(sim, fileSize=len(data), parts=1).json()["upload"]
    assert _put(sim, upload["parts"][0]["url"], data).status_code == 200
    done = request(sim, "POST", f"uploads/{upload['id']}/action", json={"action": "complete"})
    assert done.json()["upload"]["status"] == "validating" and "parts" not in done.json()["upload"]
    seen = request(sim, "GET", f"uploads/{upload['id']}").json()["upload"]
    assert seen["status"] == "imported" and sim.assets[seen["entityId"]].data == data
