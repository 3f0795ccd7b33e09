"""`run` above the confirmation threshold: the estimate first, then --yes or a terminal's answer."""

from __future__ import annotations

import io
import sys

import pytest

from batchgen.ledger.events import ledger_path, read_events
from runkit import cli_run, generate_calls, served_with_credentials
from runkit import harbour as manifest  # noqa: F401 (fixture): 10 jobs x 30 CU = 300 CU


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setenv("BATCHGEN_CONFIRM_ABOVE_CU", "100")
    yield from served_with_credentials(monkeypatch)


run = cli_run  # without --yes: the confirmation is what these tests are about


def test_without_a_terminal_a_run_above_the_threshold_needs_yes(api, manifest, capsys):
    sim, url = api
    assert run(manifest, url) == 2
    err = capsys.readouterr().err
    assert "300 CU" in err and "pass --yes" in err and "Nothing was submitted" in err
    assert generate_calls(sim) == 0
    assert not [e for e in read_events(ledger_path(manifest.parent / "out")) if e["event"] == "intent"]


def test_with_yes_the_estimate_is_shown_and_the_run_goes_on(api, manifest, capsys):
    sim, url = api
    assert run(manifest, url, "--yes") == 0
    err = capsys.readouterr().err
    assert "resolution=720p  10 jobs x 30 CU" in err and "total: 300 CU for 10 jobs" in err
    assert len(sim.jobs) == 10


def test_a_cap_below_the_threshold_needs_no_confirmation(api, manifest, capsys):
    sim, url = api
    assert run(manifest, url, "--max-cu", "90") == 1
    out = capsys.readouterr().out
    assert "stopped by the budget: spent 90 of 90 CU (--max-cu); 0 CU left" in out
    assert sum(sim.counters.jobs_created.values()) == 3  # 3 x 30 CU; a 4th would pass the cap


def test_on_a_terminal_the_user_is_asked(api, manifest, monkeypatch, capsys):
    sim, url = api

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    monkeypatch.setattr("sys.stderr", Terminal())
    assert run(manifest, url) == 2
    assert "Submit? [y/N]" in sys.stderr.getvalue()
    assert generate_calls(sim) == 0
