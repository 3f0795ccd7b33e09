"""The seeded simulation harness (issue 12, point 6): hundreds of schedules of faults,
crashes, manifest edits and shards side by side, each checked against I1-I6.

Hypothesis draws each schedule's seed and parameters (derandomized, no example
database, so CI plays the same schedules every time) and shrinks a failing one: the
failure names the minimal schedule, to paste into `schedulekit.run_schedule(...)`.
Every step of a schedule is bounded (`schedulekit.RUN_TIMEOUT`), so a hang is a failing
schedule with the stacks of its tasks, not a stuck suite. BATCHGEN_SCHEDULES sets the
number of schedules (200 here; benchmarks/bench_schedules.py plays thousands).

The last two tests take a fix out again (point 2's: samples of a body in one shard and
no jobId another key holds; and the repeated-intent one) and show the same kind of
schedules find the violation.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Callable

import pytest
from hypothesis import HealthCheck, Phase, configuration, given, settings

import schedulekit
from batchgen.ledger.family import Family
from batchgen.ledger.state import LedgerState
from batchgen.run.shards import Shard

SCHEDULES = int(os.environ.get("BATCHGEN_SCHEDULES", "200"))
CI = dict(deadline=None, derandomize=True, database=None, print_blob=False,
          suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", autouse=True)
def _hypothesis_home_in_tmp(tmp_path_factory: pytest.TempPathFactory):
    """Hypothesis keeps a cache of the constants it found in the code under
    `.hypothesis/` of the folder it was imported in (the checkout): here it goes to a
    temporary folder, so the suite leaves the checkout as it found it."""
    configuration.set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    configuration.set_hypothesis_home_dir(None)


def play(count: int, *, strategy=None, shrink: bool = True,
         stop: Callable[[schedulekit.Outcome], bool] | None = None) -> Counter:
    """Play `count` drawn schedules; fail (shrunk) on the first violation unless `stop`
    says it is what was looked for. Returns what the schedules did."""
    seen: Counter = Counter()
    phases = (Phase.explicit, Phase.generate, *((Phase.shrink,) if shrink else ()))

    @settings(max_examples=count, phases=phases, **CI)
    @given(schedulekit.schedules() if strategy is None else strategy)
    def one(schedule: schedulekit.Schedule) -> None:
        if seen["stopped"]:
            return
        outcome = schedulekit.run_schedule(schedule)
        seen.update(schedules=1, runs=outcome.runs, crashes=outcome.crashes,
                    kills=outcome.kills, server_jobs=outcome.server_jobs,
                    sharded=schedule.shards > 0, faulted=bool(schedule.faults),
                    edited=any(s.edit != "none" for s in schedule.steps[1:]),
                    torn=any(s.damage == "torn" for s in schedule.steps),
                    budget=schedule.budget is not None)
        if stop is not None and outcome.violations:
            seen.update(stopped=1)
            seen["found_in"] = seen["schedules"]
            print(f"found in schedule {seen['schedules']}: {outcome.report()}")
            assert stop(outcome), outcome.report()  # a violation, but not the one looked for
            return
        assert not outcome.violations, outcome.report()

    one()
    return seen


def test_200_schedules_keep_every_invariant():
    seen = play(SCHEDULES)
    assert seen["schedules"] >= SCHEDULES
    # The schedules really did what they are for.
    for what in ("crashes", "sharded", "faulted", "edited", "torn", "budget"):
        assert seen[what] >= SCHEDULES // 10, (what, seen)
    assert seen["server_jobs"] >= SCHEDULES


def test_schedules_with_real_sigkills_keep_every_invariant():
    seen = play(int(os.environ.get("BATCHGEN_SIGKILL_SCHEDULES", "2")),
                strategy=schedulekit.schedules(sigkill=True))
    assert seen["kills"] > 0


def _paid_twice_or_lost(outcome: schedulekit.Outcome) -> bool:
    """I1 (a second generation, a jobId held by two keys) or I3 (a key's file no longer
    its own): what a reverted fix leads to."""
    return any(" I1 " in v or " I3 " in v for v in outcome.violations)


def test_without_point_2s_fix_the_schedules_find_a_double_claim(monkeypatch):
    # Shards split by job key again (samples of a body in different shards), and recovery
    # blind to the jobIds and lost bodies of the batch's other folders.
    monkeypatch.setattr(Shard, "owns_job", lambda self, job: self.owns(job.key))
    monkeypatch.setattr(Family, "job_ids", lambda self: set())
    monkeypatch.setattr(Family, "lost_bodies", lambda self: set())
    # Drawn in the shape point 2 is about, two shards side by side with two samples of
    # each body: among the general schedules a fifth have it, and the double claim needs
    # a lost answer to race its twin's creation in the other shard, so only about 1 in
    # 100 of them (2 of the 200 CI schedules, the first at 89 to 146 by the machine's
    # timing) show it, too few to count on. Among these about 1 in 20 do.
    # Blind to the other shard's jobs, a shard also pays past its --max-cu (I5) for bodies
    # its twin had in hand: the same reverted fix, caught by another invariant.
    seen = play(SCHEDULES, strategy=schedulekit.schedules(side_by_side=True), shrink=False,
                stop=lambda outcome: _paid_twice_or_lost(outcome)
                or any(" I5 " in v for v in outcome.violations))
    assert seen["stopped"], f"no violation in {seen['schedules']} schedules"


def test_without_the_repeated_intent_fix_the_schedules_find_a_second_payment(monkeypatch):
    def intent_starts_over(self: LedgerState, event: dict) -> None:  # the code before the fix
        ks = self.jobs.get(event["key"])
        if ks is None:
            self.jobs[event["key"]] = ks = self._get(event["key"])
        ks.begin_attempt(event)

    monkeypatch.setattr(LedgerState, "_intent", intent_starts_over)
    seen = play(SCHEDULES, shrink=False, stop=_paid_twice_or_lost)
    assert seen["stopped"], f"no violation in {seen['schedules']} schedules"


def test_the_line_a_failure_prints_rebuilds_its_schedule():
    schedule = schedulekit.Schedule.from_seed(7)
    assert schedule.reproduction() == f"schedulekit.run_schedule({schedule!r})"
    assert eval(repr(schedule), vars(schedulekit)) == schedule
