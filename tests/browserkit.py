"""Debian's chromium driven by Playwright: where it is, how it starts, and the skip mark.

CI installs chromium (`apt-get install chromium`); Playwright's own browser download is
never used. Without chromium the browser tests skip and say why."""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
# The network-off flags keep chromium from reaching for hosts this machine cannot reach.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason=f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")


def launch(playwright, *extra_args: str):
    """A headless chromium with the flags above (and `extra_args`)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra_args])


def open_report(browser, url: str, width: int = 1400, height: int = 900):
    """A new tab on the report at `url`, once its script says it is ready; returns the
    page and the list its script errors are collected in."""
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    return page, errors
