"""What a run shows: a bar redrawn every second on a terminal, plain log lines otherwise."""

from __future__ import annotations

import io
import re

import anyio

from batchgen.run.decisions import Step
from batchgen.run.progress import Progress
from runkit import make_job


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


JOB, OTHER = make_job("a lighthouse at dusk"), make_job("a storm at sea")


def _story(progress: Progress) -> None:
    progress.submitting(JOB)
    progress.submitted(JOB, "job_abc")
    progress.succeeded(JOB, "job_abc")
    progress.downloaded(JOB, "out/a.mp4")
    progress.finished(JOB)
    progress.close()


def _last_screen(text: str) -> str:
    """What the terminal shows last: the text after the final carriage return of each line."""
    return text.rsplit("\r", 1)[-1]


def test_on_a_terminal_the_bar_shows_elapsed_eta_counts_and_cu_against_the_estimate():
    screen, clock, spent = Terminal(), Clock(), [100.0]
    progress = Progress([(JOB, Step.SUBMIT), (OTHER, Step.SUBMIT)], stream=screen, clock=clock,
                        estimate=60, spent=lambda: spent[0])
    progress.submitting(JOB)
    progress.submitting(OTHER)
    assert "0 waiting, 2 submitting, 0 on server" in screen.getvalue()
    clock.now += 4
    spent[0] += 30
    progress.submitted(JOB, "job_abc")
    progress.succeeded(JOB, "job_abc")
    progress.finished(JOB)
    text = screen.getvalue()
    assert re.search(r"50%\|.*\| 1/2 \[0:04 elapsed, ETA 0:04\] 30 of ~60 CU spent", text)
    assert "0 waiting, 1 submitting, 0 on server, 1 succeeded (1 downloaded), 0 failed" in text
    assert "submitted a-lighthouse-at" not in text  # no log lines under a bar


def test_the_bar_ticks_every_second_when_nothing_happens():
    screen, clock = Terminal(), Clock()
    progress = Progress([(JOB, Step.POLL)], stream=screen, clock=clock)
    for _ in range(3):
        clock.now += 1
        progress.tick()
    text = screen.getvalue()
    assert all(f"[0:0{n} elapsed, ETA ?]" in text for n in (1, 2, 3))
    assert "1 on server" in text


def test_keep_time_redraws_by_itself_while_the_run_waits():
    screen = Terminal()
    progress = Progress([(JOB, Step.POLL)], stream=screen)

    async def wait_a_while() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(progress.keep_time)
            await anyio.sleep(2.5)
            tg.cancel_scope.cancel()

    anyio.run(wait_a_while)
    assert "0:02 elapsed" in screen.getvalue()


def test_a_rate_limit_shows_as_a_state_counting_down_its_wait():
    screen, clock = Terminal(), Clock()
    progress = Progress([(JOB, Step.SUBMIT)], stream=screen, clock=clock)
    progress.submitting(JOB)
    progress.rate_limited(5.0)
    assert _last_screen(screen.getvalue()).startswith("  rate-limited, waiting 5 s; 0 waiting")
    clock.now += 2
    progress.tick()
    assert "rate-limited, waiting 3 s" in _last_screen(screen.getvalue())
    clock.now += 4
    progress.tick()
    assert "rate-limited" not in _last_screen(screen.getvalue())


def test_no_progress_gives_plain_log_lines_even_on_a_terminal():
    screen = Terminal()
    _story(Progress([(JOB, Step.SUBMIT), (OTHER, Step.SUBMIT)], stream=screen, bar=False))
    lines = screen.getvalue().splitlines()
    assert [line[9:] for line in lines] == [
        "2 jobs, 0 already done", "submitted a-lighthouse-at #1 as job_abc",
        "succeeded a-lighthouse-at #1 (job_abc)", "downloaded out/a.mp4"]
    assert all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines)


