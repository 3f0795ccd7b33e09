"""How a run behaves: `RunOptions`, every knob of `run_batch` in one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from batchgen.reuse.index import Index
from batchgen.reuse.sources import Found
from batchgen.run.download import DownloadTiming
from batchgen.run.estimate import Estimate
from batchgen.run.polling.batched import ListPollTiming
from batchgen.run.polling.single import Poller
from batchgen.run.progress import STATUS_INTERVAL
from batchgen.run.shards import Shard
from batchgen.run.submit import SubmitTiming

# By default as many generations as the API accepts: the limiter finds the team's
# ceiling from its 429s (slow start, then the stated or learnt limit); this only bounds it.
DEFAULT_CONCURRENCY = 1000
UNREACHABLE_AFTER = 300.0  # seconds of nothing but connect failures before a run gives up


@dataclass
class RunOptions:
    """How a run behaves; every timing knob is here so tests can make runs fast."""

    concurrency: int = DEFAULT_CONCURRENCY
    retry_failed: bool = False
    poll_interval: float = 5.0
    # Builds the poller from the client (default: a ListPoller, one job-list call for
    # every running job, timed by `polling` or else by poll_interval); any `Poller`
    # (run/polling/single.py) will do: the runner uses only what that interface declares.
    poller: Callable[[Any], Poller] | None = None
    polling: ListPollTiming | None = None
    max_cu: float | None = None  # never submit past this many creative units (ledger included)
    # Called with the estimate of the jobs still to submit and the most the run may
    # spend (the estimate, or less under max_cu) before anything is submitted; raise
    # to refuse. None: no estimate unless max_cu needs one.
    confirm: Callable[[Estimate, float], None] | None = None
    shard: Shard | None = None  # recorded in the ledger; the batch holds only its jobs
    submit: SubmitTiming = field(default_factory=SubmitTiming)
    download: DownloadTiming = field(default_factory=DownloadTiming)
    download_concurrency: int = 8
    progress: bool | None = None  # None: a bar on a terminal, log lines otherwise
    progress_stream: TextIO | None = None
    progress_interval: float = STATUS_INTERVAL  # seconds between lines of counts, no terminal
    # SIGINT/SIGTERM stop the run cleanly (the CLI sets it); once they have, both stay
    # ignored until the caller restores its own handlers.
    handle_signals: bool = False
    # On the first Ctrl-C, let jobs in flight finish before stopping: for an in-process
    # simulator, which forgets its jobs when the process ends.
    drain_on_interrupt: bool = False
    resume_command: str | None = None  # shown when the run is interrupted
    api: str = ""  # which API this run talks to, for the ledger's `run` event
    output: str | Path | None = None  # the output folder, if not the batch's own
    reuse_uploads: bool = True  # reuse frames uploaded by earlier runs (False: the API forgets)
    # Run into a folder whose ledger another manifest wrote (--allow-other-manifest):
    # refused otherwise, since the two batches' files and jobs would mix.
    allow_other_manifest: bool = False
    # The index of paid results (reuse/index.py): the run looks the keys it would submit
    # up in it, and records its folder's succeeded keys there when it ends. None: no index.
    index: Index | None = field(default_factory=Index)
    # Take results generated elsewhere (the index's, or reuse_from's) instead of paying
    # for them again; None: as the manifest's `reuse:` says.
    reuse: bool | None = None
    reuse_from: tuple[Path, ...] = ()  # look in these folders' ledgers, not in the index
    # Called, before anything is recorded or sent, with the keys to submit that were
    # generated elsewhere and are not reused; raise to refuse (nothing is paid twice
    # unasked). None: pay without asking.
    confirm_again: Callable[[Found], None] | None = None
    # The team whose `GET /teams/{id}/limits` states the ceiling up front (SCENARIO_TEAM_ID).
    team_id: str | None = None
    # Every call failing to connect for this long ends the run (exit 1): jobs never sent
    # stay pending, jobs on the server are picked up by the next run. Read when the
    # options are made, so a test can shorten it by setting the module's constant.
    unreachable_after: float = field(default_factory=lambda: UNREACHABLE_AFTER)
