"""The simulator's jobs: lifecycle, constraints, ceiling, listing, counters."""

from __future__ import annotations

import base64

import pytest

from simkit import KEY, MODEL, ManualClock, png, request, simulator, submit

RUNNING = ["pending", "queued", "warming-up", "in-progress", "finalizing"]


def sim_with_clock(**knobs):
    clock = ManualClock()
    return simulator(clock=clock, duration_range=(100, 100), **knobs), clock


def get_job(sim, job_id):
    return request(sim, "GET", f"jobs/{job_id}").json()["job"]


def test_a_job_goes_through_every_running_status_then_success():
    sim, clock = sim_with_clock()
    job = submit(sim)
    seen = []
    for _ in range(101):
        status = get_job(sim, job["jobId"])["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        clock.advance(1)
    assert seen == RUNNING + ["success"]


def test_status_history_lists_every_status_reached_with_dates_in_order():
    sim, clock = sim_with_clock()
    job = submit(sim)
    clock.advance(100)
    history = get_job(sim, job["jobId"])["statusHistory"]
    assert [h["status"] for h in history] == RUNNING + ["success"]
    assert [h["date"] for h in history] == sorted(h["date"] for h in history)


def test_progress_rises_while_in_progress_and_is_one_on_success():
    sim, clock = sim_with_clock()
    job_id = submit(sim)["jobId"]
    values = []
    for _ in range(100):
        values.append(get_job(sim, job_id)["progress"])
        clock.advance(1)
    assert values == sorted(values) and values[0] == 0 and 0 < values[50] < 1
    assert get_job(sim, job_id)["progress"] == 1


def test_time_scale_speeds_jobs_up():
    sim, clock = sim_with_clock(time_scale=50)
    job_id = submit(sim)["jobId"]
    clock.advance(1.9)
    assert get_job(sim, job_id)["status"] != "success"
    clock.advance(0.2)
    assert get_job(sim, job_id)["status"] == "success"


def test_a_successful_job_names_its_assets_and_keeps_its_input():
    sim, clock = sim_with_clock()
    body = {"prompt": "a fox", "resolution": "1080p"}
    job_id = submit(sim, body)["jobId"]
    assert "assetIds" not in get_job(sim, job_id)["metadata"]
    clock.advance(100)
    metadata = get_job(sim, job_id)["metadata"]
    assert metadata["input"] == body and len(metadata["assetIds"]) == 1


def test_failure_rate_makes_jobs_fail_with_error_and_hint():
    sim, clock = sim_with_clock(failure_rate=1.0)
    job_id = submit(sim)["jobId"]
    clock.advance(100)
    job = get_job(sim, job_id)
    assert job["status"] == "failure"
    assert job["metadata"]["error"] and job["metadata"]["hint"]
    assert "assetIds" not in job["metadata"]


@pytest.mark.parametrize("body, message", [
    ({}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": "x" * 6001}, "6000"),
    ({"prompt": "a", "duration": 5}, "duration"),
    ({"prompt": "a", "duration": "7s"}, "duration"),
    ({"prompt": "a", "resolution": "4k"}, "resolution"),
    ({"prompt": "a", "aspectRatio": "2:1"}, "aspectRatio"),
    ({"prompt": "a", "loop": "yes"}, "loop"),
    ({"prompt": "a", "duration": "10s", "loop": True}, "loop"),
    ({"prompt": "a", "duration": "10s", "hdr": True}, "hdr"),
    ({"prompt": "a", "hdr": True, "resolution": "540p"}, "720p or 1080p"),
    ({"prompt": "a", "startFrame": "asset_missing"}, "startFrame"),
    ({"prompt": "a", "colour": "red"}, "colour"),
])
def test_bodies_the_model_rejects_get_400_with_a_message(body, message):
    sim, _ = sim_with_clock()
    answer = request(sim, "POST", f"generate/custom/{MODEL}", json=body)
    assert answer.status_code == 400
    assert message in answer.json()["reason"]
    assert sim.jobs == {}


def test_frames_must_be_uploaded_images_and_end_frame_needs_a_start_frame():
    sim, _ = sim_with_clock()
    frame = request(sim, "POST", "assets", json={"image": base64.b64encode(png()).decode(), "name": "f.png"})
    frame_id = frame.json()["asset"]["id"]
    alone = request(sim, "POST", f"generate/custom/{MODEL}", json={"prompt": "a", "endFrame": frame_id})
    assert alone.status_code == 400 and "requires" in alone.json()["reason"]
    ok = request(sim, "POST", f"generate/custom/{MODEL}",
                 json={"prompt": "a", "startFrame": frame_id, "endFrame": frame_id})
    assert ok.status_code == 200
    ten = request(sim, "POST", f"generate/custom/{MODEL}",
                  json={"prompt": "a", "startFrame": frame_id, "duration": "10s"})
    assert ten.status_code == 400 and "startFrame" in ten.json()["reason"]


def test_dry_run_answers_269_with_a_cost_and_creates_nothing():
    sim, _ = sim_with_clock()
    answer = request(sim, "POST", f"generate/custom/{MODEL}", params={"dryRun": "true"},
                     json={"prompt": "a"})
    assert answer.status_code == 269
    assert answer.json()["creativeUnitsCost"] > 0
    assert sim.jobs == {} and sim.counters.generate_calls == {}


def dry_cost(sim, **body):
    answer = request(sim, "POST", f"generate/custom/{MODEL}", params={"dryRun": "true"},
                     json={"prompt": "a", **body})
    return answer.json()["creativeUnitsCost"]


def test_dry_run_cost_grows_with_duration_resolution_and_hdr():
    sim, _ = sim_with_clock()
    base = dry_cost(sim)
    assert dry_cost(sim, duration="10s") > base
    assert dry_cost(sim, resolution="1080p") > base > dry_cost(sim, resolution="540p")
    assert dry_cost(sim, hdr=True) > base


def test_dry_run_checks_the_constraints_too():
    sim, _ = sim_with_clock()
    answer = request(sim, "POST", f"generate/custom/{MODEL}", params={"dryRun": "true"},
                     json={"prompt": "a", "hdr": True, "resolution": "540p"})
    assert answer.status_code == 400


def test_ceiling_answers_429_with_action_limit_and_retry_after():
    sim, clock = sim_with_clock(ceiling=2, retry_after=5, time_scale=10)
    submit(sim)
    submit(sim)
    answer = request(sim, "POST", f"generate/custom/{MODEL}", json={"prompt": "third"})
    assert answer.status_code == 429
    assert answer.json()["details"] == {"actionName": "custom-generation", "actionLimit": 2}
    assert float(answer.headers["retry-after"]) == pytest.approx(0.5)
    assert sim.counters.rate_limited == 1 and len(sim.jobs) == 2


def test_the_ceiling_frees_up_when_jobs_finish():
    sim, clock = sim_with_clock(ceiling=1)
    submit(sim)
    clock.advance(100)
    submit(sim)
    assert sim.peak_in_flight == 1


def test_peak_in_flight_counts_overlapping_jobs():
    sim, clock = sim_with_clock(ceiling=10)
    for _ in range(3):
        submit(sim)
        clock.advance(10)
    clock.advance(200)
    submit(sim)
    assert sim.peak_in_flight == 3 and sim.in_flight() == 1


def test_counters_count_generate_calls_per_body_and_calls_per_route():
    sim, _ = sim_with_clock()
    submit(sim, {"prompt": "b", "loop": True})
    submit(sim, {"loop": True, "prompt": "b"})
    submit(sim, {"prompt": "c"})
    request(sim, "GET", "jobs")
    assert sim.counters.generate_calls['{"loop":true,"prompt":"b"}'] == 2
    assert sim.counters.jobs_created['{"prompt":"c"}'] == 1
    assert sim.counters.calls["POST /generate/custom/{model_id}"] == 3
    assert sim.counters.calls["GET /jobs"] == 1


def test_timings_expose_each_jobs_creation_end_and_drawn_duration():
    sim, clock = sim_with_clock(time_scale=2)
    job_id = submit(sim)["jobId"]
    (timing,) = sim.timings()
    assert timing.job_id == job_id and timing.duration == 100
    assert timing.finished - timing.created == pytest.approx(50)
    assert timing.status == "success" and timing.first_download is None


def test_same_seed_gives_the_same_jobs():
    def ids(seed):
        sim, _ = sim_with_clock(seed=seed)
        sim.duration_range = (10, 90)
        return [submit(sim)["jobId"] for _ in range(3)], [t.duration for t in sim.timings()]
    assert ids(7) == ids(7)
    assert ids(7) != ids(8)


def test_wrong_credentials_get_401():
    sim, _ = sim_with_clock()
    answer = request(sim, "GET", "jobs", auth=(KEY, "wrong"))
    assert answer.status_code == 401 and sim.counters.unauthorized == 1
    assert request(sim, "GET", "jobs", auth=None).status_code == 401


def test_unknown_job_and_unknown_model_get_404():
    sim, _ = sim_with_clock()
    assert request(sim, "GET", "jobs/job_nope").status_code == 404
    assert request(sim, "POST", "generate/custom/model_other", json={"prompt": "a"}).status_code == 404


def test_access_denied_knob_answers_403_naming_the_model_and_plan():
    sim, _ = sim_with_clock(access_denied=True)
    answer = request(sim, "POST", f"generate/custom/{MODEL}", json={"prompt": "a"})
    assert answer.status_code == 403
    assert MODEL in answer.json()["reason"] and "plan" in answer.json()["reason"]


def test_the_served_model_definition_is_a_knob():
    sim, _ = sim_with_clock()
    served = request(sim, "GET", f"models/{MODEL}").json()["model"]
    names = [i["name"] for i in served["inputs"]]
    assert names == ["prompt", "startFrame", "endFrame", "duration", "resolution", "aspectRatio",
                     "loop", "hdr"]
    sim.model_inputs[3]["allowedValues"].append("15s")
    drifted = request(sim, "GET", f"models/{MODEL}").json()["model"]["inputs"][3]
    assert drifted["allowedValues"] == ["5s", "10s", "15s"]
