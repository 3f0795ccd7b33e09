"""The limiter against a ceiling the API never states: the slow start sends at most
SLOW_START_CALLS calls unanswered at once, a bare 429 shrinks the window to the jobs the
API holds, and a call whose slot the shrink left over the window waits its turn again
instead of being sent into another 429."""

from __future__ import annotations

import anyio

from batchgen.run.limiter import SLOW_START_CALLS, Limiter


def test_a_bare_429_shrinks_the_window_to_the_jobs_the_api_holds():
    limiter = Limiter(100, start=12)
    for _ in range(12):
        limiter.occupy()
    limiter.backoff(held=8)  # 12 slots held, the API holds 8 of our jobs
    assert limiter.effective == 8


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
    limiter = Limiter(100, start=4)
    sent = []

    async def go():
        for _ in range(4):
            await limiter.acquire()  # four slots taken, their calls not sent yet
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
