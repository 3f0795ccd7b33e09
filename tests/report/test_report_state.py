"""The view in the URL hash (a link reopens the same view), and money: cost per card and
per axis value, failed jobs shown as refunded and never added to a total."""

from __future__ import annotations

from batchgen.report import write_report
from browserkit import needs_chromium, open_report

pytestmark = needs_chromium


def row_orders(page) -> list[list[str]]:
    return page.locator("tbody tr").evaluate_all(
        "trs => trs.map(tr => Array.from(tr.querySelectorAll('figure.job')).map(f => f.dataset.key))")


def view_of(page) -> dict:
    return {
        "across": page.input_value("#across"),
        "unchecked": page.eval_on_selector_all("#filters input:not(:checked)",
                                               "is => is.map(i => i.closest('fieldset').dataset.axis + '=' + i.dataset.value)"),
        "blind": page.is_checked("#blind"),
        "rows": row_orders(page),
        "size": page.input_value("#size"),
        "player": page.eval_on_selector_all("#player[open] video", "vs => vs.map(v => v.dataset.key)"),
        "mode": page.eval_on_selector_all("#player[open] .stage.compare", "ss => ss.map(s => s.dataset.mode)"),
    }


def test_a_link_reopens_the_same_axis_filters_blind_order_size_and_enlarged_card(page, browser):
    page.select_option("#across", "style")
    page.locator("fieldset[data-axis=resolution] label", has_text="1080p").locator("input").uncheck()
    page.check("#blind")
    page.locator("#size").evaluate("s => { s.value = '300'; s.dispatchEvent(new Event('input')); }")
    page.locator(".slot").nth(2).click()
    page.wait_for_selector("#player[open] video")
    before = view_of(page)
    assert before["across"] == "style" and before["unchecked"] == ['resolution="1080p"'] and before["blind"]
    assert len(before["player"]) == 1
    link = page.url
    assert "#" in link

    again, errors = open_report(browser, link)
    assert view_of(again) == before
    assert again.locator("thead th.col").first.inner_text() == "option A"
    again.close()
    assert errors == []


def test_a_link_reopens_a_comparison_in_its_mode(page, browser):
    page.locator(".pick").nth(0).click()
    page.locator(".pick").nth(3).click()
    page.wait_for_selector("#player[open] .stage.compare")
    page.click("#player .mode[data-mode=flip]")
    before = view_of(page)
    assert before["mode"] == ["flip"] and len(before["player"]) == 2

    again, errors = open_report(browser, page.url)
    assert view_of(again)["player"] == before["player"] and view_of(again)["mode"] == ["flip"]
    again.keyboard.press("Escape")
    # the dialog's close event, which rewrites the hash, fires after the key press returns
    again.wait_for_function("() => !location.hash.includes('compare=')", timeout=5000)
    again.close()
    assert errors == []


def test_pasting_another_hash_into_the_open_page_applies_it(page):
    page.evaluate("location.hash = 'across=style&hide=' + encodeURIComponent('style=\"noir\"')")
    page.wait_for_function("() => document.getElementById('across').value === 'style'")
    assert page.locator("thead th.col").count() == 1
    assert not page.locator("fieldset[data-axis=style] input").first.is_checked()


def test_a_hash_naming_what_the_batch_lacks_is_ignored(browser, report_url):
    page, errors = open_report(browser, report_url + "#across=nope&hide=nope%3D1&open=nokey&size=99999")
    assert page.input_value("#across") == "resolution"
    assert page.locator("#player").evaluate("d => d.open") is False
    assert page.input_value("#size") == "220"
    page.close()
    assert errors == []


MONEY = [
    {"key": f"k{n}", "id": "knight", "sample": 1, "prompt": "A knight", "params": {"resolution": res},
     "state": state, "jobId": f"job_{n}", "files": [], "error": "provider failed" if state == "failed" else None,
     "cost": cost, "submittedAt": "2026-11-27T10:00:00Z",
     "finishedAt": "2026-11-27T10:00:40Z" if state == "succeeded" else None}
    for n, (res, state, cost) in enumerate([("720p", "succeeded", 12), ("1080p", "succeeded", 20),
                                            ("1080p", "failed", 20), ("720p", "running", 12)])
]


def test_failed_jobs_show_as_refunded_and_are_left_out_of_every_total(browser, tmp_path):
    url = write_report(MONEY, {"resolution": ["720p", "1080p"]}, "money", tmp_path / "r.html",
                       base_dir=tmp_path).as_uri()
    page, errors = open_report(browser, url)
    assert "44 CU spent · 1 failed, refunded (20 CU)" in page.inner_text("#summary")
    failed = page.locator("figure.state-failed .facts .cost")
    assert failed.inner_text() == "20 CU refunded" and failed.locator("s").inner_text() == "20 CU"
    assert page.locator("figure[data-key=k1] .facts .cost").inner_text() == "20 CU"
    costs = page.locator("thead .col-cost").all_inner_texts()
    assert costs == ["24 CU · mean 40 s", "20 CU · 1 refunded · mean 40 s"]
    page.click("#costs summary")
    rows = page.locator("#costs tr[data-axis]").evaluate_all(
        "trs => trs.map(tr => Array.from(tr.cells).map(c => c.textContent))")
    assert rows == [["resolution", "720p", "2", "24 CU", "12 CU", "0", "40 s"],
                    ["resolution", "1080p", "2", "20 CU", "20 CU", "1", "40 s"]]
    page.screenshot(path="/tmp/report-money.png", full_page=True)
    page.check("#blind")  # costs tell the columns apart: blind mode hides them
    assert page.locator("#costs").is_hidden() and page.locator("thead .col-cost").count() == 0
    page.close()
    assert errors == []
