"""The local index of paid results: where it lives, what it keeps, and that it never
fails a run (a broken index only loses the reuse)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from batchgen.reuse.index import CACHE_ENV, INDEX_NAME, Index, Result, cache_dir


def result(key: str, output: str = "/data/out", t: str = "2026-01-01T00:00:00.000Z") -> Result:
    return Result.of(key, output, ({"path": f"{key}.mp4", "sha256": "ab" * 32,
                                    "bytes": 10, "assetId": f"asset_{key}"},),
                     job_id=f"job_{key}", cost=30.0, t=t, model="luma-ray-3-2", body_hash="b" * 16)


def test_the_cache_folder_is_batchgen_cache_dir_then_xdg_then_home():
    assert cache_dir({CACHE_ENV: "/c", "XDG_CACHE_HOME": "/x"}) == Path("/c")
    assert cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/batchgen")
    assert cache_dir({}) == Path(os.path.expanduser("~")) / ".cache" / "batchgen"


def test_the_tests_never_use_the_real_cache(tmp_path_factory):
    assert Path(os.environ[CACHE_ENV]).is_relative_to(tmp_path_factory.getbasetemp())
    assert Index().path == Path(os.environ[CACHE_ENV]) / INDEX_NAME


def test_recorded_results_are_found_by_key_with_every_field(tmp_path):
    index = Index(tmp_path / "i.sqlite3")
    assert index.record([result("k1"), result("k2", "/data/other")]) == 2
    found = Index(tmp_path / "i.sqlite3").lookup(["k1", "k2", "k3"])
    assert found == {"k1": [result("k1")], "k2": [result("k2", "/data/other")]}
    assert index.problem is None


def test_a_key_in_two_folders_gives_both_newest_first_and_excluded_folders_are_left_out(tmp_path):
    index = Index(tmp_path / "i.sqlite3")
    index.record([result("k", "/a", "2026-01-01T00:00:00.000Z"),
                  result("k", "/b", "2026-02-01T00:00:00.000Z")])
    assert [r.output for r in index.lookup(["k"])["k"]] == ["/b", "/a"]
    assert [r.output for r in index.lookup(["k"], exclude=["/b"])["k"]] == ["/a"]


def test_recording_a_key_again_in_the_same_folder_replaces_it(tmp_path):
    index = Index(tmp_path / "i.sqlite3")
    index.record([result("k")])
    newer = Result.of("k", "/data/out", (), job_id="job_2")
    index.record([newer])
    assert index.lookup(["k"]) == {"k": [newer]}


def test_the_database_is_in_wal_mode(tmp_path):
    import sqlite3

    Index(tmp_path / "i.sqlite3").record([result("k")])
    db = sqlite3.connect(tmp_path / "i.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_damaged_index_is_a_problem_sentence_never_an_exception(tmp_path):
    path = tmp_path / "i.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    index = Index(path)
    assert index.record([result("k")]) == 0
    assert index.lookup(["k"]) == {}
    assert str(path) in index.problem and "delete it" in index.problem


def test_an_index_that_cannot_be_created_is_a_problem_never_an_exception(tmp_path):
    (tmp_path / "file").write_text("")
    index = Index(tmp_path / "file" / "i.sqlite3")  # its folder would be below a file
    assert index.record([result("k")]) == 0
    assert index.problem is not None


def test_looking_up_in_a_missing_index_creates_nothing(tmp_path):
    index = Index(tmp_path / "cache" / "i.sqlite3")
    assert index.lookup(["k"]) == {}
    assert not (tmp_path / "cache").exists()


def _write_many(path: str, output: str, start) -> None:
    start.wait()
    index = Index(path)
    for n in range(20):  # many transactions, interleaved with the other writer's
        assert index.record([result(f"{output}-{n}-{i}", output) for i in range(250)]) == 250
    assert index.problem is None


def test_two_runs_writing_the_index_at_once_both_keep_every_row(tmp_path):
    path = str(tmp_path / "i.sqlite3")
    Index(path).record([result("first")])  # created (and in WAL mode) before they start
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    writers = [context.Process(target=_write_many, args=(path, f"/out/{n}", start))
               for n in range(2)]
    for writer in writers:
        writer.start()
    start.set()
    for writer in writers:
        writer.join(60)
    assert [writer.exitcode for writer in writers] == [0, 0]
    keys = [f"/out/{w}-{n}-{i}" for w in range(2) for n in range(20) for i in range(250)]
    assert len(Index(path).lookup(keys)) == 10_000


def test_only_results_made_on_the_runs_api_are_kept_whatever_its_label_looks_like():
    from batchgen.reuse.sources import on_api

    def made_on(api, key="k"):
        return Result.of(key, f"/data/{api}", ({"path": "a.mp4", "sha256": "ab" * 32,
                                                "bytes": 10},), api=api)

    found = {"k": [made_on("simulated"), made_on("http://127.0.0.1:8787/v1/"),
                   made_on("https://api.example.test/v1")],
             "old": [Result.of("old", "/data/old", ())]}  # recorded before the API was
    assert {k: [r.api for r in rs] for k, rs in on_api(found, "simulated").items()} == \
        {"k": ["simulated"]}
    assert [r.api for r in on_api(found, "http://127.0.0.1:8787/v1")["k"]] == \
        ["http://127.0.0.1:8787/v1/"]  # the same API, its label spelled otherwise
    assert on_api(found, "scenario") == {}  # a row without a label: no API's
    assert on_api(found, None) == found  # plan, which knows no API, counts them all
    every = {"a": [made_on("simulated", "a")], "b": [made_on("simulated", "b")] * 2}
    assert on_api(every, "simulated") == every  # all of this API: all kept
    # A label inside another field's text is no `api` field (quotes are escaped there).
    tricky = Result.of("t", '/data/"api":"simulated"', ({"path": '"api":"simulated"',
                                                         "sha256": "", "bytes": 1},), api="x")
    assert on_api({"t": [tricky]}, "simulated") == {}


def test_an_index_of_the_first_schema_is_replaced_and_then_works(tmp_path):
    import sqlite3

    # Schema 1 as batchgen 0.1 development builds wrote it: one row of columns per result.
    old = sqlite3.connect(tmp_path / "i.sqlite3")
    old.executescript("""
        CREATE TABLE results (key TEXT NOT NULL, folder TEXT NOT NULL, model TEXT NOT NULL,
            body_hash TEXT, job_id TEXT, cost REAL, files TEXT NOT NULL, t TEXT,
            PRIMARY KEY (key, folder)) WITHOUT ROWID;
        INSERT INTO results VALUES ('k0', '/data/out', 'luma-ray-3-2', NULL, 'job_0', 30, '[]', NULL);
        PRAGMA user_version = 1;
    """)
    old.close()
    index = Index(tmp_path / "i.sqlite3")
    assert index.record([result("k1")]) == 1
    assert Index(tmp_path / "i.sqlite3").lookup(["k0", "k1"]) == {"k1": [result("k1")]}
    assert index.problem is None
