"""Adaptive concurrency: stated ceilings held, bare 429s backed off and probed carefully."""

from __future__ import annotations

from batchgen.run.limiter import Limiter


def fill(limiter: Limiter, n: int) -> None:
    for _ in range(n):
        limiter.occupy()


def test_a_bare_429_shrinks_the_window_to_what_the_api_accepted():
    limiter = Limiter(16)
    fill(limiter, 9)  # the 9th is the refused call, its slot still held
    limiter.backoff()
    assert limiter.effective == 8


def test_a_stated_ceiling_is_never_changed_by_bare_429s_or_probing():
    limiter = Limiter(16, ceiling=6)
    fill(limiter, 3)
    limiter.backoff()
    for _ in range(100):
        limiter.accepted()
    assert limiter.effective == 6


def test_after_a_quiet_spell_the_window_probes_one_higher():
    limiter = Limiter(16, probe_after=4)
    fill(limiter, 5)
    limiter.backoff()  # window 4
    for _ in range(3):
        limiter.accepted()
    assert limiter.effective == 4
    limiter.accepted()
    assert limiter.effective == 5


def test_probing_never_goes_above_the_users_limit():
    limiter = Limiter(3, probe_after=1)
    fill(limiter, 3)
    limiter.backoff()  # window 2
    for _ in range(10):
        limiter.accepted()
    assert limiter.effective == 3


def test_a_refused_probe_doubles_the_wait_before_the_next():
    limiter = Limiter(16, probe_after=2)
    fill(limiter, 5)
    limiter.backoff()  # window 4, in flight 5 (one to give back)
    limiter.release()
    limiter.accepted(); limiter.accepted()  # probe: window 5
    assert limiter.effective == 5
    limiter.occupy()  # 5 in flight: the probe's call is refused
    limiter.backoff()  # window 4 again, next probe after 4 quiet acceptances
    limiter.release()
    for _ in range(3):
        limiter.accepted()
    assert limiter.effective == 4
    limiter.accepted()
    assert limiter.effective == 5


def test_the_window_never_drops_below_one():
    limiter = Limiter(4)
    fill(limiter, 1)
    limiter.backoff()
    assert limiter.effective == 1


def test_without_a_known_ceiling_the_window_starts_small_and_grows_with_each_acceptance():
    limiter = Limiter(32)
    assert limiter.effective == 4
    for _ in range(5):
        limiter.accepted()
    assert limiter.effective == 9


def test_a_ceiling_from_the_ledger_applies_at_once():
    assert Limiter(32, ceiling=16).effective == 16


def test_slow_start_stops_at_the_users_limit():
    limiter = Limiter(6)
    for _ in range(10):
        limiter.accepted()
    assert limiter.effective == 6
