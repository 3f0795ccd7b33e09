"""The simulator's job list: newest first, pages, filters, and the documented rules."""

from __future__ import annotations

import pytest

from simkit import ManualClock, request, simulator, submit
from batchgen.timestamps import iso


def sim_with_jobs(n, **knobs):
    clock = ManualClock()
    knobs.setdefault("short_page_rate", 0.0)  # whole pages, unless a test asks for short ones
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
    changed = list_jobs(sim, type="custom", updatedAfter=since)["jobs"]
    updated = [j["updatedAt"] for j in changed]
    assert updated == sorted(updated, reverse=True) and all(u > since for u in updated)
    assert {j["jobId"]: j["status"] for j in changed}[ids[0]] == "success"
    assert list_jobs(sim, type="custom", updatedAfter=updated[0])["jobs"] == []


def test_type_and_types_filter_on_the_job_type():
    sim, _, _ = sim_with_jobs(2)
    assert list_jobs(sim, type="upscale")["jobs"] == []
    assert len(list_jobs(sim, type="custom")["jobs"]) == 2
    assert len(list_jobs(sim, types="upscale,custom")["jobs"]) == 2
    # "If types is defined, type will be ignored" (types/job_list_params.py)
    assert list_jobs(sim, types="upscale", type="custom")["jobs"] == []


@pytest.mark.parametrize("narrowing", [{"status": "success"}, {"type": "custom"},
                                       {"types": "custom"}, {"workflowId": "wf_1"}])
def test_created_after_is_refused_with_any_filter_that_sorts_by_update(narrowing):
    sim, clock, _ = sim_with_jobs(1)
    answer = request(sim, "GET", "jobs", params={"createdAfter": iso(clock.now - 60), **narrowing})
    assert answer.status_code == 400 and "createdAfter" in answer.json()["reason"]


def test_updated_after_alone_is_refused_as_documented():
    sim, clock, _ = sim_with_jobs(1)
    answer = request(sim, "GET", "jobs", params={"updatedAfter": iso(clock.now - 60)})
    assert answer.status_code == 400
    assert "updatedAfter" in answer.json()["reason"] and "createdAfter" in answer.json()["reason"]
    for narrowing in ({"status": "pending"}, {"type": "custom"}, {"types": "custom,upscale"},
                      {"workflowId": "wf_1"}):
        params = {"updatedAfter": iso(clock.now - 60), **narrowing}
        assert request(sim, "GET", "jobs", params=params).status_code == 200


def test_a_type_filter_sorts_by_update_date():
    clock = ManualClock()
    sim = simulator(clock=clock, duration_range=(100, 100), short_page_rate=0.0)
    older = submit(sim)["jobId"]
    clock.advance(3)
    newer = submit(sim)["jobId"]
    clock.advance(97.5)  # the older job has just succeeded; the newer one finalizes since 93 s
    assert [j["jobId"] for j in list_jobs(sim, type="custom")["jobs"]] == [older, newer]
    assert [j["jobId"] for j in list_jobs(sim)["jobs"]] == [newer, older]  # by creation date


def test_short_and_empty_pages_come_while_a_token_is_set_and_paging_still_sees_every_job():
    # Enough pages (about 40) that an empty one comes whatever the seed draws: each page is
    # empty with a chance of 0.6 x 1/4.
    sim, _, ids = sim_with_jobs(100, short_page_rate=0.6, seed=11)
    seen, sizes, token = [], [], None
    while True:
        answer = list_jobs(sim, pageSize=4, **({"paginationToken": token} if token else {}))
        seen += [j["jobId"] for j in answer["jobs"]]
        sizes.append(len(answer["jobs"]))
        token = answer["nextPaginationToken"]
        if not token:
            break
    assert seen == ids[::-1]
    assert 0 in sizes[:-1] and any(0 < n < 4 for n in sizes[:-1])


def test_short_pages_are_on_by_default_and_seeded():
    def sizes(seed):
        sim, _, _ = sim_with_jobs(20, short_page_rate=simulator().short_page_rate, seed=seed)
        out, token = [], None
        while True:
            answer = list_jobs(sim, pageSize=5, **({"paginationToken": token} if token else {}))
            out.append(len(answer["jobs"]))
            token = answer["nextPaginationToken"]
            if not token:
                return out
    assert simulator().short_page_rate > 0
    assert sizes(5) == sizes(5) and any(n < 5 for n in sizes(5)[:-1])


def test_a_fresh_job_is_unreadable_and_unlisted_for_the_knobs_seconds():
    clock = ManualClock()
    sim = simulator(clock=clock, unreadable_for=30, time_scale=2.0, short_page_rate=0.0)
    job_id = submit(sim)["jobId"]
    clock.advance(14)  # 28 simulated seconds
    assert request(sim, "GET", f"jobs/{job_id}").status_code == 404
    assert list_jobs(sim)["jobs"] == []
    clock.advance(2)
    assert request(sim, "GET", f"jobs/{job_id}").status_code == 200
    assert [j["jobId"] for j in list_jobs(sim)["jobs"]] == [job_id]
