"""`--shard I/N`: parsing, a deterministic split by key, and one ledger per shard."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from batchgen.errors import UsageError
from batchgen.run.shards import (BY_KEY, Shard, check_ledger_shard, parse_shard, recorded_split,
                                 select, shard_output)
from runkit import make_job


@dataclass(frozen=True)
class Keyed:
    """A job as a shard sees it: its key, and the hash of its request (three samples each)."""

    key: str
    body: str

    def request_hash(self) -> str:
        return self.body


def keys(n: int) -> list[Keyed]:
    return [Keyed(hashlib.sha256(str(i).encode()).hexdigest()[:16],
                  hashlib.sha256(str(i // 3).encode()).hexdigest()[:16]) for i in range(n)]


def test_parse_shard_reads_one_based_index_and_count():
    assert parse_shard("2/4") == Shard(2, 4)
    assert parse_shard(" 1 / 1 ") == Shard(1, 1)


@pytest.mark.parametrize("text", ["0/4", "5/4", "2/0", "2", "a/b", "2/4/1", "-1/4", ""])
def test_parse_shard_refuses_malformed_or_out_of_range_specs(text):
    with pytest.raises(UsageError, match="--shard"):
        parse_shard(text)


def test_shard_zero_error_explains_that_shards_count_from_one():
    with pytest.raises(UsageError, match="count from 1"):
        parse_shard("0/4")


def test_shards_partition_the_jobs_exactly_once():
    jobs = keys(500)
    parts = [select(jobs, Shard(i, 4)) for i in range(1, 5)]
    assert sorted(j.key for p in parts for j in p) == sorted(j.key for j in jobs)
    assert all(len(p) > 80 for p in parts)  # roughly even: 125 each expected


def test_selection_depends_on_the_key_not_on_order():
    jobs = keys(100)
    shard = Shard(3, 5)
    assert {j.key for j in select(jobs, shard)} == {j.key for j in select(jobs[::-1], shard)}


def test_selection_keeps_manifest_order():
    jobs = keys(100)
    chosen = select(jobs, Shard(1, 3))
    assert chosen == [j for j in jobs if j in chosen]


def test_all_samples_of_one_request_body_fall_in_the_same_shard():
    jobs = [make_job(f"a harbour, take {n}", sample=s) for n in range(40) for s in (1, 2, 3)]
    for shard in (Shard(1, 3), Shard(2, 3), Shard(3, 3)):
        chosen = select(jobs, shard)
        bodies = {job.prompt for job in chosen}
        assert chosen == [job for job in jobs if job.prompt in bodies]  # whole bodies only


def test_a_split_by_key_separates_samples_as_folders_of_older_versions_did():
    jobs = [make_job(f"a harbour, take {n}", sample=s) for n in range(40) for s in (1, 2, 3)]
    chosen = select(jobs, Shard(1, 3, BY_KEY))
    assert chosen == [job for job in jobs if int(job.key, 16) % 3 == 0]


def test_a_set_of_shards_keeps_the_split_its_folders_were_started_with(tmp_path: Path):
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text('{"event":"run","t":"2026-01-01T00:00:00Z","shard":"1/2"}\n')
    new.write_text('{"event":"run","t":"2026-01-01T00:00:00Z","shard":"1/3","split":"body"}\n')
    assert recorded_split([new, old], Shard(2, 2)) == Shard(2, 2, BY_KEY)
    assert recorded_split([new, old], Shard(3, 3)) == Shard(3, 3)
    assert recorded_split([tmp_path / "none.jsonl"], Shard(1, 4)) == Shard(1, 4)


def test_selection_rule_is_key_as_hex_modulo_count():
    assert Shard(1, 2).owns("0000000000000002")
    assert Shard(2, 2).owns("0000000000000003")
    assert Shard(3, 3).owns("00000000000000ff") is False  # 255 % 3 == 0 -> shard 1


def test_no_shard_selects_every_job():
    jobs = keys(10)
    assert select(jobs, None) == jobs


def test_each_shard_gets_its_own_output_folder(tmp_path: Path):
    assert shard_output(tmp_path, Shard(2, 4)) == tmp_path / "shard-2-of-4"
    assert shard_output(tmp_path, None) == tmp_path


def test_ledger_of_another_split_is_refused():
    with pytest.raises(UsageError, match="--shard 1/4.*not --shard 2/4"):
        check_ledger_shard([{"event": "run", "shard": "1/4"}], Shard(2, 4), "out/ledger.jsonl")


def test_unsharded_ledger_is_refused_for_a_shard():
    with pytest.raises(UsageError, match="no --shard"):
        check_ledger_shard([{"event": "run", "shard": None}], Shard(1, 2), "ledger.jsonl")


def test_ledger_of_the_same_shard_is_accepted():
    check_ledger_shard([{"event": "run", "shard": "2/4", "split": "body"}, {"event": "intent"}],
                       Shard(2, 4), "l")
    check_ledger_shard([{"event": "run", "shard": "2/4"}], Shard(2, 4, BY_KEY), "l")
    check_ledger_shard([{"event": "run", "shard": None}], None, "l")


def test_a_folder_split_by_key_is_refused_for_a_split_by_body():
    with pytest.raises(UsageError, match="split by key, not by body"):
        check_ledger_shard([{"event": "run", "shard": "1/2"}], Shard(1, 2), "out/ledger.jsonl")
