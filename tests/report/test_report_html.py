"""The report page: self-contained, and data never becomes markup."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from batchgen.report import write_report
from batchgen.report.html import script_json

HOSTILE = '</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2"><!--'


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def page_for(tmp_path: Path, records, name="sweep") -> str:
    out = write_report(records, {}, name, tmp_path / "report.html", base_dir=tmp_path)
    return out.read_text(encoding="utf-8")


def job(**overrides):
    base = {"key": "k1", "id": "knight", "sample": 1, "prompt": "A knight", "params": {},
            "state": "succeeded", "jobId": "job_1", "files": [{"path": "a.mp4"}], "error": None}
    return {**base, **overrides}


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    return parser


def test_script_json_cannot_close_the_script_element():
    text = script_json({"p": HOSTILE})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"p": HOSTILE}


def test_script_json_escapes_line_separators():
    assert script_json("a\u2028b\u2029c") == '"a\\u2028b\\u2029c"'


def test_hostile_prompt_stays_inside_the_data_element(tmp_path):
    page = page_for(tmp_path, [job(prompt=HOSTILE, id=HOSTILE, error=HOSTILE, state="failed")])
    elements = parse(page)
    assert [tag for tag, _ in elements.tags].count("script") == 2
    assert [tag for tag, _ in elements.tags].count("img") == 0
    data = json.loads(elements.scripts[0])
    assert data["jobs"][0]["prompt"] == HOSTILE
    assert data["jobs"][0]["error"] == HOSTILE


def test_hostile_batch_name_is_escaped_in_the_title(tmp_path):
    page = page_for(tmp_path, [job()], name="</title><script>x()</script>")
    assert "<title>&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt; · batchgen report</title>" in page


def test_page_references_no_external_resource(tmp_path):
    page = page_for(tmp_path, [job()])
    for tag, attrs in parse(page).tags:
        assert not {"src", "href"} & set(attrs), f"<{tag}> loads {attrs}"
    assert not re.search(r"https?://|url\(|@import", page)


def test_content_security_policy_allows_only_the_pages_own_script_and_style(tmp_path):
    page = page_for(tmp_path, [job()])
    policy = next(attrs["content"] for tag, attrs in parse(page).tags
                  if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy")
    assert policy.startswith("default-src 'none'; script-src 'sha256-")
    assert "unsafe-inline" not in policy


def test_video_paths_travel_relative_to_the_report(tmp_path):
    page = page_for(tmp_path, [job(files=[{"path": "knight/1 #a.mp4"}])])
    assert json.loads(parse(page).scripts[0])["jobs"][0]["videos"] == ["knight/1%20%23a.mp4"]


def test_write_report_puts_results_beside_the_report(tmp_path):
    out = write_report([job()], {}, "s", tmp_path / "deep" / "r.html", base_dir=tmp_path)
    assert out == tmp_path / "deep" / "r.html"
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.html", "results.csv", "results.json"]
