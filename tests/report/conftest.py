"""The report's browser tests share one chromium per test module, and the report of
the test sweep (report_sweep.py) per module."""

from __future__ import annotations

import pytest

from browserkit import launch, open_report


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def report_url(tmp_path_factory) -> str:
    """The report of the test sweep, written once per module."""
    from batchgen.report import write_report
    from report_sweep import make_sweep

    output = tmp_path_factory.mktemp("knight-sweep")
    records, axes, name = make_sweep(output)
    return write_report(records, axes, name, output / "report.html", base_dir=output).as_uri()


@pytest.fixture
def page(browser, report_url):
    """A 1400x900 tab on that report, ready; fails the test if the page's script did."""
    page, errors = open_report(browser, report_url)
    yield page
    page.close()
    assert errors == [], "the page's script failed"
