"""Adaptive concurrency: stated ceilings held, bare 429s backed off and probed carefully."""

from __future__ import annotations

from batchgen.run.limiter import Limiter


def fill(limiter: Limiter, n: int) -> None:
    for _ in range(n):
        limiter.occupy()


def backed_off(limit: int, in_flight: int, **knobs) -> Limiter:
    """A limiter with `in_flight` calls held, the last of them just refused (a bare 429)."""
    limiter = Limiter(limit, **knobs)
    fill(limiter, in_flight)
    limiter.backoff()
    return limiter


def accept(limiter: Limiter, n: int) -> None:
    for _ in range(n):
        limiter.accepted()


def test_a_bare_429_shrinks_the_window_to_what_the_api_accepted():
    limiter = backed_off(16, 9)  # the 9th is the refused call, its slot still held
    assert limiter.effective == 8


def test_a_stated_ceiling_is_never_changed_by_bare_429s_or_probing():
    limiter = backed_off(16, 3, ceiling=6)
    accept(limiter, 100)
    assert limiter.effective == 6


def test_after_a_quiet_spell_the_window_probes_one_higher():
    limiter = backed_off(16, 5, probe_after=4)  # window 4
    accept(limiter, 3)
    assert limiter.effective == 4
    limiter.accepted()
    assert limiter.effective == 5


def test_probing_never_goes_above_the_users_limit():
    limiter = backed_off(3, 3, probe_after=1)  # window 2
    accept(limiter, 10)
    assert limiter.effective == 3


def test_a_refused_probe_doubles_the_wait_before_the_next():
    limiter = backed_off(16, 5, probe_after=2)  # window 4, in flight 5 (one to give back)
    limiter.release()
    accept(limiter, 2)  # probe: window 5
    assert limiter.effective == 5
    limiter.occupy()  # 5 in flight: the probe's call is refused
    limiter.backoff()  # window 4 again, next probe after 4 quiet acceptances
    limiter.release()
    accept(limiter, 3)
    assert limiter.effective == 4
    limiter.accepted()
    assert limiter.effective == 5


def test_the_window_never_drops_below_one():
    limiter = backed_off(4, 1)
    assert limiter.effective == 1


def test_without_a_known_ceiling_the_window_starts_small_and_grows_with_each_acceptance():
    limiter = Limiter(32)
    assert limiter.effective == 4
    accept(limiter, 5)
    assert limiter.effective == 9


def test_a_ceiling_from_the_ledger_applies_at_once():
    assert Limiter(32, ceiling=16).effective == 16


def test_slow_start_stops_at_the_users_limit():
    limiter = Limiter(6)
    accept(limiter, 10)
    assert limiter.effective == 6
