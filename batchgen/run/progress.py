"""What a run shows while it works.

Every job of the batch is in one phase (`run/phases.py`). On a terminal: a bar over
the batch's jobs (a job counts once downloaded or failed) with elapsed time, ETA and
the creative units spent against the estimate, and under it a line of counts per phase
and a "rate-limited, waiting N s" state. Both are redrawn every second by `keep_time`,
whether or not anything happened.

With `--no-progress`, or when stderr is not a terminal: one plain, timestamped line
per event, and a line of the same counts every `interval` seconds; readable in CI
logs and `grep`-able.
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any, Callable, Iterable, TextIO

import anyio
from tqdm import tqdm

from batchgen.jobs import Job
from batchgen.run.budget import format_cu
from batchgen.run.decisions import Step
from batchgen.run.phases import DOWNLOADED, FAILED, ON_SERVER, SETTLED, SUBMITTING, SUCCEEDED, Tally

TICK = 1.0  # seconds between two redraws of the bar
STATUS_INTERVAL = 15.0  # seconds between two lines of counts without a terminal


class Progress:
    """Receives the runner's events and shows them as a bar or as log lines.

    `estimate` is the CU estimate of what the run submits (None: not estimated);
    `spent()` the CU the output folder's ledger records so far, read at each redraw.
    """

    def __init__(self, plan: Iterable[tuple[Job, Step]], *, elsewhere: int = 0, bar: bool | None = None,
                 stream: TextIO | None = None, describe: Callable[[Job], str] = Job.label,
                 estimate: float | None = None, spent: Callable[[], float] | None = None,
                 interval: float = STATUS_INTERVAL, clock: Callable[[], float] = time.monotonic):
        self.stream = stream or sys.stderr
        self.tally = Tally(plan, elsewhere=elsewhere)
        self._describe = describe
        self._spending = Spending(spent, estimate)
        self._clock = clock
        self._started = clock()
        self._interval = interval
        self._next_status = self._started + interval
        self._rate_limited_until = 0.0
        self._bar: Bar | None = None
        total, settled = self.tally.total, self.tally.settled
        if total:
            self._log(f"{total:,} job{'s' if total != 1 else ''}, {settled:,} already done")
        if self.stream.isatty() if bar is None else bar:
            self._bar = Bar(self.stream, total=total, settled=settled)
            self._refresh()

    # Events from the runner.

    def submitting(self, job: Job) -> None:
        """The job took a slot and is being sent."""
        self._move(job, SUBMITTING)

    def submitted(self, job: Job, job_id: str) -> None:
        self._move(job, ON_SERVER)
        self._line(f"submitted {self._describe(job)} as {job_id}")

    def recovered(self, job: Job, job_id: str | None) -> None:
        what = f"found again as {job_id}" if job_id else "never reached the API; sending it"
        self._move(job, ON_SERVER if job_id else SUBMITTING)
        self._line(f"{self._describe(job)}: lost answer {what}")

    def succeeded(self, job: Job, job_id: str) -> None:
        self._move(job, SUCCEEDED)
        self._line(f"succeeded {self._describe(job)} ({job_id})")

    def failed(self, job: Job, error: str, hint: str | None = None) -> None:
        self._move(job, FAILED)
        self.message(f"failed {self._describe(job)}: {error}" + (f" ({hint})" if hint else ""))

    def downloaded(self, job: Job, path: str) -> None:
        """One file of the job is in place."""
        self._line(f"downloaded {path}")

    def finished(self, job: Job) -> None:
        """The job is done (all its files are in place)."""
        self._move(job, DOWNLOADED)

    def rate_limited(self, seconds: float) -> None:
        """The API answered 429: submitting waits `seconds` before sending again."""
        now = self._clock()
        entering = now >= self._rate_limited_until
        self._rate_limited_until = max(self._rate_limited_until, now + seconds)
        if entering and self._bar is None:
            self._log(f"rate-limited (429): waiting {_seconds(seconds)} s before sending again")
        self._refresh()

    def message(self, text: str) -> None:
        """A line the user should see even with a bar (warnings, failures)."""
        if self._bar is not None:
            self._bar.write(text)
        else:
            self._log(text)

    # Time passing.

    async def keep_time(self) -> None:
        """Redraw every second until cancelled (the runner runs it beside the jobs)."""
        pause = TICK if self._bar is not None else min(TICK, self._interval)
        while True:
            await anyio.sleep(pause)
            self.tick()

    def tick(self) -> None:
        """One second passed: redraw the bar, or log the counts when the interval is up."""
        if self._bar is not None:
            self._refresh()
        elif self._clock() >= self._next_status:
            self._log(f"{self.headline()}: {self.breakdown()}")
            self._next_status = self._clock() + self._interval

    def close(self) -> None:
        """Take the bar off the screen but for its last state, the counts under it."""
        if self._bar is not None:
            self._refresh()
            self._bar.close(f"  {self.breakdown()}")

    # What is shown.

    def headline(self) -> str:
        """`5/12 done, 0:06 elapsed, ETA 0:05, 150 of ~600 CU`."""
        elapsed = self._clock() - self._started
        return (f"{self.tally.settled:,}/{self.tally.total:,} done, {_clock_time(elapsed)} elapsed, "
                f"ETA {self._eta(elapsed)}, {self._spending}")

    def breakdown(self) -> str:
        """The count of every phase, after the rate-limited state while it lasts (first,
        so that a narrow terminal cuts the counts, not the state)."""
        text = self.tally.breakdown()
        left = self._rate_limited_until - self._clock()
        if left > 0:
            text = f"rate-limited, waiting {_seconds(left)} s; {text}"
        return text

    def _eta(self, elapsed: float) -> str:
        eta = self.tally.eta(elapsed)
        return "?" if eta is None else _clock_time(eta)

    def _move(self, job: Job, phase: str) -> None:
        if not self.tally.move(job, phase):
            return
        if self._bar is not None and phase in SETTLED:
            self._bar.advance()
        self._refresh()

    def _line(self, text: str) -> None:
        if self._bar is None:
            self._log(text)
        else:
            self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None:
            elapsed = self._clock() - self._started
            self._bar.show(f"[{_clock_time(elapsed)} elapsed, ETA {self._eta(elapsed)}] {self._spending}",
                           f"  {self.breakdown()}")

    def _log(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", file=self.stream, flush=True)


class Spending:
    """The CU this run has spent so far, against its estimate (None: not estimated)."""

    def __init__(self, spent: Callable[[], float] | None, estimate: float | None):
        self._spent = spent or (lambda: 0.0)
        self._before = self._spent()  # what the folder's ledger held before this run
        self._estimate = estimate

    def __str__(self) -> str:
        spent = self._spent() - self._before
        if self._estimate is None:
            return f"{_amount(spent)} CU spent"
        return f"{_amount(spent)} of ~{_amount(self._estimate)} CU spent"


class Bar:
    """The terminal's two lines: a bar over the batch's jobs, and a line of text under it."""

    def __init__(self, stream: TextIO, *, total: int, settled: int):
        self._stream = stream
        width = _width(stream)
        self._bar = tqdm(total=total, initial=settled, file=stream, unit="job",
                         bar_format="{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {desc}", **width)
        self._status = tqdm(total=0, file=stream, position=1, bar_format="{desc}", leave=False,
                            **width)

    def advance(self) -> None:
        """One more job settled."""
        self._bar.update(1)

    def show(self, description: str, status: str) -> None:
        """Redraw: `description` after the bar's count, `status` on the line under it."""
        self._bar.set_description_str(description, refresh=True)
        self._status.set_description_str(status, refresh=True)

    def write(self, text: str) -> None:
        """A line printed above the bar, which stays drawn under it."""
        self._bar.write(text, file=self._stream)

    def close(self, last: str) -> None:
        """Take both lines off the screen but for the bar's last state, and `last` under it."""
        self._status.close()
        self._bar.close()
        self._stream.write(f"{last}\n")
        self._stream.flush()


def _clock_time(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _seconds(value: float) -> str:
    return str(max(1, math.ceil(value)))


def _amount(value: float) -> str:
    return format_cu(round(value, 2))


def _width(stream: TextIO) -> dict[str, Any]:
    # A terminal that reports no size (some CI ptys) would make tqdm hide the bar.
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        size = os.terminal_size((0, 0))
    return {"dynamic_ncols": True} if size.columns > 0 and size.lines > 0 else {"ncols": 100, "nrows": 24}
