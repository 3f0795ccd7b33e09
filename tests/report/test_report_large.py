"""A 1,000-job report stays usable: it opens, refilters, re-lays its grid, records a
choice and opens a card each in under 2 s in real Chromium."""

from __future__ import annotations

import hashlib
import time

from batchgen.report import write_report
from batchgen.simulator.media import video_for
from browserkit import needs_chromium, open_report

pytestmark = needs_chromium

AXES = {"resolution": ["540p", "720p", "1080p", "4k"], "style": ["noir", "watercolor", "clay", "ink", "neon"]}
PROMPTS = 25  # x 4 x 5 x 2 samples = 1,000 jobs
LIMIT = 2.0


def thousand_jobs(output) -> list[dict]:
    # A handful of real clips, each job its own file (the page names 1,000 distinct videos).
    clips = {res: video_for(f"job_{res}", body={"prompt": f"a fox, {res}", "resolution": res})
             for res in AXES["resolution"]}
    records = []
    for p in range(PROMPTS):
        for res in AXES["resolution"]:
            for style in AXES["style"]:
                for sample in (1, 2):
                    n = len(records)
                    relative = f"p{p:02d}/{res}-{style}-{sample}.mp4"
                    (output / relative).parent.mkdir(parents=True, exist_ok=True)
                    (output / relative).write_bytes(clips[res])
                    records.append({
                        "key": hashlib.sha256(f"{p}{res}{style}{sample}".encode()).hexdigest()[:16],
                        "id": f"p{p:02d}", "sample": sample,
                        "prompt": f"Prompt {p}: a fox crosses a field, {style}",
                        "params": {"duration": "5s", "aspectRatio": "16:9", "resolution": res},
                        "variables": {"style": style}, "state": "succeeded", "jobId": f"job_{n:04d}",
                        "files": [{"path": relative, "sha256": hashlib.sha256(clips[res]).hexdigest(),
                                   "bytes": len(clips[res])}],
                        "error": None, "cost": 10, "submittedAt": "2026-11-27T10:00:00Z",
                        "finishedAt": "2026-11-27T10:00:30Z"})
    return records


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def test_a_thousand_job_report_opens_filters_relays_judges_and_enlarges_in_under_two_seconds(browser, tmp_path):
    records = thousand_jobs(tmp_path)
    url = write_report(records, AXES, "big", tmp_path / "report.html", base_dir=tmp_path).as_uri()
    page, errors = open_report(browser, url)
    assert page.locator("figure.job").count() == 1000
    # From navigation start until the first frame after the page is ready is on screen
    # (the tab's own start-up is the test's, not the page's).
    painted = int(page.wait_for_selector("body[data-painted-at]").get_attribute("data-painted-at"))
    print(f"1,000 jobs: usable {painted} ms after navigation")
    assert painted / 1000 < LIMIT, f"opening took {painted / 1000:.2f} s"

    def uncheck():
        page.locator("fieldset[data-axis=resolution] label", has_text="4k").locator("input").uncheck()
        page.wait_for_function("() => document.querySelectorAll('figure.job').length === 750")
    assert (took := timed(uncheck)) < LIMIT, f"a filter took {took:.2f} s"

    def relay():
        page.select_option("#across", "style")
        page.wait_for_function("() => document.querySelectorAll('thead th.col').length === 5")
    assert (took := timed(relay)) < LIMIT, f"changing the axis took {took:.2f} s"

    def judge():
        page.locator("figure.job").first.locator(".winner").click()
        page.wait_for_selector("#winrates .rate")
    assert (took := timed(judge)) < LIMIT, f"choosing a winner took {took:.2f} s"
    assert "resolution=540p preferred in 1 of 1 row" in page.locator("#winrates .rate").all_inner_texts()

    def enlarge():
        page.locator(".slot").first.click()
        page.wait_for_selector("#player[open] video")
    assert (took := timed(enlarge)) < LIMIT, f"enlarging a card took {took:.2f} s"
    # Only the videos near the screen are made, so 1,000 cards do not mean 1,000 decoders.
    assert page.locator("figure.job .slot video").count() < 100
    page.close()
    assert errors == []
