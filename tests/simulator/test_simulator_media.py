"""The simulator's videos are real H.264 MP4 files shaped and labelled like the job's
parameters: a browser plays one to the end, and shows what it says."""

from __future__ import annotations

import struct
import time

import httpx
import pytest

from batchgen.simulator import font, media
from batchgen.simulator.h264 import Picture
from batchgen.simulator.server import serve_in_thread
from browserkit import launch, needs_chromium
from simkit import KEY, MODEL, SECRET, simulator

PLAY = """() => new Promise(done => {
    const v = document.getElementById('v');
    v.onerror = () => done({error: v.error && v.error.code});
    v.onended = () => done({ended: true, width: v.videoWidth, height: v.videoHeight,
                            duration: v.duration});
    v.playbackRate = 4;
    v.play().catch(e => done({error: String(e)}));
    setTimeout(() => done({timeout: true, readyState: v.readyState}), 15000);
})"""


def boxes(data: bytes) -> list[bytes]:
    """The top-level box types of an MP4 file, in order."""
    kinds, at = [], 0
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        kinds.append(kind)
        at += size
    return kinds


@pytest.mark.parametrize("aspect, resolution, size", [
    ("16:9", "540p", (160, 90)), ("16:9", "1080p", (320, 180)), ("9:16", "720p", (120, 214)),
    ("1:1", "720p", (120, 120)), ("21:9", "1080p", (420, 180)), ("3:4", "540p", (90, 120)),
])
def test_a_clip_has_the_shape_of_its_aspect_ratio_at_a_sixth_of_its_resolution(aspect, resolution, size):
    assert media.frame_size({"aspectRatio": aspect, "resolution": resolution}) == size


def test_a_clip_is_a_faststart_mp4_ending_in_a_free_box_naming_the_job():
    data = media.video_for("job_a", 0, {"prompt": "a knight"})
    assert boxes(data) == [b"ftyp", b"moov", b"mdat", b"free"]  # moov first: plays while downloading
    assert data.endswith(b"job=job_a output=0")


def test_every_file_has_distinct_bytes_even_for_the_same_body():
    body = {"prompt": "a knight", "resolution": "540p"}
    files = {media.video_for(job, index, body) for job in ("job_a", "job_b") for index in (0, 1)}
    assert len(files) == 4


def test_different_prompts_and_parameters_make_different_pictures():
    def clip(**body):
        data = media.video_for("job", 0, {"prompt": "a knight", **body})
        return data[:data.rindex(b"free") - 4]

    base = clip()
    variants = [clip(prompt="a valley"), clip(hdr=True), clip(loop=True), clip(duration="10s"),
                clip(resolution="1080p"), clip(aspectRatio="9:16")]
    assert len({base, *variants}) == 7


def test_a_clip_lasts_its_duration():
    def frames(duration: str) -> int:
        data = media.video_for("job", 0, {"prompt": "p", "duration": duration})
        stsz = data.index(b"stsz")
        return struct.unpack(">I", data[stsz + 12:stsz + 16])[0]

    assert frames("5s") == 5 * media.FPS and frames("10s") == 10 * media.FPS


def test_odd_sizes_are_refused_by_the_encoder():
    with pytest.raises(ValueError, match="even size"):
        Picture(91, 50)


def test_long_labels_are_cut_to_fit():
    assert font.fit("A KNIGHT WALKS THROUGH FOG", 60) == "A KNIGHT.."
    assert font.text_width(font.fit("A KNIGHT WALKS THROUGH FOG", 60)) <= 60


@needs_chromium
def test_a_browser_plays_a_generated_video_to_the_end_at_its_size():
    from playwright.sync_api import sync_playwright

    sim = simulator(duration_range=(1, 1), time_scale=100)
    body = {"prompt": "a", "aspectRatio": "9:16", "resolution": "1080p"}
    with serve_in_thread(sim) as url, httpx.Client(base_url=url + "/", auth=(KEY, SECRET)) as api:
        job = api.post(f"generate/custom/{MODEL}", json=body).json()["job"]
        time.sleep(0.05)
        asset_id = api.get(f"jobs/{job['jobId']}").json()["job"]["metadata"]["assetIds"][0]
        asset = api.get(f"assets/{asset_id}").json()["asset"]
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page()
            page.set_content(f'<video id="v" muted src="{asset["url"]}"></video>')
            result = page.evaluate(PLAY)
            browser.close()
    assert result == {"ended": True, "width": 180, "height": 320, "duration": 5}
    assert (asset["properties"]["width"], asset["properties"]["height"]) == (180, 320)


@needs_chromium
def test_the_picture_shows_the_parameters_and_a_running_clock(tmp_path):
    """Decoded by chromium, the frame at 2.5 s has the info panel (white text on black)
    top left, and the clock's pixels differ from the first frame's."""
    from playwright.sync_api import sync_playwright

    path = tmp_path / "clip.mp4"
    path.write_bytes(media.video_for("job", 0, {"prompt": "a knight", "resolution": "1080p", "hdr": True}))
    grab = """t => new Promise(done => {
        const v = document.getElementById('v');
        const shot = () => { const c = document.createElement('canvas'); c.width = v.videoWidth;
            c.height = v.videoHeight; const g = c.getContext('2d'); g.drawImage(v, 0, 0);
            return Array.from(g.getImageData(0, 0, c.width, c.height).data); };
        const go = () => { v.onseeked = () => done(shot()); v.currentTime = t; };
        if (v.readyState >= 2) go(); else v.onloadeddata = go;
    })"""
    (tmp_path / "page.html").write_text('<video id="v" muted src="clip.mp4"></video>')
    with sync_playwright() as playwright:
        # Reading a file:// video's pixels from a file:// page needs this flag.
        browser = launch(playwright, "--allow-file-access-from-files")
        page = browser.new_page()
        page.goto((tmp_path / "page.html").as_uri())
        first, later = page.evaluate(grab, 0.0), page.evaluate(grab, 2.5)
        browser.close()
    width = 320

    def pixel(data, x, y):
        return data[(y * width + x) * 4: (y * width + x) * 4 + 3]

    panel = [pixel(first, x, y) for x in range(2, 60) for y in range(2, 24)]
    assert any(min(p) > 200 for p in panel) and any(max(p) < 40 for p in panel)  # text on black
    clock = [(x, y) for x in range(0, 60) for y in range(150, 166)]
    assert any(pixel(first, x, y) != pixel(later, x, y) for x, y in clock)
    assert pixel(first, 10, 100) == pixel(later, 10, 100)  # the background does not change
