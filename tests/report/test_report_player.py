"""Looking at the videos in real chromium: a card enlarged with its transport (play,
pause, scrub, frame step, speed, zoom), Sync across every card on screen, two cards
compared side by side, by wipe and by flip, and the card-size control."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from batchgen.simulator.media import FPS
from browserkit import needs_chromium

pytestmark = needs_chromium
FRAME = 1 / FPS


def player_times(page) -> list[float]:
    return page.eval_on_selector_all("#player video", "vs => vs.map(v => v.currentTime)")


def wait_playing(page, selector="#player .transport"):
    page.wait_for_selector(f"{selector}[data-playing=true]")


def open_first_card(page):
    page.locator(".slot").first.click()
    page.wait_for_selector("#player[open] video")
    wait_playing(page)


def test_clicking_a_card_enlarges_it_at_native_size_and_it_plays(page):
    open_first_card(page)
    size = page.locator("#player video").evaluate(
        "v => new Promise(done => { const check = () => v.videoWidth ? done([v.videoWidth, v.videoHeight, "
        "v.clientWidth, v.clientHeight]) : setTimeout(check, 20); check(); })")
    assert size[:2] == [160, 90]  # the 540p clip: a sixth of 960x540
    assert size[2:] == size[:2]
    start = player_times(page)[0]
    page.wait_for_timeout(600)
    assert player_times(page)[0] > start + 0.3
    key = page.locator("figure.job").first.get_attribute("data-key")
    assert f"open={key}" in page.evaluate("location.hash")


def test_pause_holds_the_frame_and_play_resumes(page):
    open_first_card(page)
    page.click("#player .transport .play")
    page.wait_for_selector("#player .transport[data-playing=false]")
    held = player_times(page)[0]
    page.wait_for_timeout(400)
    assert player_times(page)[0] == held
    assert page.locator("#player video").evaluate("v => v.paused")
    page.keyboard.press(" ")  # space plays again
    wait_playing(page)
    page.wait_for_timeout(400)
    assert player_times(page)[0] > held + 0.2


def frame_shown(page) -> int:
    return page.locator("#player video").evaluate("v => Math.floor(v.currentTime * %d + 1e-3)" % FPS)


def test_frame_step_moves_exactly_one_frame_each_way(page):
    open_first_card(page)
    page.click("#player .transport .play")
    page.wait_for_selector("#player .transport[data-playing=false]")
    page.wait_for_function("() => !document.querySelector('#player video').seeking")
    before = frame_shown(page)
    page.click("#player .frame-on")
    page.wait_for_function("() => !document.querySelector('#player video').seeking")
    assert frame_shown(page) == before + 1
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => !document.querySelector('#player video').seeking")
    assert frame_shown(page) == before + 3
    page.click("#player .frame-back")
    page.wait_for_function("() => !document.querySelector('#player video').seeking")
    assert frame_shown(page) == before + 2
    assert "frame %d" % (before + 2) in page.locator("#player .clock").inner_text()


def test_scrubbing_moves_the_video(page):
    open_first_card(page)
    page.locator("#player .scrub").evaluate("""s => { s.dispatchEvent(new PointerEvent('pointerdown'));
        s.value = '3.5'; s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }""")
    page.wait_for_timeout(100)
    assert abs(player_times(page)[0] - 3.5) < 0.3


def test_speed_changes_the_playback_rate(page):
    open_first_card(page)
    for speed in ("0.25", "2"):
        page.select_option("#player .speed", speed)
        assert page.locator("#player video").evaluate("v => v.playbackRate") == pytest.approx(float(speed), rel=0.31)
    first = player_times(page)[0]
    page.wait_for_timeout(1000)
    advanced = (player_times(page)[0] - first) % 5
    assert 1.4 < advanced < 2.6, advanced
    options = page.locator("#player .speed option").all_inner_texts()
    assert options[0] == "0.25x" and options[-1] == "2x"


def test_zoom_doubles_the_native_size(page):
    open_first_card(page)
    page.select_option("#player .zoom", "2")
    assert page.locator("#player video").evaluate("v => v.clientWidth") == 320


def test_escape_closes_the_player_and_stops_its_video(page):
    open_first_card(page)
    page.keyboard.press("Escape")
    assert page.locator("#player").evaluate("d => d.open") is False
    assert page.locator("#player video").count() == 0
    assert "open=" not in page.evaluate("location.hash")


def test_sync_plays_every_card_on_screen_in_lockstep_within_a_frame(page):
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.locator("#size").evaluate("s => { s.value = '120'; s.dispatchEvent(new Event('input')); }")
    page.check("#sync")
    wait_playing(page, "#sync-transport .transport")
    page.wait_for_timeout(2000)
    times = page.eval_on_selector_all(".slot video", "vs => vs.map(v => v.currentTime)")
    assert len(times) == 22  # every succeeded card is on screen and in the group
    assert min(times) > 1.5
    assert max(times) - min(times) < FRAME, times
    # One scrubber moves them all.
    page.locator("#sync-transport .scrub").evaluate("""s => { s.value = '1'; s.dispatchEvent(new Event('input')); }""")
    times = page.eval_on_selector_all(".slot video", "vs => vs.map(v => [v.paused, v.currentTime])")
    assert all(paused and abs(t - 1) < 0.01 for paused, t in times), times
    page.uncheck("#sync")
    page.wait_for_timeout(300)
    assert not page.locator(".slot video").first.evaluate("v => v.paused")  # free play again


def test_a_card_scrolled_into_view_joins_the_sync(page):
    page.set_viewport_size({"width": 1400, "height": 500})
    page.check("#sync")
    wait_playing(page, "#sync-transport .transport")
    last = page.locator(".slot").last
    last.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    times = page.eval_on_selector_all(".slot video", """vs => vs.filter(v => {
        const r = v.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight && !v.paused; })
        .map(v => v.currentTime)""")
    assert len(times) >= 2
    assert max(times) - min(times) < FRAME, times


def pick_and_compare(page, first=0, second=4):
    page.locator(".pick").nth(first).click()
    page.locator(".pick").nth(second).click()
    page.wait_for_selector("#player[open] .stage.compare")
    wait_playing(page)


def test_two_picked_cards_open_side_by_side_at_native_size_with_the_difference_highlighted(page):
    pick_and_compare(page)  # 540p #1 and 1080p #2 of the same row
    sizes = page.eval_on_selector_all("#player video", """vs => Promise.all(vs.map(v => new Promise(done => {
        const check = () => v.videoWidth ? done([v.videoWidth, v.clientWidth]) : setTimeout(check, 20);
        check(); })))""")
    assert sizes == [[160, 160], [320, 320]]
    assert page.locator("#player .fact.differs").all_inner_texts() == ["resolution=540p", "resolution=1080p"]
    page.wait_for_timeout(1000)
    a, b = player_times(page)
    assert abs(a - b) < FRAME


def element_at(page, fraction: float) -> str | None:
    """Which compared video (its key) is on top at `fraction` of the stage's width."""
    return page.locator("#player .stage").evaluate("""(stage, f) => {
        const r = stage.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width * f, r.top + r.height / 2);
        return hit && hit.tagName === 'VIDEO' ? hit.dataset.key : null; }""", fraction)


