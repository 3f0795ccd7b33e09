"""The simulator's videos are real MP4 files: a browser plays one to the end."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from batchgen.simulator import media
from batchgen.simulator.server import serve_in_thread
from simkit import KEY, MODEL, SECRET, simulator

CHROMIUM = "/usr/bin/chromium"
PLAY = """() => new Promise(done => {
    const v = document.getElementById('v');
    v.onerror = () => done({error: v.error && v.error.code});
    v.onended = () => done({ended: true, width: v.videoWidth, height: v.videoHeight});
    v.play().catch(e => done({error: String(e)}));
    setTimeout(() => done({timeout: true, readyState: v.readyState}), 10000);
})"""


def test_the_shipped_clip_is_a_small_faststart_mp4():
    clip = media.base_clip()
    assert len(clip) < 20_000 and clip[4:8] == b"ftyp"
    assert clip.index(b"moov") < clip.index(b"mdat")  # playable while it downloads


def test_videos_differ_per_job_only_by_a_trailing_free_box():
    a, b = media.video_for("job_a"), media.video_for("job_b")
    clip = media.base_clip()
    assert a != b and a.startswith(clip) and b.startswith(clip)
    assert a[len(clip) + 4:len(clip) + 8] == b"free"


@pytest.mark.skipif(not os.path.exists(CHROMIUM),
                    reason=f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")
def test_a_browser_plays_a_generated_video_to_the_end():
    from playwright.sync_api import sync_playwright

    sim = simulator(duration_range=(1, 1), time_scale=100)
    with serve_in_thread(sim) as url, httpx.Client(base_url=url + "/", auth=(KEY, SECRET)) as api:
        job = api.post(f"generate/custom/{MODEL}", json={"prompt": "a"}).json()["job"]
        time.sleep(0.05)
        asset_id = api.get(f"jobs/{job['jobId']}").json()["job"]["metadata"]["assetIds"][0]
        video_url = api.get(f"assets/{asset_id}").json()["asset"]["url"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.set_content(f'<video id="v" muted src="{video_url}"></video>')
            result = page.evaluate(PLAY)
            browser.close()
    assert result == {"ended": True, "width": media.CLIP_WIDTH, "height": media.CLIP_HEIGHT}
