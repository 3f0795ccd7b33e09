"""Judging in the browser: ratings, scores, winners and notes persist per batch, export
as choices.json, and `batchgen report --choices` merges them into the results."""

from __future__ import annotations

import json

import pytest

from batchgen.cli import main
from browserkit import needs_chromium
from report_sweep import make_finished_run

pytestmark = needs_chromium


@pytest.fixture
def sweep(tmp_path):
    records = make_finished_run(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    return tmp_path, records, (tmp_path / "report.html").as_uri()


def open_page(context, url):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    return page, errors


def card(page, row: int, column: int, sample: int = 0):
    return page.locator("tbody tr").nth(row).locator("td.cell").nth(column).locator("figure.job").nth(sample)


def test_choices_persist_in_the_browser_across_reloads(browser, sweep):
    _, _, url = sweep
    context = browser.new_context()
    page, errors = open_page(context, url)
    first = card(page, 0, 1)
    first.locator(".judge .up").click()
    first.locator(".judge .score").select_option("4")
    first.locator(".judge .note").fill("sharpest armour")
    first.locator(".judge .note").press("Enter")
    first.locator(".judge .note").blur()
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    again = card(page, 0, 1)
    assert again.locator(".judge .up").get_attribute("aria-pressed") == "true"
    assert again.locator(".judge .score").input_value() == "4"
    assert again.locator(".judge .note").input_value() == "sharpest armour"
    context.close()
    assert errors == []


def test_thumbs_are_exclusive_and_toggle_off(browser, sweep):
    _, _, url = sweep
    context = browser.new_context()
    page, _ = open_page(context, url)
    bar = card(page, 0, 0).locator(".judge")
    bar.locator(".up").click()
    bar.locator(".down").click()
    assert [bar.locator(s).get_attribute("aria-pressed") for s in (".up", ".down")] == ["false", "true"]
    bar.locator(".down").click()
    assert bar.locator(".down").get_attribute("aria-pressed") == "false"
    context.close()


def test_one_winner_per_row_and_live_win_rates(browser, sweep):
    _, _, url = sweep
    context = browser.new_context()
    page, _ = open_page(context, url)
    assert page.locator("#winrates").is_hidden()
    card(page, 0, 0).locator(".winner").click()
    card(page, 0, 2).locator(".winner").click()  # moves the row's winner to 1080p
    assert page.locator("tbody tr").nth(0).locator(".winner.on").count() == 1
    card(page, 1, 2).locator(".winner").click()
    rates = page.locator("#winrates .rate").all_inner_texts()
    assert "resolution=1080p preferred in 2 of 2 rows" in rates
    assert "resolution=540p preferred in 0 of 2 rows" in rates
    context.close()


def test_rating_export_and_report_choices_round_trip(browser, sweep, tmp_path, capsys):
    folder, records, url = sweep
    context = browser.new_context(accept_downloads=True)
    page, errors = open_page(context, url)
    page.fill("#reviewer", "ana")
    page.locator("#reviewer").dispatch_event("change")
    winner = card(page, 0, 2)
    winner.locator(".judge .up").click()
    winner.locator(".judge .score").select_option("5")
    winner.locator(".winner").click()
    card(page, 2, 2).locator(".winner").click()
    card(page, 0, 0).locator(".judge .down").click()
    with page.expect_download() as info:
        page.click("#export")
    exported = tmp_path / "ana.json"
    info.value.save_as(exported)
    context.close()
    assert errors == []

    document = json.loads(exported.read_text())
    assert document["version"] == 1 and document["batch"] == "knight-sweep"
    assert {c["reviewer"] for c in document["choices"]} == {"ana"}
    by_key = {c["key"]: c for c in document["choices"]}
    keys = {r["key"] for r in records}
    assert set(by_key) <= keys and len(by_key) == 3
    other = {"version": 1, "batch": "knight-sweep", "choices": [
        {"key": next(iter(by_key)), "rating": 1, "reviewer": "ben"},
        {"key": "no-such-job", "winner": True, "reviewer": "ben"}]}
    (tmp_path / "ben.json").write_text(json.dumps(other))

    capsys.readouterr()
    assert main(["report", str(folder), "--choices", str(exported), str(tmp_path / "ben.json")]) == 0
    out, err = capsys.readouterr()
    assert "resolution=1080p: preferred in 2 of 2 rows (100%)" in out
    assert "ben.json: 1 choice names a job this batch does not have, left out: no-such-job" in err
    results = json.loads((folder / "results.json").read_text())
    assert results["winRates"]["resolution"]["1080p"] == {"wins": 2, "rows": 2}
    assert results["winRates"]["resolution"]["540p"] == {"wins": 0, "rows": 2}
    jobs = {j["key"]: j for j in results["jobs"]}
    top = [j for j in jobs.values() if j["meanScore"] == 5]
    assert len(top) == 1 and top[0]["winnerCount"] == 1 and top[0]["params"]["resolution"] == "1080p"
    assert sum(j["winnerCount"] for j in jobs.values()) == 2
    assert {tuple(j["ratings"]) for j in jobs.values() if j["ratings"]} >= {(-1,)}

    assert main(["report", str(folder), "--choices", str(exported), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["winRates"] == results["winRates"] and printed["unknownKeys"] == {}

    # The merged page shows the reviewers' verdicts and their win rates.
    page, _ = open_page(browser, (folder / "report.html").as_uri())
    assert page.locator(".team", has_text="★1").count() == 2
    assert "All reviewers" in page.locator("#winrates").inner_text()
    page.close()


def test_import_adds_a_choices_file(browser, sweep, tmp_path):
    _, records, url = sweep
    key = records[0]["key"]
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"version": 1, "batch": "knight-sweep",
                                "choices": [{"key": key, "score": 3, "note": "ok"}]}))
    context = browser.new_context()
    page, _ = open_page(context, url)
    page.set_input_files("#import", str(path))
    page.wait_for_function("key => document.querySelector(`.judge[data-key='${key}'] .score`).value === '3'",
                           arg=key)
    assert page.locator(f'.judge[data-key="{key}"] .note').input_value() == "ok"
    context.close()
