"""The report in a real browser: Playwright driving Debian's chromium.

The report of a finished sweep (real small MP4 files on disk) is opened from file://.
CI installs chromium (`apt-get install chromium`); without it these tests skip.
"""

from __future__ import annotations

import pytest

from batchgen.report import write_report
from browserkit import needs_chromium
from report_sweep import make_sweep

pytestmark = needs_chromium


def shown_keys(page) -> set[str]:
    return set(page.eval_on_selector_all("figure.job", "els => els.map(e => e.dataset.key)"))


def column_titles(page) -> list[str]:
    """Each column's title, without the cost line under it."""
    return page.eval_on_selector_all("thead th.col", """els => els.map(e => Array.from(e.childNodes)
        .filter(n => !(n.classList && n.classList.contains('col-cost'))).map(n => n.textContent).join(''))""")


def test_every_video_loads_its_file_once_scrolled_into_view(page):
    slots = page.locator(".slot")
    assert slots.count() == 22  # 24 jobs, one failed, one running
    for i in range(slots.count()):
        slot = slots.nth(i)
        slot.scroll_into_view_if_needed()
        state = slot.evaluate("""slot => new Promise(done => {
            const check = () => {
                const v = slot.querySelector('video');
                if (v && (v.readyState >= 1 || v.error)) done({ready: v.readyState,
                    error: v.error && v.error.code, src: v.currentSrc, want: slot.dataset.src});
                else setTimeout(check, 20);
            };
            check(); })""")
        assert state["error"] is None and state["ready"] >= 1, state
        assert state["src"].endswith("/" + state["want"])


def test_videos_are_made_only_near_the_screen(browser, report_url):
    page = browser.new_page(viewport={"width": 1400, "height": 400})
    page.goto(report_url)
    page.wait_for_selector("body[data-ready=true]")
    slots = page.locator(".slot")
    page.wait_for_function("slot => slot.querySelector('video')", arg=slots.first.element_handle())
    assert slots.last.locator("video").count() == 0
    slots.last.scroll_into_view_if_needed()
    page.wait_for_function("slot => slot.querySelector('video')", arg=slots.last.element_handle())
    page.close()


def test_videos_are_muted_looping_and_inline(page):
    page.wait_for_selector(".slot video")
    flags = page.locator(".slot video").first.evaluate("v => [v.muted, v.loop, v.playsInline]")
    assert flags == [True, True, True]


def test_columns_are_the_values_of_the_first_axis_by_default(page):
    assert column_titles(page) == ["resolution = 540p", "resolution = 720p", "resolution = 1080p"]
    assert page.locator("tbody tr").count() == 4  # 2 prompts x 2 styles


def test_samples_of_one_cell_sit_together(page):
    first_cell = page.locator("tbody tr").first.locator("td.cell").first
    assert first_cell.locator("figure.job").count() == 2


def test_choosing_the_axis_across_relays_the_grid(page):
    page.select_option("#across", "style")
    assert column_titles(page) == ["style = noir", "style = watercolor"]
    assert page.locator("tbody tr").count() == 6  # 2 prompts x 3 resolutions
    assert len(shown_keys(page)) == 24


def test_unchecking_a_value_hides_its_jobs_and_column(page):
    page.locator("fieldset[data-axis=resolution] label", has_text="1080p").locator("input").uncheck()
    assert column_titles(page) == ["resolution = 540p", "resolution = 720p"]
    assert len(shown_keys(page)) == 16


def test_filters_combine(page):
    page.locator("fieldset[data-axis=resolution] label", has_text="1080p").locator("input").uncheck()
    page.locator("fieldset[data-axis=style] label", has_text="noir").locator("input").uncheck()
    assert len(shown_keys(page)) == 8
    assert page.locator(".chip", has_text="noir").count() == 0


def test_filtering_everything_out_says_so(page):
    for value in ("540p", "720p", "1080p"):
        page.locator("fieldset[data-axis=resolution] label", has_text=value).locator("input").uncheck()
    assert page.locator("#empty").is_visible()
    assert shown_keys(page) == set()


def test_rows_keep_prompt_and_sweep_order_when_jobs_arrive_interleaved(browser, tmp_path):
    records, axes, name = make_sweep(tmp_path)
    shuffled = records[:1] + records[:0:-1]  # merged shards come in any order
    page = browser.new_page()
    page.goto(write_report(shuffled, axes, name, tmp_path / "r.html", base_dir=tmp_path).as_uri())
    page.wait_for_selector("body[data-ready=true]")
    heads = page.locator("th.rowhead").evaluate_all(
        "ths => ths.map(th => th.querySelector('.prompt-id').textContent + ' ' + th.querySelector('.chip').textContent)")
    assert heads == ["knight style: noir", "knight style: watercolor", "valley style: noir", "valley style: watercolor"]
    samples = page.locator("tbody tr").first.locator("td.cell").first.locator("figcaption .facts")
    assert [t.split()[1] for t in samples.all_inner_texts()] == ["#1", "#2"]
    page.close()


def test_failed_job_shows_its_state_and_error_in_place(page):
    failed = page.locator("figure.state-failed")
    assert failed.count() == 1
    assert failed.locator(".placeholder").inner_text().startswith("FAILED")
    assert "content policy" in failed.inner_text()
    assert failed.locator(".slot").count() == 0


