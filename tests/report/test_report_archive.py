"""`batchgen report --zip`: one archive of the page, results and videos that opens
offline anywhere once extracted (checked in real chromium from file://)."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from batchgen.cli import main
from browserkit import needs_chromium, open_report
from report_sweep import make_finished_run


@pytest.fixture
def finished(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    records = make_finished_run(tmp_path / "out")
    return tmp_path, records


def extract(archive, where):
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        assert all(".." not in n.split("/") and not n.startswith("/") for n in names), names
        z.extractall(where)
    return names


def loaded_videos(page) -> list[dict]:
    """Scroll every card's video into view and report how each loaded."""
    states = []
    slots = page.locator(".slot")
    for i in range(slots.count()):
        slot = slots.nth(i)
        slot.scroll_into_view_if_needed()
        states.append(slot.evaluate("""slot => new Promise(done => {
            const check = () => { const v = slot.querySelector('video');
                if (v && (v.readyState >= 1 || v.error)) done({ready: v.readyState, error: v.error && v.error.code,
                                                               src: v.currentSrc});
                else setTimeout(check, 20); };
            check(); })"""))
    return states


@needs_chromium
@pytest.mark.parametrize("out", [None, "elsewhere/r.html"], ids=["in-output-folder", "out-elsewhere"])
def test_the_archive_opens_offline_after_extraction_with_every_video(browser, finished, capsys, out):
    root, records = finished
    args = ["report", "out", "--zip"] + (["--out", out] if out else [])
    assert main(args) == 0
    page_name = "r.html" if out else "report.html"
    archive = root / ("elsewhere/r.zip" if out else "out/report.zip")
    assert f"wrote {archive.relative_to(root)} (the page, results and 22 videos" in capsys.readouterr().out
    names = extract(archive, root / "unpacked")
    assert page_name in names and "results.json" in names
    shutil.rmtree(root / "out")  # nothing may still come from the original folder
    if out:
        assert all(n.startswith("media/") for n in names if n.endswith(".mp4"))

    url = (root / "unpacked" / page_name).as_uri()
    page, errors = open_report(browser, url + "#across=style")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    states = loaded_videos(page)
    assert len(states) == 22
    assert all(s["error"] is None and s["ready"] >= 1 for s in states), states
    assert all(s["src"].startswith((root / "unpacked").as_uri()) for s in states)
    assert requested and all(u.startswith((root / "unpacked").as_uri()) for u in requested)
    assert page.input_value("#across") == "style"  # the link's view, from the archive too
    page.close()
    assert errors == []

    results = json.loads((root / "unpacked" / "results.json").read_text())
    archived = {f["path"] for job in results["jobs"] for f in job["files"]}
    assert archived == {n for n in names if n.endswith(".mp4")}


def test_a_video_missing_on_disk_is_left_out_and_said(finished, capsys):
    root, records = finished
    gone = root / "out" / records[0]["files"][0]["path"]
    gone.unlink()
    assert main(["report", "out", "--zip", "shared.zip"]) == 0
    err = capsys.readouterr().err
    assert "1 video file the records name is not on disk, left out of the archive: " in err
    assert str(gone) in err
    with zipfile.ZipFile(root / "shared.zip") as z:
        assert sum(n.endswith(".mp4") for n in z.namelist()) == 21


def test_zip_onto_a_folder_is_refused(finished, capsys):
    root, _ = finished
    (root / "folder").mkdir()
    assert main(["report", "out", "--zip", "folder"]) == 2
    assert "--zip folder: is a folder" in capsys.readouterr().err
    assert list((root / "folder").iterdir()) == []
    assert not (root / "out" / "report.html").exists()  # refused before anything is written
