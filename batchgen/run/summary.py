"""What a run did: `RunSummary`, the states it leaves, and the exit code it gives."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import anyio

from batchgen.errors import AccessDenied, BatchgenError
from batchgen.jobs import Job
from batchgen.ledger.events import ledger_path
from batchgen.ledger.state import STATES, KeyState, LedgerState

@dataclass
class RunSummary:
    """What a run did and where the batch stands; `exit_code` follows SPEC."""

    name: str
    output: str
    ledger: str
    total: int
    counts: dict[str, int]
    submitted: int = 0
    recovered: int = 0
    resent: int = 0  # intents proved never sent, then submitted
    uploaded: int = 0
    downloaded: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    download_errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    access_denied: str | None = None
    unreachable: str | None = None  # why the run stopped when the API could not be reached
    ceiling: int | None = None
    spent: float = 0.0  # creative units of every accepted submission, earlier runs included
    spent_this_run: float = 0.0  # creative units of the submissions this run made
    estimated: float | None = None  # estimate of the jobs this run had to submit
    budget_stopped: bool = False  # --max-cu stopped the submissions
    budget: str | None = None  # what was spent and what is left, under --max-cu
    elapsed: float = 0.0  # seconds
    elsewhere: str = ""  # keys left alone, sent from other folders of the batch: "out (8)"
    reused: int = 0  # keys whose earlier results this run took instead of paying
    reused_from: str = ""  # where from: "../first (8)"
    paid_again: str = ""  # keys generated elsewhere that this run paid for again
    not_reused: str = ""  # asked to reuse, but the files were gone or altered: paid for
    index_problem: str | None = None  # the index could not be read or written (the run is fine)
    resume_command: str | None = None
    exit_code: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The summary for `--json`, with camelCase names like the other JSON outputs."""
        return {_camel(name): value for name, value in asdict(self).items()}


def tally(jobs: Iterable[Job], state: LedgerState,
          elsewhere: dict[str, tuple[KeyState, Path]],
          describe: Callable[[Job], str]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """How many jobs end in each state, and the failed ones; a key left alone because
    another folder of the batch sent it counts as it stands there."""
    counts = dict.fromkeys(STATES, 0)
    failed = []
    for job in jobs:
        ks = state.jobs.get(job.key)
        if job.key in elsewhere and (ks is None or ks.state == "pending"):
            ks = elsewhere[job.key][0]
        name = ks.state if ks else "pending"
        counts[name] = counts.get(name, 0) + 1
        if name == "failed":
            failed.append({"key": job.key, "id": job.id, "sample": job.sample,
                           "label": describe(job), "error": ks.error, "hint": ks.hint})
    return counts, failed


def run_summary(batch: Any, output: Path, state: LedgerState,
                elsewhere: dict[str, tuple[KeyState, Path]], describe: Callable[[Job], str], *,
                elapsed: float, spent_before: float, denied: AccessDenied | None,
                budget: Callable[[int], str | None], **done: Any) -> RunSummary:
    """The summary of a run that has ended: where the batch stands (from the ledger's
    `state`), what the run did (`done`: RunSummary's fields), the denial that stopped it,
    `budget(unsent)` (the --max-cu line) and its exit code."""
    counts, failed = tally(batch.jobs, state, elsewhere, describe)
    summary = RunSummary(
        name=batch.name, output=str(output), ledger=str(ledger_path(output)),
        total=len(batch.jobs), counts=counts, failed=failed,
        access_denied=denied.message if denied else None,
        ceiling=state.ceiling, spent=state.spent, elapsed=round(elapsed, 3),
        spent_this_run=round(state.spent - spent_before, 6),
        elsewhere=per_folder(elsewhere.values(), output),
        budget=budget(counts["pending"]), **done)
    summary.exit_code = summary_exit_code(summary, denied)
    return summary


def summary_exit_code(summary: RunSummary, denied: AccessDenied | None) -> int:
    """SPEC's exit code of a run that ended by itself: 0 only when every job succeeded
    and every file is on disk."""
    if denied is not None:
        return denied.exit_code
    if summary.interrupted:
        return 130
    if summary.counts["succeeded"] == summary.total and not summary.download_errors:
        return 0
    return 1


def exit_code(error: BaseException) -> int:
    """The exit code the command gives for an error that ended the run."""
    if isinstance(error, BatchgenError):
        return error.exit_code
    return 130 if isinstance(error, (KeyboardInterrupt, anyio.get_cancelled_exc_class())) else 1


def per_folder(found: Iterable[tuple[KeyState, Path]], output: Path) -> str:
    """How many keys each folder holds, e.g. `.. (8), ../shard-2-of-2 (3)`."""
    counts: dict[str, int] = {}
    for _, folder in found:
        shown = os.path.relpath(folder, output)
        counts[shown] = counts.get(shown, 0) + 1
    return ", ".join(f"{folder} ({n})" for folder, n in counts.items())


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)