def test_running_job_shows_its_state(page):
    running = page.locator("figure.state-running")
    assert running.locator(".placeholder .state").text_content() == "running"


def test_card_shows_cost_generation_time_job_id_and_params(page):
    text = page.locator("figure.job").first.inner_text()
    for expected in ("#1", "8 CU", "11 s", "job_0001"):
        assert expected in text


def test_cards_do_not_repeat_what_the_column_row_or_header_says(page):
    card = page.locator("figure.job").first
    assert card.locator(".params").count() == 0  # resolution is the column, style the row chip
    assert page.locator("#common").inner_text() == "Every job: duration=5s · aspectRatio=16:9"
    page.select_option("#across", "")
    assert page.locator(".chip", has_text="resolution: 540p").count() > 0


def test_play_row_in_sync_restarts_every_video_of_the_row_together(page):
    row = page.locator("tbody tr").nth(1)
    row.locator("button.sync").click()
    page.wait_for_function("row => row.dataset.sync === 'playing'", arg=row.element_handle())
    times = row.locator(".slot video").evaluate_all("vs => vs.map(v => [v.paused, v.currentTime])")
    assert len(times) == 6
    assert all(not paused for paused, _ in times)
    positions = [t for _, t in times]
    assert max(positions) < 1.0 and max(positions) - min(positions) < 0.3


def test_page_makes_no_request_but_for_its_own_files(browser, report_url):
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report_url)
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_timeout(300)
    page.close()
    assert requested and all(url.startswith("file://") for url in requested), requested


def test_prompt_markup_is_shown_as_text_and_never_runs(browser, tmp_path):
    hostile = '</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
    record = {"key": "k", "id": hostile, "sample": 1, "prompt": hostile, "params": {"style": hostile},
              "state": "failed", "jobId": None, "files": [], "error": hostile}
    url = write_report([record], {}, hostile, tmp_path / "report.html", base_dir=tmp_path).as_uri()
    page = browser.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("window.pwned") is None
    assert page.locator("img").count() == 0
    assert page.locator(".prompt").inner_text() == hostile
    assert page.locator("#title").inner_text() == hostile
    page.close()


def test_batch_without_a_sweep_shows_one_column(browser, tmp_path):
    records = [{"key": f"k{n}", "id": f"prompt-{n}", "sample": 1, "prompt": f"Prompt {n}",
                "params": {"duration": "5s"}, "state": "pending", "jobId": None, "files": [],
                "error": None} for n in (1, 2)]
    page = browser.new_page()
    page.goto(write_report(records, {}, "plain", tmp_path / "r.html", base_dir=tmp_path).as_uri())
    page.wait_for_selector("body[data-ready=true]")
    assert column_titles(page) == ["all jobs"]
    assert page.locator("tbody tr").count() == 2
    assert page.locator("#across option").all_text_contents() == ["(nothing: one column)"]
    page.close()


def test_batch_without_jobs_says_so(browser, tmp_path):
    page = browser.new_page()
    page.goto(write_report([], {}, "empty", tmp_path / "r.html", base_dir=tmp_path).as_uri())
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#empty").inner_text() == "This batch has no jobs yet."
    page.close()


def test_screenshot_of_the_report(page, tmp_path):
    # A function, not an expression: Playwright evaluates a string while it polls, which
    # the report's CSP refuses (the test then failed whenever the videos loaded late).
    page.wait_for_function("() => Array.from(document.querySelectorAll('.slot')).slice(0, 4)"
                           ".every(s => s.firstElementChild && s.firstElementChild.readyState >= 2)")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_row_played_in_sync_stays_within_one_frame_after_two_seconds(page):
    from batchgen.simulator.media import FPS

    row = page.locator("tbody tr").nth(2)  # 6 videos: 3 resolutions x 2 samples
    row.locator("button.sync").click()
    page.wait_for_function("row => row.dataset.sync === 'playing'", arg=row.element_handle())
    page.wait_for_timeout(2000)
    times = row.locator(".slot video").evaluate_all("vs => vs.map(v => v.currentTime)")
    assert len(times) == 6 and min(times) > 1.5
    assert max(times) - min(times) < 1 / FPS, times


def test_blind_mode_hides_parameters_and_shuffles_every_row_until_revealed(page):
    def rows():
        return page.locator("tbody tr").evaluate_all(
            "trs => trs.map(tr => Array.from(tr.querySelectorAll('td.cell')).map("
            "td => Array.from(td.querySelectorAll('figure')).map(f => f.dataset.key).join('+')))")

    seen = rows()
    page.check("#blind")
    assert column_titles(page) == ["option A", "option B", "option C"]
    blind = rows()
    assert all(sorted(a) == sorted(b) and a != b for a, b in zip(seen, blind))
    card = page.locator("figure.job").first
    assert not card.locator(".facts").is_visible() and not page.locator(".chip").first.is_visible()
    card.locator(".winner").click()  # a verdict given blind does not show which value won
    assert page.locator("#winrates").is_hidden()
    page.uncheck("#blind")
    assert page.locator("#winrates .rate").count() > 0
    assert rows() == seen and column_titles(page)[0] == "resolution = 540p"
