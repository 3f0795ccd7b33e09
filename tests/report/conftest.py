"""The report's browser tests share one chromium per test module."""

from __future__ import annotations

import pytest

from browserkit import launch


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()
