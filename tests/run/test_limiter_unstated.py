"""The limiter against a ceiling the API never states: the slow start sends at most
SLOW_START_CALLS calls unanswered at once, a bare 429 shrinks the window to the jobs the
API holds, and a call whose slot the shrink left over the window waits its turn again
instead of being sent into another 429."""

from __future__ import annotations

import anyio

from batchgen.run.limiter import SLOW_START_CALLS, Limiter


def test_the_429_ending_the_slow_start_shrinks_the_window_to_the_jobs_the_api_holds():
    limiter = Limiter(100, start=4)
    for _ in range(12):
        limiter.occupy()
    limiter.backoff(held=8)  # 12 slots held, the API holds 8 of our jobs
    assert limiter.effective == 8


def test_never_below_the_start_window_and_later_429s_shrink_by_one():
    # A busy API answers 429 at random: that says little about its ceiling, so neither
    # an early one nor a later one may collapse the window (the fault soak's lesson).
    limiter = Limiter(100, start=4)
    for _ in range(20):
        limiter.occupy()
    limiter.backoff(held=0)
    assert limiter.effective == 4
    limiter.backoff(held=0)  # after the slow start: one below the slots held
    assert limiter.effective == 19


def test_the_slow_start_keeps_few_calls_unanswered_at_once():
    limiter = Limiter(100, start=10)
    out, peak = 0, 0

    async def call():
        nonlocal out, peak
        await limiter.acquire()
        async with limiter.calling():
            out += 1
            peak = max(peak, out)
            await anyio.sleep(0.01)
            out -= 1
            limiter.accepted()

    async def go():
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(call)
    anyio.run(go)
    assert peak == SLOW_START_CALLS


def test_a_call_over_a_shrunk_window_queues_again_instead_of_being_sent():
    limiter = Limiter(100, start=2)
    sent = []

    async def go():
        for _ in range(2):
            await limiter.acquire()
        limiter.accepted(); limiter.accepted()  # slow start: window 4
        for _ in range(2):
            await limiter.acquire()  # four slots taken, two calls not sent yet
        limiter.backoff(held=2)  # a 429 elsewhere: the API holds only 2 of ours
        with anyio.move_on_after(0.05):
            async with limiter.calling():
                sent.append("sent")
        assert sent == []  # still waiting for a slot within the window
        limiter.release(); limiter.release()  # two jobs end
        async with limiter.calling():
            sent.append("sent")
    anyio.run(go)
    assert sent == ["sent"]
