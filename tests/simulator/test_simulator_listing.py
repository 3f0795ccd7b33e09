"""The simulator's job list: newest first, pages, filters."""

from __future__ import annotations

from simkit import ManualClock, request, simulator, submit
from batchgen.simulator.state import iso


def sim_with_jobs(n, **knobs):
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(100, 100), ceiling=100, **knobs)
    ids = []
    for _ in range(n):
        ids.append(submit(sim)["jobId"])
        clock.advance(10)
    return sim, clock, ids


def list_jobs(sim, **params):
    answer = request(sim, "GET", "jobs", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_jobs_are_listed_newest_first():
    sim, _, ids = sim_with_jobs(3)
    assert [j["jobId"] for j in list_jobs(sim)["jobs"]] == ids[::-1]


def test_pages_follow_the_pagination_token_without_gaps_or_repeats():
    sim, _, ids = sim_with_jobs(7)
    seen, token, pages = [], None, 0
    while True:
        answer = list_jobs(sim, pageSize=3, **({"paginationToken": token} if token else {}))
        seen += [j["jobId"] for j in answer["jobs"]]
        pages += 1
        token = answer["nextPaginationToken"]
        if not token:
            break
    assert seen == ids[::-1] and pages == 3


def test_a_job_created_while_paging_does_not_shift_later_pages():
    sim, _, ids = sim_with_jobs(4)
    first = list_jobs(sim, pageSize=2)
    submit(sim)
    second = list_jobs(sim, pageSize=2, paginationToken=first["nextPaginationToken"])
    assert [j["jobId"] for j in second["jobs"]] == ids[1::-1]


def test_page_size_outside_1_to_100_is_refused():
    sim, _, _ = sim_with_jobs(1)
    assert request(sim, "GET", "jobs", params={"pageSize": 0}).status_code == 400
    assert request(sim, "GET", "jobs", params={"pageSize": 101}).status_code == 400


def test_status_filter_keeps_jobs_in_that_status():
    sim, clock, ids = sim_with_jobs(3)
    clock.advance(75)  # the first job (created 105 s ago) is done, the others still run
    assert [j["jobId"] for j in list_jobs(sim, status="success")["jobs"]] == [ids[0]]
    assert list_jobs(sim, status="canceled")["jobs"] == []


def test_created_after_keeps_newer_jobs():
    sim, _, ids = sim_with_jobs(3)
    created = list_jobs(sim)["jobs"][1]["createdAt"]
    assert [j["jobId"] for j in list_jobs(sim, createdAfter=created)["jobs"]] == [ids[2]]


def test_created_after_cannot_be_combined_with_status():
    sim, clock, _ = sim_with_jobs(1)
    answer = request(sim, "GET", "jobs", params={"createdAfter": iso(clock.now), "status": "success"})
    assert answer.status_code == 400


def test_updated_after_lists_jobs_changed_since_then_by_update_date():
    sim, clock, ids = sim_with_jobs(3)
    since = iso(clock.now)
    clock.advance(71)  # the first job finishes; the others move on
    changed = list_jobs(sim, updatedAfter=since)["jobs"]
    updated = [j["updatedAt"] for j in changed]
    assert updated == sorted(updated, reverse=True) and all(u > since for u in updated)
    assert {j["jobId"]: j["status"] for j in changed}[ids[0]] == "success"
    assert list_jobs(sim, updatedAfter=updated[0])["jobs"] == []


def test_type_filter_other_than_custom_lists_nothing():
    sim, _, _ = sim_with_jobs(2)
    assert list_jobs(sim, type="upscale")["jobs"] == []
    assert len(list_jobs(sim, type="custom")["jobs"]) == 2