def test_without_a_terminal_the_counts_are_logged_at_a_steady_interval():
    stream, clock = io.StringIO(), Clock()
    progress = Progress([(JOB, Step.POLL), (OTHER, Step.DONE)], stream=stream, clock=clock,
                        interval=10, estimate=30, spent=lambda: 0.0)
    for _ in range(25):
        clock.now += 1
        progress.tick()
    lines = stream.getvalue().splitlines()
    assert "%|" not in stream.getvalue()
    assert [line[9:] for line in lines] == [
        "2 jobs, 1 already done",
        "1/2 done, 0:10 elapsed, ETA ?, 0 of ~30 CU spent: 0 waiting, 0 submitting, "
        "1 on server, 1 succeeded (1 downloaded), 0 failed",
        "1/2 done, 0:20 elapsed, ETA ?, 0 of ~30 CU spent: 0 waiting, 0 submitting, "
        "1 on server, 1 succeeded (1 downloaded), 0 failed"]


def test_without_a_terminal_a_rate_limit_is_one_line_however_many_429s_it_takes():
    stream, clock = io.StringIO(), Clock()
    progress = Progress([(JOB, Step.SUBMIT), (OTHER, Step.SUBMIT)], stream=stream, clock=clock)
    progress.rate_limited(4.2)
    clock.now += 1
    progress.rate_limited(3.0)  # another job refused while the first wait lasts
    clock.now += 10
    progress.rate_limited(2.0)
    lines = [line[9:] for line in stream.getvalue().splitlines()[1:]]
    assert lines == ["rate-limited (429): waiting 5 s before sending again",
                     "rate-limited (429): waiting 2 s before sending again"]


def test_jobs_start_in_the_phase_their_ledger_gives_them_and_count_once():
    screen = Terminal()
    progress = Progress([(JOB, Step.SKIP_FAILED), (OTHER, Step.DOWNLOAD),
                         (make_job("a fox"), Step.DONE), (make_job("a crow"), Step.RECOVER)],
                        stream=screen)
    assert "4 jobs, 2 already done" in screen.getvalue()
    progress.failed(JOB, "refused earlier")  # the runner shows it; it is not counted again
    progress.finished(OTHER)
    progress.close()
    text = screen.getvalue()
    assert "3/4" in text and "4/4" not in text and "5/4" not in text
    assert "0 waiting, 1 submitting, 0 on server, 2 succeeded (2 downloaded), 1 failed" in text


def test_a_lost_answer_stays_submitting_until_found_or_proved_unsent():
    stream = io.StringIO()
    progress = Progress([(JOB, Step.SUBMIT), (OTHER, Step.SUBMIT)], stream=stream, bar=False)
    progress.submitting(JOB)
    progress.submitting(OTHER)
    progress.recovered(JOB, "job_found")
    progress.recovered(OTHER, None)
    assert progress.breakdown().startswith("0 waiting, 1 submitting, 1 on server")


def test_failures_are_shown_even_under_a_bar():
    screen = Terminal()
    progress = Progress([(JOB, Step.SUBMIT)], stream=screen)
    progress.failed(make_job("a storm"), "Content moderation rejected the output", "Rephrase")
    progress.close()
    assert "failed a-storm #1: Content moderation rejected the output (Rephrase)" in screen.getvalue()


def test_a_run_without_a_terminal_logs_its_counts_and_each_429_wait_once(tmp_path):
    from runkit import client_for, make_batch, run, simulator

    sim = simulator(ceiling=1, retry_after=0.3, duration_range=(40.0, 60.0))
    jobs = [make_job(f"a lighthouse at dusk, take {i}", duration="5s") for i in range(3)]
    stream = io.StringIO()
    summary = run(make_batch(tmp_path, jobs), client_for(sim), concurrency=3,
                  progress_stream=stream, progress_interval=0.5)
    assert summary.exit_code == 0
    text = stream.getvalue()
    assert re.search(r"\d/3 done, 0:0\d elapsed, ETA [0-9:?]+, \d+ CU spent: \d waiting, "
                     r"\d submitting, \d on server", text)
    assert "rate-limited (429): waiting 1 s before sending again" in text
