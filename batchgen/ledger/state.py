"""Ledger events -> the state of every job.

Replay is incremental (`LedgerState.apply`), so a runner keeps one state in memory and
applies each event it appends. Nothing here does I/O or reads a clock; what a run does
next with a job is decided from this state by `run/decisions.py`.

Per-key states:
    pending    nothing recorded, or recovery proved the intent never reached the API
    running    intent or jobId recorded, not final yet (includes "generated, files
               not all downloaded")
    succeeded  the API reported success and every asset's file is recorded
    failed     the API (or the runner) gave up on it
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from batchgen.errors import LedgerError
from batchgen.durable import paused_gc
from batchgen.timestamps import epoch

PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"
STATES = (PENDING, RUNNING, SUCCEEDED, FAILED)


@dataclass(slots=True)
class KeyState:
    """What the ledger says about one job key (its latest attempt)."""

    key: str
    id: str | None = None
    sample: int | None = None
    state: str = PENDING
    job_id: str | None = None
    body: dict[str, Any] | None = None  # the intent's request body
    intent_t: str | None = None
    submitted_t: str | None = None
    finished_t: str | None = None
    asset_ids: list[str] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)  # {assetId, path, bytes, sha256}
    error: str | None = None
    hint: str | None = None
    status: int | None = None  # HTTP status of a rejected submission, if any
    cost: float | None = None
    ambiguous: bool = False  # intent recorded, but neither a jobId nor `unsent`
    generated: bool = False  # the API reported success (files may still be missing)
    reused_from: str | None = None  # taken from this folder's result (`reused`), not paid here

    def begin_attempt(self, intent: dict[str, Any]) -> None:
        """Start over from a new intent (--retry-failed), in place: callers may hold on
        to this object."""
        self.id = intent.get("id", self.id)
        self.sample = intent.get("sample", self.sample)
        self.state = RUNNING
        self.body = intent.get("body")
        self.intent_t = intent.get("t")
        self.job_id = self.submitted_t = self.finished_t = None
        self.asset_ids = []
        self.files = []
        self.error = self.hint = self.status = self.cost = None
        self.ambiguous = True
        self.generated = False
        self.reused_from = None

    def files_complete(self) -> bool:
        """Whether a file is recorded for every asset the API produced."""
        return {f["assetId"] for f in self.files}.issuperset(self.asset_ids)


class SubmissionEvents:
    """How a key's submission folds into its state: the intent written before generate
    is called, then the API's answer (`submitted`) or, when the answer was lost,
    recovery's verdict (`recovered`: the job found; `unsent`: it never reached the API).
    Accepted submissions add their cost to `spent` and their jobId to `known_job_ids`.

    Part of `LedgerState`, whose keys and totals these handlers update.
    """

    jobs: dict[str, KeyState]
    spent: float
    known_job_ids: set[str]

    # The handlers of both classes run once per ledger line (600,000 for a big batch):
    # they look keys up inline and touch only the fields their event changes.

    def _get(self, key: str) -> KeyState:
        ks = self.jobs.get(key)
        if ks is None:
            ks = self.jobs[key] = KeyState(key)
        return ks

    def _intent(self, event: dict[str, Any]) -> None:
        key = event["key"]
        ks = self.jobs.get(key)
        if ks is None:
            self.jobs[key] = KeyState(key, event.get("id"), event.get("sample"), RUNNING,
                                      body=event.get("body"), intent_t=event.get("t"),
                                      ambiguous=True)
        elif ks.state in (PENDING, FAILED):
            ks.begin_attempt(event)  # a first attempt, or a --retry-failed one
        elif ks.ambiguous:
            # A resend after a 429 moves the time recovery measures from to its own. A
            # repeat of an earlier intent line (a restored or spliced ledger) must not move
            # it back: recovery would count the settle time from the older call, prove the
            # latest one "unsent" before the API lists its job, and pay twice.
            latest = ks.intent_t
            ks.begin_attempt(event)
            if (epoch(latest) or 0.0) > (epoch(ks.intent_t) or 0.0):
                ks.intent_t = latest
        # Otherwise the API already has this key's job (a jobId, or its success): a runner
        # never writes an intent then, so the line is a repeat (a torn write replayed, a
        # ledger spliced by hand) and starting over would prove the key "unsent" and pay
        # for it twice.

    def _submitted(self, event: dict[str, Any]) -> None:
        ks = self.jobs.get(event["key"]) or self._get(event["key"])
        ks.job_id = job_id = event.get("jobId")
        ks.submitted_t = event.get("t")
        cost = event.get("cost")
        if cost is not None:
            ks.cost = cost
            self.spent += cost
        ks.ambiguous = False
        if ks.state == PENDING:
            ks.state = RUNNING
        if job_id:
            self.known_job_ids.add(job_id)

    def _recovered(self, event: dict[str, Any]) -> None:
        ks = self.jobs.get(event["key"]) or self._get(event["key"])
        ks.job_id = job_id = event.get("jobId")
        cost = event.get("cost")  # from the listed job's billing, when the API gives it
        if cost is not None:
            ks.cost = cost
            self.spent += cost
        # The lost answer came right after the intent was written: the best estimate we have.
        ks.submitted_t = ks.submitted_t or ks.intent_t or event.get("t")
        ks.ambiguous = False
        if ks.state == PENDING:
            ks.state = RUNNING
        if job_id:
            self.known_job_ids.add(job_id)

    def _unsent(self, event: dict[str, Any]) -> None:
        ks = self.jobs.get(event["key"]) or self._get(event["key"])
        ks.state = PENDING
        ks.ambiguous = False
        ks.job_id = None


class LedgerState(SubmissionEvents):
    """Every key's state, the uploaded frames and the API's stated ceiling."""

    def __init__(self) -> None:
        self.jobs: dict[str, KeyState] = {}
        self.uploads: dict[str, str] = {}  # frame sha256 -> asset id
        self.ceiling: int | None = None
        self.spent: float = 0.0  # cost of every accepted submission, all runs
        self.known_job_ids: set[str] = set()
        self._handlers = {
            "intent": self._intent,
            "submitted": self._submitted,
            "recovered": self._recovered,
            "unsent": self._unsent,
            "succeeded": self._succeeded,
            "failed": self._failed,
            "file": self._file,
            "upload": self._upload,
            "ceiling": self._ceiling,
            "reused": self._reused,
        }

    def apply(self, event: dict[str, Any]) -> None:
        """Update the state with one event; unknown event names (`run`, `end`, newer
        versions' events) change nothing."""
        handler = self._handlers.get(event["event"])
        if handler is not None:
            try:
                handler(event)
            except KeyError as missing:
                raise _missing_field(event, missing) from None

    def counts(self) -> dict[str, int]:
        """How many keys are in each state (every state listed, zeros included)."""
        counts = dict.fromkeys(STATES, 0)
        for ks in self.jobs.values():
            counts[ks.state] += 1
        return counts

    def _succeeded(self, event: dict[str, Any]) -> None:
        ks = self.jobs.get(event["key"]) or self._get(event["key"])
        ks.job_id = job_id = event.get("jobId") or ks.job_id
        ks.asset_ids = event.get("assetIds") or []
        cost = event.get("cost")
        if cost is not None:
            ks.cost = cost
        ks.finished_t = event.get("t")
        ks.generated = True
        ks.ambiguous = False
        ks.error = ks.hint = ks.status = None
        ks.state = SUCCEEDED if ks.files_complete() else RUNNING
        if job_id:
            self.known_job_ids.add(job_id)

    def _failed(self, event: dict[str, Any]) -> None:
        ks = self.jobs.get(event["key"]) or self._get(event["key"])
        ks.job_id = job_id = event.get("jobId") or ks.job_id
        ks.error = event.get("error")
        ks.hint = event.get("hint")
        ks.status = event.get("status")
        ks.finished_t = event.get("t")
        ks.ambiguous = False
        ks.state = FAILED
        if job_id:
            self.known_job_ids.add(job_id)

    def _file(self, event: dict[str, Any]) -> None:
        ks = self.jobs.get(event["key"]) or self._get(event["key"])
        asset_id = event.get("assetId")
        path = event["path"]  # a file with no place cannot be checked: a LedgerError
        if not isinstance(path, str):
            raise KeyError("path")
        record = {"assetId": asset_id, "path": path, "bytes": event.get("bytes"),
                  "sha256": event.get("sha256")}
        files = ks.files
        for index, known in enumerate(files):
            if known["assetId"] == asset_id:  # downloaded again (deleted or altered since)
                files[index] = record
                break
        else:
            files.append(record)
        if ks.generated and ks.state != FAILED:
            ks.state = SUCCEEDED if ks.files_complete() else RUNNING

    def _reused(self, event: dict[str, Any]) -> None:
        """An earlier result taken into place: succeeded, at no cost in this batch (the
        jobId stays known, so recovery never claims that job for another key)."""
        ks = self.jobs.get(event["key"]) or self._get(event["key"])
        ks.id = event.get("id", ks.id)
        ks.sample = event.get("sample", ks.sample)
        files = event["files"]
        # A file with no place cannot be checked, as in `_file`: a LedgerError, not a
        # TypeError later in whatever reads the state.
        if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("path"), str)
                                                   for f in files):
            raise KeyError("files")
        ks.files = [{"assetId": f.get("assetId"), "path": f["path"], "bytes": f.get("bytes"),
                     "sha256": f.get("sha256")} for f in files]
        ks.reused_from = event["from"]
        self._succeeded({**event, "cost": 0.0})

    def _upload(self, event: dict[str, Any]) -> None:
        self.uploads[event["sha256"]] = event["assetId"]

    def _ceiling(self, event: dict[str, Any]) -> None:
        self.ceiling = event.get("limit")


def replay(events: Iterable[dict[str, Any]], state: LedgerState | None = None) -> LedgerState:
    """The state a sequence of ledger events leads to, from `state` (default: nothing
    known). `iter_events(path)` streams a big ledger through without holding it all."""
    state = state if state is not None else LedgerState()
    handlers = state._handlers
    event: dict[str, Any] = {}
    with paused_gc():
        try:  # `apply`, inlined: this loop runs once per ledger line
            for event in events:
                handler = handlers.get(event["event"])
                if handler is not None:
                    handler(event)
        except KeyError as missing:
            raise _missing_field(event, missing) from None
    return state


def _missing_field(event: dict[str, Any], missing: KeyError) -> LedgerError:
    return LedgerError(f"a {event.get('event')!r} ledger event (t={event.get('t')}) has no "
                       f"{missing} field; repair or remove that line, then try again")
