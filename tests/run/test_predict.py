"""EndPredictor on hand-written job reports: what one finished job allows, what three do."""

from __future__ import annotations

from batchgen.run.polling.predict import MIN_SAMPLES, EndPredictor
from batchgen.timestamps import iso

T0 = 1_800_000_000.0


def report(job_id: str, started: float, at: float, progress: float, status: str = "in-progress",
           end: float | None = None) -> dict:
    history = [{"status": "queued", "date": iso(started - 1)},
               {"status": "in-progress", "date": iso(started)}]
    if end is not None:
        history.append({"status": status, "date": iso(end)})
    return {"jobId": job_id, "status": status, "progress": progress, "createdAt": iso(started - 1),
            "updatedAt": iso(end if end is not None else at), "statusHistory": history}


def finish(predictor: EndPredictor, job_id: str, started: float) -> None:
    # Half done 5 s after starting, over 12 s later: ends at 1.2x the pace's run of 10 s.
    predictor.observe(report(job_id, started, started + 5, 0.5))
    predictor.finished(report(job_id, started, 0, 1.0, "success", end=started + 12))


def test_one_finished_job_times_calls_but_frees_no_slot_until_enough_have():
    predictor = EndPredictor()
    running = report("job_run", T0 + 100, T0 + 102, 0.4)  # run of 5 s at its pace
    assert predictor.observe(running) is None  # nothing finished: no guess at all
    finish(predictor, "job_a", T0)
    first = predictor.observe(running)
    assert first is not None and not first.firm
    assert abs(first.latest - (T0 + 100 + 1.2 * 5)) < 0.01
    for n in range(1, MIN_SAMPLES):
        finish(predictor, f"job_{n}", T0 + 10 * n)
    assert predictor.observe(running).firm


def test_a_slot_is_freed_early_only_on_a_firm_prediction():
    from batchgen.run.polling.batched import ListPollTiming
    from batchgen.run.polling.schedule import Schedule
    from batchgen.run.polling.watchlist import Watch

    freed: list[str] = []
    watched = {j: Watch(j, registered=T0, last_seen=T0, latest=T0 + 1, firm=firm)
               for j, firm in (("job_guess", False), ("job_firm", True))}
    schedule = Schedule(ListPollTiming(), EndPredictor(), watched, lambda: T0 + 2, freed.append)
    schedule.release_due()
    assert freed == ["job_firm"]