def test_wipe_shows_a_left_of_the_slider_and_b_right_of_it(page):
    pick_and_compare(page)
    keys = page.eval_on_selector_all("#player video", "vs => vs.map(v => v.dataset.key)")
    page.click("#player .mode[data-mode=wipe]")
    box = page.locator("#player .stage").bounding_box()
    assert box["width"] == 320 and box["height"] == 180  # the larger clip's native size
    for at in (30, 70):
        page.locator("#player .wipe").evaluate("(s, v) => { s.value = String(v); s.dispatchEvent(new Event('input')); }", at)
        assert element_at(page, at / 100 - 0.05) == keys[0]
        assert element_at(page, at / 100 + 0.05) == keys[1]
    assert "mode=wipe" in page.evaluate("location.hash")
    page.screenshot(path="/tmp/report-wipe.png")


def test_flip_shows_one_video_at_a_time_in_the_same_place(page):
    pick_and_compare(page)
    keys = page.eval_on_selector_all("#player video", "vs => vs.map(v => v.dataset.key)")
    page.click("#player .mode[data-mode=flip]")
    assert element_at(page, 0.5) == keys[0]
    page.keyboard.press("f")
    assert element_at(page, 0.5) == keys[1]
    assert page.locator("#player .showing").inner_text() == "showing B"
    page.click("#player .flip")
    assert element_at(page, 0.5) == keys[0]


def test_closing_the_compare_unpicks_the_cards(page):
    pick_and_compare(page)
    page.click("#player .close")
    # Waits for the page's handler: count() reads at once, and under load it read first.
    expect(page.locator(".pick[aria-pressed=true]")).to_have_count(0)


def test_card_size_control_resizes_every_card(page):
    widths = lambda: set(page.eval_on_selector_all("figure.job", "fs => fs.map(f => f.offsetWidth)"))  # noqa: E731
    assert widths() == {220}
    page.locator("#size").evaluate("s => { s.value = '360'; s.dispatchEvent(new Event('input')); }")
    assert widths() == {360}
    assert "size=360" in page.evaluate("location.hash")


def test_screenshots_of_the_player(page):
    open_first_card(page)
    page.select_option("#player .zoom", "2")
    page.wait_for_timeout(300)
    page.screenshot(path="/tmp/report-enlarged.png")
    page.keyboard.press("Escape")
    pick_and_compare(page)
    page.screenshot(path="/tmp/report-compare.png")
