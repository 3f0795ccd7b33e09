"""`GET /jobs` as scenario-sdk 2.4.0 documents it (`types/job_list_params.py`).

The rules the simulator enforces, because the real API does:
- `updatedAfter` only with `status`, `type`, `types` or `workflowId` (those sort jobs
  by update date); `createdAfter` only without them (jobs sorted by creation date);
- `type` / `types` (comma separated; `types` wins) filter on the job's `jobType`;
- a page may hold fewer jobs than `pageSize`, or none, while `nextPaginationToken` is
  set: a client must keep paginating until the token is absent.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from batchgen.jobs import JOB_STATUSES
from batchgen.simulator.state import SimJob
from batchgen.timestamps import parse as parse_iso

SORTED_BY_UPDATE = ("status", "type", "types", "workflowId")
_START = [1e18, ""]  # a cursor before every row (rows are sorted newest first)


@dataclass(frozen=True)
class ListQuery:
    """A parsed, checked `GET /jobs` query."""

    page_size: int
    created_after: float | None
    updated_after: float | None
    cursor: list | None
    by_update: bool  # sorted (and `updatedAfter` compared) by update date
    status: str | None
    types: frozenset[str] | None
    workflow_id: str | None

    @classmethod
    def parse(cls, q: dict[str, str]) -> "ListQuery | str":
        """The query, or the documented rule it breaks (the API answers 400 with it)."""
        try:
            page_size = int(q.get("pageSize", "50"))
            created_after = parse_iso(q["createdAfter"]) if "createdAfter" in q else None
            updated_after = parse_iso(q["updatedAfter"]) if "updatedAfter" in q else None
            token = q.get("paginationToken")
            cursor = json.loads(base64.urlsafe_b64decode(token)) if token else None
        except (ValueError, binascii.Error):
            return ("Invalid query: pageSize must be an integer, dates ISO-8601, "
                    "paginationToken as returned by the API")
        if not 1 <= page_size <= 100:
            return "pageSize must be between 1 and 100"
        narrowing = [name for name in SORTED_BY_UPDATE if name in q]
        if created_after is not None and narrowing:
            return (f'"createdAfter" is only allowed without "status", "type", "types" and '
                    f'"workflowId" (got {", ".join(narrowing)}): use "updatedAfter" with them')
        if updated_after is not None and not narrowing:
            return ('"updatedAfter" is only allowed with "status", "type", "types" or '
                    '"workflowId": without them jobs are sorted by creation date, use "createdAfter"')
        if "status" in q and q["status"] not in JOB_STATUSES:
            return f"status must be one of {', '.join(JOB_STATUSES)}"
        types_text = q.get("types", q.get("type"))
        types = None
        if types_text is not None:
            types = frozenset(t.strip() for t in types_text.split(",") if t.strip())
        return cls(page_size, created_after, updated_after, cursor, bool(narrowing),
                   q.get("status"), types, q.get("workflowId"))

    def keeps(self, job: SimJob, now: float) -> bool:
        """Whether the job passes every filter of the query."""
        if self.types is not None and job.job_type not in self.types:
            return False
        if self.workflow_id is not None:
            return False  # the simulator runs no workflows
        if self.created_after is not None and job.created <= self.created_after:
            return False
        if self.updated_after is not None and job.updated(now) <= self.updated_after:
            return False
        return self.status is None or job.status(now) == self.status

    def sort_key(self, job: SimJob, now: float) -> tuple[float, str]:
        return (job.updated(now) if self.by_update else job.created), job.job_id


def page(query: ListQuery, jobs: Iterable[SimJob], now: float,
         short: Callable[[int], int | None]) -> tuple[list[SimJob], str | None]:
    """One page of the matching jobs, newest first, and the next page's token.

    `short(n)` may cut a page that is followed by more rows to fewer jobs (0 included),
    as the documentation warns; it answers None to keep the page whole.
    """
    rows = sorted(((query.sort_key(job, now), job) for job in jobs if query.keeps(job, now)),
                  key=lambda row: row[0], reverse=True)
    # A cursor is [sort date, jobId, whether the page that gave it was empty].
    cursor = query.cursor[:2] if query.cursor else None
    after_empty = bool(query.cursor and query.cursor[2:] == [1])
    if cursor is not None:
        rows = [row for row in rows if list(row[0]) < cursor]
    size = query.page_size
    if rows:
        cut = short(min(size, len(rows)))
        if cut is not None and not (cut == 0 and after_empty):  # two empty pages: no progress
            taken = rows[:cut]
            if taken:
                return [job for _, job in taken], _token(list(taken[-1][0]), empty=False)
            return [], _token(cursor or _START, empty=True)
    taken = rows[:size]
    token = _token(list(taken[-1][0]), empty=False) if len(rows) > size else None
    return [job for _, job in taken], token


def _token(cursor: list[Any], *, empty: bool) -> str:
    return base64.urlsafe_b64encode(json.dumps([*cursor, int(empty)]).encode()).decode()
