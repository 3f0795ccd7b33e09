"""Where the progress counts each job: its phase from the ledger's step, moved by the run's events."""

from __future__ import annotations

from batchgen.run.decisions import Step
from batchgen.run.phases import DOWNLOADED, ON_SERVER, Tally
from runkit import make_job

JOB, OTHER = make_job("a lighthouse at dusk"), make_job("a storm at sea")


def test_jobs_left_to_other_folders_count_as_settled_from_the_start():
    tally = Tally([(JOB, Step.SUBMIT), (OTHER, Step.DONE)], elsewhere=2)
    assert (tally.total, tally.settled) == (4, 3)
    assert tally.breakdown().endswith(", 2 sent from other folders")


def test_a_move_to_the_phase_a_job_is_in_changes_nothing():
    tally = Tally([(JOB, Step.POLL)])
    assert tally.move(JOB, ON_SERVER) is False
    assert tally.move(JOB, DOWNLOADED) is True
    assert tally.counts[ON_SERVER] == 0 and tally.counts[DOWNLOADED] == 1


def test_the_eta_is_the_pace_of_the_jobs_settled_since_the_start():
    tally = Tally([(JOB, Step.POLL), (OTHER, Step.POLL), (make_job("a fox"), Step.DONE)])
    assert tally.eta(10.0) is None  # nothing settled by this run yet
    tally.move(JOB, DOWNLOADED)
    assert tally.eta(10.0) == 10.0
    tally.move(OTHER, DOWNLOADED)
    assert tally.eta(20.0) == 0.0
