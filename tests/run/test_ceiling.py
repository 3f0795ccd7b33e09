"""The search for how many generations the API takes at once, without slots or waiting."""

from __future__ import annotations

from batchgen.run.ceiling import CeilingSearch


def test_the_slow_start_grows_the_window_by_one_per_accepted_call_up_to_the_limit():
    search = CeilingSearch(6, start=4)
    assert [search.accepted(in_flight=4) for _ in range(3)] == [True, True, False]
    assert search.allowed == 6 and search.searching


def test_the_429_ending_the_slow_start_keeps_what_the_api_held_never_below_the_start():
    search = CeilingSearch(100, start=4)
    for _ in range(6):
        search.accepted(in_flight=search.window)
    search.refused(9, on_the_way=2, held=2)
    assert (search.window, search.slow_start) == (4, False)
    search.refused(3, on_the_way=0, held=None)  # later 429s take what was asked
    assert search.window == 3


def test_a_refused_probe_doubles_the_quiet_spell_before_the_next():
    search = CeilingSearch(100, start=4, probe_after=2)
    search.refused(4, on_the_way=0, held=None)
    assert [search.accepted(in_flight=4) for _ in range(2)] == [False, True]  # probes 5
    search.refused(5, on_the_way=0, held=None)
    assert [search.accepted(in_flight=4) for _ in range(4)] == [False, False, False, True]


def test_a_stated_ceiling_holds_whatever_the_api_answers():
    search = CeilingSearch(32, ceiling=16)
    assert search.accepted(in_flight=16) is False
    search.refused(3, on_the_way=0, held=None)
    assert (search.allowed, search.searching) == (16, False)
