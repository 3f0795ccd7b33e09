"""What a run shows: a bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import io
import re

from batchgen.run.progress import Progress
from runkit import make_job


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _story(progress: Progress) -> None:
    job = make_job("a lighthouse at dusk")
    progress.submitted(job, "job_abc")
    progress.running(1)
    progress.succeeded(job, "job_abc")
    progress.downloaded(job, "out/a.mp4")
    progress.finished(job)
    progress.close()


def test_on_a_terminal_progress_is_a_bar_with_counts_and_an_eta():
    screen = Terminal()
    _story(Progress(2, stream=screen))
    text = screen.getvalue()
    assert re.search(r"50%\|.*\| 1/2 \[", text)
    assert "submitted 1, running 1, failed 0, downloaded 1" in text
    assert "submitted a-lighthouse-at" not in text  # no log lines under a bar


def test_no_progress_gives_plain_log_lines_even_on_a_terminal():
    screen = Terminal()
    _story(Progress(2, stream=screen, bar=False))
    lines = screen.getvalue().splitlines()
    assert [line[9:] for line in lines] == [
        "2 jobs, 0 already done", "submitted a-lighthouse-at #1 as job_abc",
        "succeeded a-lighthouse-at #1 (job_abc)", "downloaded out/a.mp4"]
    assert all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines)


def test_without_a_terminal_progress_is_plain_log_lines():
    stream = io.StringIO()
    _story(Progress(2, stream=stream))
    assert "%|" not in stream.getvalue() and "downloaded out/a.mp4" in stream.getvalue()


def test_failures_are_shown_even_under_a_bar():
    screen = Terminal()
    progress = Progress(1, stream=screen)
    progress.failed(make_job("a storm"), "Content moderation rejected the output", "Rephrase")
    progress.close()
    assert "failed a-storm #1: Content moderation rejected the output (Rephrase)" in screen.getvalue()
