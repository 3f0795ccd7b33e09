"""`batchgen report`: the report of output folders, from their ledgers."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

from batchgen.cli import main
from batchgen.jobs import Job
from batchgen.ledger.events import LedgerWriter, ledger_path
from batchgen.simulator.media import video_for
from batchgen.ledger.status import write_batch_snapshot


def job(n: int, resolution: str) -> Job:
    return Job(key=f"key{n:013d}", id="knight", index=1, sample=1, model="model_luma-ray-3-2",
               prompt="A knight walks through fog", params={"resolution": resolution},
               filename=f"knight/{resolution}.mp4")


def finished_run(folder: Path, jobs: list[Job], *, failed: tuple[str, ...] = ()) -> None:
    """What `run` leaves: batch.json, the ledger and the verified files."""
    write_batch_snapshot(SimpleNamespace(name="knight-sweep", model="model_luma-ray-3-2",
                                         axes={"resolution": ["540p", "720p"]}, jobs=jobs), folder)
    with LedgerWriter(ledger_path(folder)) as ledger:
        for j in jobs:
            ledger.append({"event": "intent", "key": j.key, "id": j.id, "sample": j.sample,
                           "body": j.body()})
            ledger.append({"event": "submitted", "key": j.key, "jobId": f"job_{j.key}", "cost": 12})
            if j.key in failed:
                ledger.append({"event": "failed", "key": j.key, "jobId": f"job_{j.key}",
                               "error": "content policy", "hint": "reword the prompt"})
                continue
            ledger.append({"event": "succeeded", "key": j.key, "jobId": f"job_{j.key}",
                           "assetIds": [f"asset_{j.key}"], "cost": 12})
            video = video_for(f"job_{j.key}")
            (folder / j.filename).parent.mkdir(parents=True, exist_ok=True)
            (folder / j.filename).write_bytes(video)
            ledger.append({"event": "file", "key": j.key, "assetId": f"asset_{j.key}", "path": j.filename,
                           "bytes": len(video), "sha256": hashlib.sha256(video).hexdigest()})


def report_data(report: Path) -> dict:
    page = report.read_text(encoding="utf-8")
    start = page.index('<script type="application/json" id="report-data">') + 49
    return json.loads(page[start:page.index("</script>", start)])


def test_report_of_an_output_folder_is_written_inside_it(tmp_path, capsys):
    finished_run(tmp_path / "out", [job(1, "540p"), job(2, "720p")])
    assert main(["report", str(tmp_path / "out")]) == 0
    data = report_data(tmp_path / "out" / "report.html")
    assert [j["videos"] for j in data["jobs"]] == [["knight/540p.mp4"], ["knight/720p.mp4"]]
    assert data["name"] == "knight-sweep"
    assert data["axes"] == [["resolution", ["540p", "720p"]]]
    assert "2 jobs: 2 succeeded" in capsys.readouterr().out


def test_failed_job_reaches_the_results_with_its_error_and_hint(tmp_path):
    finished_run(tmp_path / "out", [job(1, "540p"), job(2, "720p")], failed=(job(2, "720p").key,))
    main(["report", str(tmp_path / "out")])
    with open(tmp_path / "out" / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["state"], r["error"]) for r in rows] == [
        ("succeeded", ""), ("failed", "content policy (hint: reword the prompt)")]


def test_shard_folders_merge_into_one_report_in_their_common_folder(tmp_path):
    finished_run(tmp_path / "out" / "shard-1-of-2", [job(1, "540p")])
    finished_run(tmp_path / "out" / "shard-2-of-2", [job(2, "720p")])
    assert main(["report", str(tmp_path / "out" / "shard-1-of-2"), str(tmp_path / "out" / "shard-2-of-2")]) == 0
    videos = sorted(v for j in report_data(tmp_path / "out" / "report.html")["jobs"] for v in j["videos"])
    assert videos == ["shard-1-of-2/knight/540p.mp4", "shard-2-of-2/knight/720p.mp4"]


def test_out_option_places_the_report_and_links_videos_back(tmp_path):
    finished_run(tmp_path / "out", [job(1, "540p")])
    assert main(["report", str(tmp_path / "out"), "--out", str(tmp_path / "site" / "sweep.html")]) == 0
    assert report_data(tmp_path / "site" / "sweep.html")["jobs"][0]["videos"] == ["../out/knight/540p.mp4"]
    assert (tmp_path / "site" / "results.json").is_file()


def test_folder_without_a_ledger_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("batchgen: ") and "ledger.jsonl" in err and "Traceback" not in err


def test_out_naming_a_folder_writes_report_html_into_it(tmp_path, capsys):
    finished_run(tmp_path / "out", [job(1, "540p")])
    (tmp_path / "site").mkdir()
    assert main(["report", str(tmp_path / "out"), "--out", str(tmp_path / "site")]) == 0
    assert report_data(tmp_path / "site" / "report.html")["jobs"][0]["videos"] == ["../out/knight/540p.mp4"]
    assert (tmp_path / "site" / "results.csv").is_file()
    assert "Traceback" not in capsys.readouterr().err


def test_a_file_event_without_its_path_is_a_clear_ledger_error(tmp_path, capsys):
    finished_run(tmp_path / "out", [job(1, "540p")])
    ledger = ledger_path(tmp_path / "out")
    lines = ledger.read_text().splitlines()
    broken = json.loads(lines[-1])
    del broken["path"]
    ledger.write_text("\n".join(lines[:-1] + [json.dumps(broken)]) + "\n")
    for command in (["report", str(tmp_path / "out")], ["status", str(tmp_path / "out")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert "a 'file' ledger event" in err and "has no 'path' field; repair or remove that line" in err
