"""Budget arithmetic (`--max-cu`) and the confirmation asked before a large run."""

from __future__ import annotations

import io

import pytest

from batchgen.run.budget import (Budget, Confirmation, confirm, confirm_threshold, at_stake,
                             decide_confirmation, fits, format_cu)
from batchgen.errors import UsageError


def test_a_job_fits_when_it_lands_exactly_on_the_cap():
    assert fits(30, 70, 100)
    assert not fits(30.5, 70, 100)


def test_no_cap_means_everything_fits():
    assert fits(1e9, 1e9, None)


def test_earlier_runs_spend_counts_against_the_cap():
    budget = Budget(limit=100, spent_before=80)
    assert budget.reserve(20)
    assert not budget.reserve(1)


def test_first_job_that_does_not_fit_stops_all_later_submissions():
    budget = Budget(limit=100)
    assert budget.reserve(60)
    assert not budget.reserve(60)
    assert budget.exhausted
    assert not budget.reserve(10)  # would fit, but submitting has stopped


def test_in_flight_reservations_count_so_concurrent_submissions_cannot_overshoot():
    budget = Budget(limit=100)
    assert budget.reserve(50) and budget.reserve(50)
    assert not budget.reserve(1)


def test_settle_replaces_the_estimate_with_the_reported_cost():
    budget = Budget(limit=100)
    budget.reserve(60)
    budget.settle(60, 30)
    assert budget.spent == 30 and budget.reserved == 0
    assert budget.left == 70


def test_settle_without_a_reported_cost_keeps_the_estimate():
    budget = Budget(limit=100)
    budget.reserve(60)
    budget.settle(60, None)
    assert budget.spent == 60


def test_release_frees_a_reservation_when_no_job_was_created():
    budget = Budget(limit=100)
    budget.reserve(60)
    budget.release(60)
    assert budget.left == 100 and budget.spent == 0


def test_summary_says_spent_and_left():
    budget = Budget(limit=100, spent_before=40)
    budget.reserve(30)
    budget.settle(30, 30)
    assert budget.summary() == "spent 70 of 100 CU (--max-cu); 30 CU left"


def test_format_cu_drops_needless_decimals():
    assert (format_cu(12.0), format_cu(12.5), format_cu(0.25)) == ("12", "12.5", "0.25")


def test_a_cap_bounds_what_is_at_stake():
    assert at_stake(5000, limit=300, spent_before=100) == 200
    assert at_stake(50, limit=300, spent_before=100) == 50
    assert at_stake(50, limit=None, spent_before=100) == 50
    assert at_stake(50, limit=100, spent_before=150) == 0


@pytest.mark.parametrize("amount, yes, interactive, expected", [
    (100, False, False, Confirmation.PROCEED),   # at or below the threshold: never ask
    (101, True, False, Confirmation.PROCEED),    # --yes
    (101, False, True, Confirmation.ASK),        # a terminal: ask
    (101, False, False, Confirmation.REFUSE),    # no terminal, no --yes
])
def test_confirmation_decision(amount, yes, interactive, expected):
    assert decide_confirmation(amount, threshold=100, yes=yes, interactive=interactive) is expected


def test_without_a_terminal_past_the_threshold_yes_is_required():
    with pytest.raises(UsageError, match="pass --yes"):
        confirm(500, threshold=100, yes=False, stdin=io.StringIO(""), stdout=io.StringIO(),
                isatty=lambda: False)


def test_on_a_terminal_yes_answer_lets_the_run_go_on():
    out = io.StringIO()
    confirm(500, threshold=100, yes=False, stdin=io.StringIO("y\n"), stdout=out,
            isatty=lambda: True)
    assert "500 CU" in out.getvalue() and "[y/N]" in out.getvalue()


@pytest.mark.parametrize("answer", ["\n", "n\n", "maybe\n", ""])
def test_on_a_terminal_anything_but_yes_refuses(answer):
    with pytest.raises(UsageError, match="not confirmed"):
        confirm(500, threshold=100, yes=False, stdin=io.StringIO(answer), stdout=io.StringIO(),
                isatty=lambda: True)


def test_threshold_comes_from_the_environment_or_defaults():
    assert confirm_threshold({}) == 1000
    assert confirm_threshold({"BATCHGEN_CONFIRM_ABOVE_CU": "250"}) == 250


def test_a_bad_threshold_is_a_usage_error():
    with pytest.raises(UsageError, match="BATCHGEN_CONFIRM_ABOVE_CU"):
        confirm_threshold({"BATCHGEN_CONFIRM_ABOVE_CU": "lots"})
