"""`batchgen report --choices`: reading reviewers' files, win rates, and --out that
never overwrites someone else's results.csv."""

from __future__ import annotations

import json

import pytest

from batchgen.cli import main
from batchgen.report.choices import win_rates
from report_sweep import make_finished_run


@pytest.fixture
def folder(tmp_path):
    make_finished_run(tmp_path / "out")
    return tmp_path / "out"


@pytest.mark.parametrize("content, words", [
    ("not json", "not a readable choices.json"),
    ('{"version": 2, "choices": []}', 'a choices file is {"version": 1'),
    ('{"version": 1, "choices": [{"rating": 1}]}', 'choice 1: each choice needs "key"'),
    ('{"version": 1, "choices": [{"key": "k", "rating": 2}]}', '"rating" is 1 (up) or -1 (down), not 2'),
    ('{"version": 1, "choices": [{"key": "k", "score": 6}]}', '"score" is a whole number from 1 to 5'),
    ('{"version": 1, "choices": [{"key": "k", "winner": "yes"}]}', '"winner" is true or false'),
])
def test_a_broken_choices_file_is_named_with_its_rule_and_nothing_is_written(folder, tmp_path, capsys,
                                                                              content, words):
    (tmp_path / "c.json").write_text(content)
    assert main(["report", str(folder), "--choices", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "c.json") in err and words in err and "Traceback" not in err
    assert not (folder / "report.html").exists()


def test_a_missing_choices_file_is_a_clear_error(folder, tmp_path, capsys):
    assert main(["report", str(folder), "--choices", str(tmp_path / "nope.json")]) == 2
    assert "no such choices file" in capsys.readouterr().err


def test_win_rates_count_rows_with_a_winner_and_give_ties_to_each():
    def job(key, prompt, res, hdr):
        return {"key": key, "id": prompt, "params": {"resolution": res, "hdr": hdr}, "variables": {}}

    jobs = [job("a", "p", "720p", False), job("b", "p", "720p", True),
            job("c", "p", "1080p", False), job("d", "p", "1080p", True),
            job("e", "q", "720p", False), job("f", "q", "720p", True)]
    rates = win_rates(jobs, {"resolution": ["720p", "1080p"], "hdr": [False, True]},
                      {"b": 1, "d": 2, "c": 2, "f": 1})
    # hdr rows: (p,720p) b wins; (p,1080p) c and d tie; (q,720p) f wins.
    assert rates["hdr"] == {"false": {"wins": 1, "rows": 3}, "true": {"wins": 3, "rows": 3}}
    # resolution rows: (p,false) c wins; (p,true) d wins; (q,false) undecided; (q,true) one value.
    assert rates["resolution"] == {"720p": {"wins": 1, "rows": 3}, "1080p": {"wins": 2, "rows": 2}}


def test_out_file_refuses_to_overwrite_a_foreign_results_csv(folder, tmp_path, capsys):
    site = tmp_path / "site"
    site.mkdir()
    (site / "results.csv").write_text("quarter,revenue\nQ1,100\n")
    assert main(["report", str(folder), "--out", str(site / "sweep.html")]) == 2
    assert "results.csv exists and was not written by batchgen report" in capsys.readouterr().err
    assert (site / "results.csv").read_text() == "quarter,revenue\nQ1,100\n"
    assert not (site / "sweep.html").exists()
    assert main(["report", str(folder), "--out", str(site / "sweep.html"), "--force"]) == 0
    assert (site / "results.csv").read_text().startswith("key,id,sample")


def test_out_file_rewrites_its_own_results(folder, tmp_path):
    assert main(["report", str(folder), "--out", str(tmp_path / "site" / "a.html")]) == 0
    assert main(["report", str(folder), "--out", str(tmp_path / "site" / "a.html")]) == 0


def test_shard_needs_one_manifest(folder, capsys):
    assert main(["report", str(folder), "--shard", "1/2"]) == 2
    assert "--shard applies to one manifest" in capsys.readouterr().err


def test_report_of_a_manifest_shard_reads_its_folder(tmp_path, capsys):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\nname: s\noutput: out\nprompts:\n  - id: a\n    prompt: A\n"
                        "  - id: b\n    prompt: B\nmatrix:\n  resolution: [540p, 720p]\n")
    assert main(["report", str(manifest), "--shard", "2/2"]) == 0
    out = capsys.readouterr().out
    data = json.loads((tmp_path / "out" / "shard-2-of-2" / "results.json").read_text())
    assert 0 < len(data["jobs"]) < 4 and "shard-2-of-2" in out
