"""Reviewers' choices (`choices.json`, exported by the report page) merged into the
results: each job's ratings, scores, winner marks and notes, and the win rate of every
axis value.

    {"version": 1, "batch": "<name>", "choices": [{"key": "<job key>", "rating": 1,
     "score": 4, "winner": true, "note": "...", "reviewer": "...", "time": "<ISO 8601>"}]}

`rating` is 1 (up) or -1 (down), `score` 1-5, `winner` marks the row's winner; any of
them may be absent, and fields not listed here are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from batchgen.errors import UsageError

VERSION = 1


@dataclass
class Verdict:
    """What every reviewer said about one job."""

    ratings: list[int] = field(default_factory=list)
    scores: list[int] = field(default_factory=list)
    winners: int = 0
    notes: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The job's fields in results.json and the page's data."""
        return {"ratings": self.ratings, "votes": sum(self.ratings),
                "meanScore": round(sum(self.scores) / len(self.scores), 2) if self.scores else None,
                "scores": self.scores, "winnerCount": self.winners, "notes": self.notes}


@dataclass
class Choices:
    """The merged choices of several files."""

    verdicts: dict[str, Verdict]
    unknown: dict[str, list[str]]  # file -> keys the batch lacks
    entries: list[dict[str, Any]]  # every choice as given (with its reviewer), for the page


def load_choices(paths: Iterable[str | Path], keys: set[str]) -> Choices:
    """Read and merge `choices.json` files; keys not in `keys` are set aside in `unknown`.

    A file that is not a choices document is a UsageError naming it and the rule.
    """
    merged = Choices({}, {}, [])
    for path in paths:
        for entry in _entries(Path(path)):
            if entry["key"] not in keys:
                merged.unknown.setdefault(str(path), []).append(entry["key"])
                continue
            merged.entries.append(entry)
            verdict = merged.verdicts.setdefault(entry["key"], Verdict())
            if "rating" in entry:
                verdict.ratings.append(entry["rating"])
            if "score" in entry:
                verdict.scores.append(entry["score"])
            if entry.get("winner") is True:
                verdict.winners += 1
            if entry.get("note"):
                verdict.notes.append({"reviewer": entry.get("reviewer", ""), "note": entry["note"]})
    return merged


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such choices file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable choices.json ({exc})") from None
    if not isinstance(document, dict) or document.get("version") != VERSION \
            or not isinstance(document.get("choices"), list):
        raise UsageError(f'{path}: a choices file is {{"version": 1, "batch": ..., "choices": [...]}} '
                         "as the report's Export button writes it")
    out = []
    for n, entry in enumerate(document["choices"], 1):
        problem = _problem(entry)
        if problem:
            raise UsageError(f"{path}: choice {n}: {problem}")
        kept = {k: entry[k] for k in ("key", "rating", "score", "winner", "note", "reviewer", "time")
                if k in entry and entry[k] is not None}
        kept.setdefault("reviewer", str(document.get("reviewer") or ""))
        out.append(kept)
    return out


def _problem(entry: Any) -> str | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not entry["key"]:
        return 'each choice needs "key", the job key shown on its card'
    rating, score = entry.get("rating"), entry.get("score")
    if rating is not None and (isinstance(rating, bool) or rating not in (1, -1)):
        return f'"rating" is 1 (up) or -1 (down), not {rating!r}'
    if score is not None and (isinstance(score, bool) or score not in (1, 2, 3, 4, 5)):
        return f'"score" is a whole number from 1 to 5, not {score!r}'
    if entry.get("winner") not in (None, True, False):
        return f'"winner" is true or false, not {entry["winner"]!r}'
    for name in ("note", "reviewer", "time"):
        if entry.get(name) is not None and not isinstance(entry[name], str):
            return f'"{name}" is text'
    return None


def win_rates(jobs: list[Mapping[str, Any]], axes: Mapping[str, list[Any]],
              winners: Mapping[str, int]) -> dict[str, dict[str, dict[str, int]]]:
    """For each axis, for each value: {"wins": n, "rows": m}.

    A row is a prompt and the values of the other axes, so its jobs differ only on this
    axis. A row counts once someone marked a winner in it: each value it has gets a row,
    and the value(s) with the most winner marks a win (a tie gives each a win).
    `jobs` have key, id, params and variables; `winners` maps a key to its marks.
    """
    out: dict[str, dict[str, dict[str, int]]] = {}
    for axis in axes:
        rows: dict[str, dict[str, int]] = {}
        for job in jobs:
            others = [_show(_value(job, a)) for a in axes if a != axis]
            row = rows.setdefault(json.dumps([job["id"], *others]), {})
            value = _show(_value(job, axis))
            row[value] = row.get(value, 0) + winners.get(job["key"], 0)
        table = {_show(v): {"wins": 0, "rows": 0} for v in axes[axis]}
        for marks in rows.values():
            best = max(marks.values())
            if best == 0:
                continue
            for value, count in marks.items():
                cell = table.setdefault(value, {"wins": 0, "rows": 0})
                cell["rows"] += 1
                cell["wins"] += count == best
        out[axis] = table
    return out


def _value(job: Mapping[str, Any], axis: str) -> Any:
    if axis in job["params"]:
        return job["params"][axis]
    return job["variables"].get(axis)


def _show(value: Any) -> str:
    """An axis value as a key: `true`, `720p`, `null` (the page writes them alike)."""
    return value if isinstance(value, str) else json.dumps(value)


def win_rate_table(rates: Mapping[str, Mapping[str, Mapping[str, int]]]) -> str:
    """The win rates as the terminal shows them: one line per axis value."""
    lines = []
    for axis, values in rates.items():
        for value, cell in values.items():
            share = f"{100 * cell['wins'] / cell['rows']:.0f}%" if cell["rows"] else "-"
            lines.append(f"  {axis}={value}: preferred in {cell['wins']} of {cell['rows']} "
                         f"row{'s' if cell['rows'] != 1 else ''} ({share})")
    return "\n".join(lines) if lines else "  (no axis to compare)"
