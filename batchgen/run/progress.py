"""What a run shows while it works.

On a terminal: a tqdm bar over the batch's jobs (a job counts once it is final and
downloaded, or failed) with submitted/running/failed/downloaded counts and an ETA.
With `--no-progress`, or when stderr is not a terminal: one plain, timestamped log
line per event, readable in CI logs and `grep`-able.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, TextIO

from tqdm import tqdm

from batchgen.jobs import Job


class Progress:
    """Receives the runner's events and shows them as a bar or as log lines."""

    def __init__(self, total: int, *, done: int = 0, bar: bool | None = None,
                 stream: TextIO | None = None, describe: Callable[[Job], str] = Job.label):
        self.stream = stream or sys.stderr
        self._describe = describe
        self.total = total
        self.counts = {"submitted": 0, "running": 0, "succeeded": 0, "failed": 0, "downloaded": 0}
        use_bar = self.stream.isatty() if bar is None else bar
        self._bar = tqdm(total=total, initial=done, file=self.stream, unit="job",
                         **_width(self.stream)) if use_bar else None
        if self._bar is None and total:
            self._log(f"{total} jobs, {done} already done")

    def submitted(self, job: Job, job_id: str) -> None:
        self.counts["submitted"] += 1
        self._line(f"submitted {self._describe(job)} as {job_id}")

    def running(self, in_flight: int) -> None:
        """How many generations are in flight on the server now."""
        if in_flight != self.counts["running"]:
            self.counts["running"] = in_flight
            self._refresh()

    def recovered(self, job: Job, job_id: str | None) -> None:
        what = f"found again as {job_id}" if job_id else "never reached the API; sending it"
        self._line(f"{self._describe(job)}: lost answer {what}")

    def succeeded(self, job: Job, job_id: str) -> None:
        self.counts["succeeded"] += 1
        self._line(f"succeeded {self._describe(job)} ({job_id})")

    def failed(self, job: Job, error: str, hint: str | None = None) -> None:
        self.counts["failed"] += 1
        self.message(f"failed {self._describe(job)}: {error}" + (f" ({hint})" if hint else ""))
        self._advance()

    def downloaded(self, job: Job, path: str) -> None:
        self.counts["downloaded"] += 1
        self._line(f"downloaded {path}")

    def finished(self, job: Job) -> None:
        """The job is done (all its files are in place)."""
        self._advance()

    def message(self, text: str) -> None:
        """A line the user should see even with a bar (warnings, failures)."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            self._log(text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def _line(self, text: str) -> None:
        if self._bar is None:
            self._log(text)
        else:
            self._refresh()

    def _advance(self) -> None:
        if self._bar is not None:
            self._bar.update(1)
            self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None:
            c = self.counts
            self._bar.set_postfix_str(f"submitted {c['submitted']}, running {c['running']}, "
                                      f"failed {c['failed']}, downloaded {c['downloaded']}",
                                      refresh=True)

    def _log(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", file=self.stream, flush=True)


def _width(stream: TextIO) -> dict[str, Any]:
    # A terminal that reports no size (some CI ptys) would make tqdm hide the bar.
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        size = os.terminal_size((0, 0))
    return {"dynamic_ncols": True} if size.columns > 0 and size.lines > 0 else {"ncols": 100, "nrows": 24}
