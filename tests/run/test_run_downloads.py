"""Verified downloads: complete, checked files under their final names, renewed when needed."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

from batchgen.run.download import DownloadTiming, asset_filename
from runkit import client_for, events, make_batch, make_job, run, sha256_of, simulator

CDN = "GET /cdn"


def _jobs(n: int):
    return [make_job(f"a rainy street, take {i}", duration="5s") for i in range(n)]


def _server_bytes(sim, batch, job) -> bytes:
    [record] = [e for e in events(batch, "file") if e["key"] == job.key][-1:]
    return sim.assets[record["assetId"]].data


def test_the_second_and_later_assets_of_a_job_get_a_numbered_name():
    assert asset_filename("knight/720p-1.mp4", 0) == "knight/720p-1.mp4"
    assert asset_filename("knight/720p-1.mp4", 1) == "knight/720p-1-2.mp4"
    assert asset_filename("clip", 2) == "clip-3"


def test_downloaded_files_hold_exactly_the_servers_bytes(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _jobs(3))
    run(batch, client_for(sim))
    for job in batch.jobs:
        assert (batch.output / job.filename).read_bytes() == _server_bytes(sim, batch, job)


def test_a_truncated_download_is_tried_again_and_never_kept(tmp_path):
    # No short pages: their draws share the dice with the faults, so how many list calls a
    # run makes would decide which downloads are cut.
    sim = simulator(truncate_rate=0.5, seed=3, short_page_rate=0.0)
    batch = make_batch(tmp_path, _jobs(6))
    # Twelve attempts: a file cut short every time (0.5 ** 12) is not what this is about.
    summary = run(batch, client_for(sim), download=DownloadTiming(attempts=12, retry_wait=0.01,
                                                                  pending_wait=0.01))
    assert summary.exit_code == 0
    assert sim.counters.dropped > 0
    for job in batch.jobs:
        assert (batch.output / job.filename).read_bytes() == _server_bytes(sim, batch, job)
    assert not list(batch.output.rglob("*.part"))


def test_a_download_that_keeps_failing_is_reported_and_left_for_the_next_run(tmp_path):
    sim = simulator(truncate_rate=1.0)
    batch = make_batch(tmp_path, _jobs(1))
    summary = run(batch, client_for(sim))
    assert summary.exit_code == 1 and summary.download_errors
    assert summary.counts["running"] == 1  # generated, file missing
    assert not (batch.output / batch.jobs[0].filename).exists()
    assert not list(batch.output.rglob("*.part"))

    sim.faults = dataclasses.replace(sim.faults, truncate=0.0)
    again = run(batch, client_for(sim))
    assert again.exit_code == 0 and again.submitted == 0 and again.downloaded == 1


class StaleURLs:
    """A client whose first look at each asset gives a URL the CDN refuses (expired)."""

    def __init__(self, client: Any):
        self._client = client
        self.seen: set[str] = set()

    async def get_asset(self, asset_id: str) -> dict:
        return self._first_look_stale(await self._client.get_asset(asset_id))

    async def get_assets(self, asset_ids: Any) -> list[dict]:
        return [self._first_look_stale(a) for a in await self._client.get_assets(asset_ids)]

    def _first_look_stale(self, asset: dict) -> dict:
        if asset["id"] not in self.seen:
            self.seen.add(asset["id"])
            asset = {**asset, "url": re.sub(r"expires=\d+", "expires=1000", asset["url"])}
        return asset

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def __aenter__(self):
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.__aexit__(*exc)


def test_an_expired_download_url_is_renewed_by_fetching_the_asset_again(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _jobs(2))
    summary = run(batch, StaleURLs(client_for(sim)))
    assert summary.exit_code == 0
    # The first look at each asset comes from the poller's get-bulk, the renewal from a GET.
    assert sim.counters.calls["GET /assets/{asset_id}"] == 2
    assert sim.counters.calls[CDN] == 4  # refused once, then downloaded


def test_renewing_an_expired_url_does_not_wait_for_the_failure_back_off(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _jobs(3))
    slow_back_off = DownloadTiming(attempts=3, retry_wait=60.0, pending_wait=0.01)
    started = time.monotonic()
    summary = run(batch, StaleURLs(client_for(sim)), download=slow_back_off)
    assert summary.exit_code == 0 and summary.downloaded == 3
    assert sim.counters.calls[CDN] == 6  # every first URL was refused and renewed
    assert time.monotonic() - started < 20  # one back-off alone would take 60 s


def test_a_cdn_refusing_every_url_is_renewed_a_bounded_number_of_times_then_reported(tmp_path):
    sim = simulator(expire_rate=1.0)
    batch = make_batch(tmp_path, _jobs(1))
    timing = DownloadTiming(attempts=3, retry_wait=0.01, pending_wait=0.01, renewals=4)
    summary = run(batch, client_for(sim), download=timing)
    assert summary.exit_code == 1 and summary.counts["running"] == 1
    assert summary.download_errors and "refused" in summary.download_errors[0]
    # Four immediate renewals, then each expiry counts as one of the three attempts.
    assert sim.counters.calls[CDN] == sim.counters.expired == 4 + 3
    assert not (batch.output / batch.jobs[0].filename).exists()


def test_a_file_present_with_its_recorded_sha256_is_not_fetched_again(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _jobs(2))
    run(batch, client_for(sim))
    before = sim.counters.calls[CDN]
    summary = run(batch, client_for(sim))
    assert summary.downloaded == 0 and sim.counters.calls[CDN] == before


def test_a_deleted_file_is_fetched_again(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _jobs(2))
    run(batch, client_for(sim))
    gone = batch.output / batch.jobs[0].filename
    gone.unlink()
    summary = run(batch, client_for(sim))
    assert summary.exit_code == 0 and summary.downloaded == 1 and summary.submitted == 0
    assert gone.read_bytes() == _server_bytes(sim, batch, batch.jobs[0])


def test_an_altered_file_is_fetched_again(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, _jobs(2))
    run(batch, client_for(sim))
    altered = batch.output / batch.jobs[1].filename
    recorded = sha256_of(altered)
    data = bytearray(altered.read_bytes())
    data[-1] ^= 0xFF  # same size, different content
    altered.write_bytes(bytes(data))
    summary = run(batch, client_for(sim))
    assert summary.downloaded == 1 and sha256_of(altered) == recorded


def test_temporary_files_a_killed_run_left_behind_are_removed(tmp_path):
    batch = make_batch(tmp_path, _jobs(1))
    leftover = batch.output / "a-rainy-street" / ".clip.mp4.1a2b3c4d.part"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a video")
    run(batch, client_for(simulator()))
    assert not leftover.exists()
