"""CSV prompt files: a header row, one prompt per row, cells typed like the YAML fields.

Cells are separated by commas, semicolons or tabs, as the header row (or Excel's
`sep=;` first line) shows.

Used both for a whole manifest (`batchgen run prompts.csv`) and for `csv:` entries of a
YAML manifest. Each row becomes a LineDict (every cell located at the row's first line),
so the same schema and the same messages apply to CSV and YAML prompts.
"""

from __future__ import annotations

import csv
import difflib
import io

from batchgen.errors import Problem
from batchgen.manifest.yamlsafe import LineDict
from batchgen.models.catalog import ModelSet

PROMPT_FIELDS = ("prompt", "id", "samples")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
_SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def decode_text(data: bytes, display: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 text (a BOM is dropped), or a problem naming the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, [Problem(display, line, f"this file is not UTF-8 text (byte "
                              f"0x{data[exc.start]:02x} cannot be read); save it as UTF-8")]


def columns(models: ModelSet) -> tuple[str, ...]:
    """Every column a CSV prompt file of these models may have."""
    return PROMPT_FIELDS + models.params


def parse_rows(text: str, display: str, models: ModelSet) -> tuple[list[LineDict], list[Problem]]:
    """The rows of a CSV prompt file as LineDicts of typed values, and every problem found.

    An empty cell sets nothing; booleans accept true/false/yes/no/1/0 in any case; a value
    that cannot be converted is kept as text so the schema names what is wrong with it.
    """
    problems: list[Problem] = []
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return [], [Problem(display, line, "this line contains a NUL byte; a CSV file holds text only")]
    delimiter, told = separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    rows: list[LineDict] = []
    header: list[str] | None = None
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if told:  # Excel's `sep=;` line names the separator; it is no row
                told = False
                continue
            if header is None:
                header = [c.strip() for c in cells]
                problems += _header_problems(header, display, models)
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                problems.append(Problem(display, line, f"this row has {len(cells)} cells but the "
                                        f"header names {len(header)} columns; quote cells that "
                                        f"contain {_SEPARATORS[delimiter]}"))
                continue
            rows.append(_row(header, cells, line, models))
    except csv.Error as exc:
        line = reader.line_num or start
        if "field larger than field limit" in str(exc):
            reason = (f"a cell is longer than {csv.field_size_limit():,} characters "
                      f"(a prompt may have at most {models.prompt_max:,})")
        elif "EOF" in str(exc) or "end of data" in str(exc):
            line = start
            reason = "a quoted cell starting on this line has no closing quote"
        else:
            reason = f"this is not a readable CSV row ({exc})"
        return [], problems + [Problem(display, line, reason)]
    if header is None:
        return [], [Problem(display, 1, "the CSV file is empty: it needs a header row naming "
                            "at least a prompt column")]
    if not rows and not problems:
        problems.append(Problem(display, 1, "the CSV file has a header row but no prompt rows, "
                                "so there are no jobs to run"))
    return (rows if not problems else []), problems


def separator(text: str) -> tuple[str, bool]:
    """The cell separator, and whether an Excel `sep=X` first line said it.

    Without that line, the header row tells: its names never hold a comma, semicolon or
    tab, so the one of those it has separates the cells (a comma when it has none, or
    several). Excel writes `;` where the decimal mark is a comma.
    """
    first = text.split("\n", 1)[0].rstrip("\r")
    if len(first) == 5 and first.lower().startswith("sep=") and first[4] in ",;\t|":
        return first[4], True
    found = [c for c in ",;\t" if c in first]
    return (found[0] if len(found) == 1 else ","), False


def _header_problems(header: list[str], display: str, models: ModelSet) -> list[Problem]:
    known = columns(models)
    problems = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(display, 1, f"the column '{name}' appears twice in the header"))
        seen.add(name)
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else "columns: " + ", ".join(known)
            problems.append(Problem(display, 1, f"unknown column '{name}' ({hint})"))
    if "prompt" not in header:
        problems.append(Problem(display, 1, "the header row has no 'prompt' column; every CSV "
                                "prompt file needs one"))
    return problems


def _row(header: list[str], cells: list[str], line: int, models: ModelSet) -> LineDict:
    row = LineDict()
    row.line = line
    row.lines = {}  # every cell is on the row's line, which line_of() falls back to
    for name, raw in zip(header, cells):
        value = raw.strip()
        if value:
            row[name] = _typed(name, value, models)
    return row


def _typed(name: str, value: str, models: ModelSet) -> object:
    if name == "samples":
        return int(value) if value.isdigit() else value
    if name in models.params and models.param_type(name) == "boolean":
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return value
