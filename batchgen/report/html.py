"""Render the report as one self-contained HTML file.

The page is a template with the stylesheet, the script and the data inlined: no
network is needed to open it, and the videos are referenced by relative paths. The
data travels as JSON inside `<script type="application/json">` and the script builds
every element with `textContent`, so prompts are never parsed as HTML.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from importlib import resources
from typing import Any, Mapping

from batchgen.report.model import ReportRow
from batchgen.report.mp4info import video_facts
from batchgen.timestamps import iso

_PLACEHOLDER = re.compile(r"@@(CSP|TITLE|STYLE|SCRIPT|DATA)@@")


def report_data(rows: list[ReportRow], axes: Mapping[str, list[Any]], name: str,
                choices: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON document the page's script renders; `choices` are the merged
    choices.json entries the page starts from."""
    return {
        "name": name,
        "generatedAt": iso(timespec="seconds"),
        # A list of pairs keeps the axis order through any JSON parser.
        "axes": [[axis, list(values)] for axis, values in axes.items()],
        "jobs": [_job(row) for row in rows],
        "choices": list(choices or []),
    }


def _job(row: ReportRow) -> dict[str, Any]:
    # The frame rate steps and syncs the videos; a file not on disk (yet) has none.
    facts = video_facts(row.files[0].path) if row.files and row.state == "succeeded" else None
    return {
        **row.identity(),
        "videos": [f.src for f in row.files],
        "error": row.error,
        "cost": row.cost,
        "seconds": row.seconds,
        **({"fps": facts["fps"], "width": facts["width"], "height": facts["height"]} if facts else {}),
        "reusedFrom": row.reused_from,
    }


def render_html(data: Mapping[str, Any]) -> str:
    """The whole page for `data` (as made by `report_data`)."""
    style, script = _asset("report.css"), page_script()
    parts = {
        "CSP": _policy(style, script),
        "TITLE": html.escape(f"{data['name']} · batchgen report" if data["name"] else "batchgen report"),
        "STYLE": style,
        "SCRIPT": script,
        "DATA": script_json(data),
    }
    # One pass, so text coming from the data is never scanned for placeholders again.
    return _PLACEHOLDER.sub(lambda m: parts[m.group(1)], _asset("template.html"))


# The page's script, one concern per file, run in this order inside one function scope
# (so they share helpers without globals); main.js starts the page.
SCRIPTS = ("report.js", "judging.js", "costs.js", "playback.js", "viewer.js", "viewstate.js", "main.js")


def page_script() -> str:
    """The page's script: the files of SCRIPTS, concatenated inside one function."""
    body = "\n".join(f"// ----- {name} -----\n{_asset(name)}" for name in SCRIPTS)
    return f'"use strict";\n(function () {{\n{body}\n}})();\n'


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element.

    `<`, `>` and `&` are written as \\u escapes so no `</script>` or `<!--` can end or
    bend the element; U+2028/2029 are escaped for older JavaScript parsers.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _policy(style: str, script: str) -> str:
    """A Content-Security-Policy that runs only our own script and style.

    Escaping is the first line of defence; this is the second: even if some text got
    parsed as markup, an injected script would not run and nothing could be fetched
    from anywhere but the videos.
    """
    return (f"default-src 'none'; script-src '{_digest(script)}'; style-src '{_digest(style)}'; "
            "media-src *; img-src data:")


def _digest(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _asset(name: str) -> str:
    return resources.files("batchgen.report").joinpath(name).read_text(encoding="utf-8")
