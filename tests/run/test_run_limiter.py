"""The concurrency limiter: how many generations may be in flight at once."""

from __future__ import annotations

import anyio
import pytest

from batchgen.run.limiter import Limiter


async def _hold(limiter: Limiter, log: list[int], order: list[int], n: int) -> None:
    await limiter.acquire()
    order.append(n)
    log.append(limiter.in_flight)
    await anyio.sleep(0.01)
    limiter.release()


def test_never_more_in_flight_than_the_limit():
    limiter = Limiter(3)
    seen: list[int] = []

    async def main():
        async with anyio.create_task_group() as tg:
            for n in range(12):
                tg.start_soon(_hold, limiter, seen, [], n)

    anyio.run(main)
    assert max(seen) == 3 and limiter.peak == 3 and limiter.in_flight == 0


def test_waiters_get_slots_first_come_first_served():
    limiter = Limiter(1)
    order: list[int] = []

    async def main():
        async with anyio.create_task_group() as tg:
            for n in range(6):
                tg.start_soon(_hold, limiter, [], order, n)
                await anyio.sleep(0)  # let task n queue before task n+1

    anyio.run(main)
    assert order == list(range(6))


def test_a_stated_ceiling_below_the_limit_wins():
    limiter = Limiter(8)
    assert limiter.set_ceiling(2) is True
    assert limiter.effective == 2
    assert limiter.set_ceiling(2) is False  # the same ceiling again changes nothing


def test_a_ceiling_above_the_limit_does_not_raise_it():
    assert Limiter(4, ceiling=16).effective == 4


def test_jobs_already_in_flight_count_and_new_ones_wait_for_them():
    limiter = Limiter(2)
    for _ in range(3):
        limiter.occupy()  # found running in the ledger: counted without waiting
    got_slot = []

    async def main():
        async with anyio.create_task_group() as tg:
            async def new_job():
                await limiter.acquire()
                got_slot.append(limiter.in_flight)

            tg.start_soon(new_job)
            await anyio.sleep(0.01)
            assert got_slot == []
            limiter.release()  # 2 left in flight: still no room under a limit of 2
            await anyio.sleep(0.01)
            assert got_slot == []
            limiter.release()
            await anyio.sleep(0.01)
            assert got_slot == [2]

    anyio.run(main)


def test_a_cancelled_waiter_gives_its_place_up():
    limiter = Limiter(1)

    async def main():
        await limiter.acquire()
        with anyio.move_on_after(0.01):
            await limiter.acquire()
        limiter.release()
        assert limiter.in_flight == 0
        await limiter.acquire()  # would hang if the cancelled waiter still held its place
        assert limiter.in_flight == 1

    anyio.run(main)


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError):
        Limiter(0)


def test_429s_while_the_window_is_explored_are_not_blamed_on_anything_else():
    limiter = Limiter(100)
    for _ in range(6):
        limiter.occupy()
        limiter.accepted()
    assert limiter.exploring  # slow start
    limiter.backoff()  # the first bare 429
    assert limiter.exploring  # calls sent alongside it may still come back refused
    limiter.accepted()
    assert not limiter.exploring  # the window holds: a 429 now is news
    limiter.set_ceiling(8)
    assert not limiter.exploring
