"""`batchgen run MANIFEST`: run what is not done yet, resuming from the ledger."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchgen.cli.arguments import (add_concurrency, add_json, add_manifest, add_max_jobs, add_shard,
                                    command_parser)
from batchgen.cli.argtypes import non_negative_float, seconds, seconds_or_zero
from batchgen.cli.connect import add_api_options, open_client
from batchgen.cli.invocation import command
from batchgen.cli.scope import scope
from batchgen.cli.validate_cmd import print_problems, print_warnings
from batchgen.errors import BatchgenError, ManifestError, UsageError

if TYPE_CHECKING:
    from batchgen.run.estimate import Estimate
    from batchgen.run.runner import RunOptions, RunSummary

# As batchgen.run.options'. The runner (httpx, anyio, the downloader, the submitter), the
# budget, the shards and the report are imported only when `run` runs: every command's
# parser is built at start-up, and `plan` or `status` should not pay for them.
DEFAULT_CONCURRENCY = 1000

# The in-process simulator runs this many simulated seconds per real second, so the
# Quick start sweep (jobs of 40 to 120 simulated seconds) finishes in seconds.
SIMULATE_TIME_SCALE = 20.0
SIMULATE_POLL_INTERVAL = 0.25
SIMULATE_RECOVERY_WAIT = 1.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = command_parser(
        subparsers, "run", run_command, "run what is not done yet; resumes from the ledger",
        "Run every job of MANIFEST that is not done yet: upload local frames, submit, poll, "
        "and download the videos into the output folder. Safe to run again at any time: the "
        "ledger makes it resume, never submit a job twice.")
    add_manifest(parser)
    parser.add_argument("--out", metavar="DIR",
                        help="output folder (default: the manifest's `output`)")
    add_concurrency(parser, DEFAULT_CONCURRENCY,
                    "most generations in flight at once (default: as many as the API accepts, "
                    f"up to {DEFAULT_CONCURRENCY}, found from its 429s; never above a ceiling "
                    "it states)")
    parser.add_argument("--max-cu", metavar="N", type=non_negative_float,
                        help="never submit a job that would take this output folder's spend "
                        "(earlier runs included) past N creative units; stop submitting, let "
                        "running jobs finish, exit 1")
    parser.add_argument("--retry-failed", action="store_true",
                        help="submit failed jobs again (only those)")
    add_shard(parser, "run shard I of N (1-based): the jobs whose key modulo N is I-1, "
              "with their own ledger in <output>/shard-I-of-N/ (unless --out)")
    parser.add_argument("--allow-other-manifest", action="store_true",
                        help="run into an output folder whose ledger another manifest wrote "
                        "(refused otherwise: the batches' jobs and files would mix); for a "
                        "manifest that was renamed or moved and carries on that batch")
    parser.add_argument("--reuse", action="store_true",
                        help="take the results of jobs already generated elsewhere (found in "
                        "the index of paid results) instead of paying for them again: their "
                        "files are hard-linked or copied into place and checked against their "
                        "sha256; a file gone or altered is not taken (the job is submitted). "
                        "The manifest's `reuse: true` does the same")
    parser.add_argument("--reuse-from", metavar="DIR", nargs="+", action="extend", default=[],
                        help="take the results the ledgers of these output folders (and their "
                        "shard folders) record, as --reuse does, without the index: e.g. a "
                        "colleague's folder on a shared drive")
    add_api_options(parser)
    add_max_jobs(parser)
    parser.add_argument("--yes", "-y", action="store_true",
                        help="do not ask for confirmation (of a large estimate, or of paying "
                        "again for jobs generated elsewhere)")
    parser.add_argument("--no-progress", action="store_true",
                        help="plain log lines instead of a progress bar")
    add_json(parser, "print a machine-readable summary on stdout at the end")
    timing = parser.add_argument_group("timing")
    timing.add_argument("--poll-interval", metavar="SECONDS", type=seconds,
                        help="seconds between two looks at a running job (default 5)")
    timing.add_argument("--recovery-wait", metavar="SECONDS", type=seconds_or_zero,
                        help="how long after a lost answer a job list that lacks the job proves "
                        "it was never received, so it may be sent (default 150)")


def run_command(args: argparse.Namespace) -> int:
    """Handle `batchgen run`; returns the exit code."""
    import anyio

    from batchgen.api.auth import Credentials
    from batchgen.run.budget import confirm_threshold
    from batchgen.run.shards import parse_shard
    from batchgen.manifest.load import load_batch

    shard = parse_shard(args.shard) if args.shard is not None else None
    confirm_above = confirm_threshold()
    if args.simulate and args.base_url:
        raise UsageError("--simulate and --base-url exclude each other: --simulate runs the "
                         "built-in simulator in this process")
    if not args.simulate:
        Credentials.resolve()  # before anything else: say which variables to set
    try:
        batch = load_batch(args.manifest, max_jobs=args.max_jobs)
    except ManifestError as exc:
        print_problems(exc, args.manifest)
        return exc.exit_code
    print_warnings(batch)
    batch, shard, folder = scope(batch, args.out, shard)
    from batchgen.reuse.ask import confirm_again
    from batchgen.reuse.sources import check_reuse_from
    from batchgen.run.runner import RunOptions

    reuse_from = check_reuse_from(args.reuse_from)  # before anything is written

    options = RunOptions(
        concurrency=args.concurrency, retry_failed=args.retry_failed,
        progress=False if args.no_progress else None,
        output=Path(args.out).resolve() if args.out else None,
        handle_signals=True, resume_command=resume_command(args),
        api=api_label(args),
        max_cu=args.max_cu, shard=shard, allow_other_manifest=args.allow_other_manifest,
        team_id=None if args.simulate else (os.environ.get("SCENARIO_TEAM_ID") or None),
        confirm=lambda estimate, at_stake: _confirm(estimate, at_stake, confirm_above, args.yes),
        reuse=True if args.reuse else None, reuse_from=reuse_from,
        confirm_again=lambda found: confirm_again(found, folder, yes=args.yes, stdin=sys.stdin,
                                                  stdout=sys.stderr))
    if args.simulate:
        # The in-process simulator forgets its jobs and assets when the process ends.
        options.drain_on_interrupt = True
        options.reuse_uploads = False
        options.poll_interval = SIMULATE_POLL_INTERVAL
        options.submit.recovery_wait = SIMULATE_RECOVERY_WAIT
    if args.poll_interval is not None:
        options.poll_interval = args.poll_interval
    if args.recovery_wait is not None:
        options.submit.recovery_wait = args.recovery_wait
    # An interrupted run leaves Ctrl-C ignored (RunOptions.handle_signals) to the end of
    # the process: the user asked to quit, and a KeyboardInterrupt while the summary is
    # printed or the interpreter shuts down would only lose the resume command.
    summary = anyio.run(_run, batch, args, options)
    stream = sys.stderr if args.json else sys.stdout
    print_summary(summary, stream)
    write_run_report(summary.output, stream)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    return summary.exit_code


async def _run(batch: Any, args: argparse.Namespace, options: RunOptions) -> RunSummary:
    sim_knobs = {"time_scale": SIMULATE_TIME_SCALE} if args.simulate else {}
    from batchgen.run.runner import run_batch

    async with open_client(args, models=batch.models.models, **sim_knobs) as client:
        return await run_batch(batch, client, options=options)


def write_run_report(output: str, stream: Any) -> None:
    """The HTML comparison of the output folder, refreshed after every run.

    The run's outcome is already safe in the ledger, so a report that cannot be
    written is a warning, never a change of exit code.
    """
    from batchgen.report import report_targets

    try:
        path, _ = report_targets([output])
    except (BatchgenError, OSError) as exc:
        print(f"warning: the report could not be written: {exc}", file=sys.stderr)
        return
    print(f"report {_shown(str(path))}", file=stream)


def print_summary(summary: RunSummary, stream: Any) -> None:
    """The human summary at the end of a run."""
    c = summary.counts
    print(f"{summary.name}: {summary.total} jobs: {c['succeeded']} succeeded, "
          f"{c['failed']} failed, {c['running']} running, {c['pending']} pending "
          f"({summary.elapsed:.1f} s; this run submitted {summary.submitted}, "
          + (f"reused {summary.reused}, " if summary.reused else "")
          + f"downloaded {summary.downloaded})", file=stream)
    print(spending(summary), file=stream)
    for failure in summary.failed:
        hint = f" ({failure['hint']})" if failure.get("hint") else ""
        print(f"  failed {failure['label']}: {failure['error']}{hint}", file=stream)
    for problem in summary.download_errors:
        print(f"  not downloaded: {problem}", file=stream)
    print(f"files in {_shown(summary.output)}, ledger {_shown(summary.ledger)}", file=stream)
    if summary.elsewhere:
        print(f"left alone, already sent from other folders of this batch: {summary.elsewhere}",
              file=stream)
    if summary.reused:
        print(f"reused (0 CU in this batch), verified by sha256: {summary.reused_from}",
              file=stream)
    if summary.not_reused:
        print("not reused, their files gone or altered since (submitted as usual): "
              f"{summary.not_reused}", file=stream)
    if summary.paid_again:
        print(f"paid again for jobs generated elsewhere: {summary.paid_again}", file=stream)
    if summary.index_problem:
        print(f"warning: {summary.index_problem}", file=sys.stderr)
    if summary.budget_stopped:
        print(f"stopped by the budget: {summary.budget}. Raise --max-cu to go on.", file=stream)
    elif summary.budget:
        print(f"budget: {summary.budget}", file=stream)
    if summary.access_denied:
        print(f"stopped: the API refused access ({summary.access_denied}); check the "
              "credentials and the plan, then run the same command again", file=stream)
    elif summary.unreachable:
        running = (f"; the {c['running']} jobs already sent are picked up by the next run, not "
                   "submitted again" if c["running"] else "")
        print(f"stopped: {summary.unreachable} (check the network and --base-url); the "
              f"{c['pending']} jobs not sent are pending{running}. Run the same command again "
              f"once it is reachable:\n  {summary.resume_command}", file=stream)
    elif summary.interrupted:
        running = (f" The {c['running']} jobs still running on the server are picked up by the "
                   "next run, not submitted again." if c["running"] else "")
        print(f"interrupted.{running} Resume with:\n  {summary.resume_command}", file=stream)
    elif summary.failed and summary.resume_command:
        print(f"to submit the failed jobs again:\n  {retry_command(summary.resume_command)}",
              file=stream)


def spending(summary: RunSummary) -> str:
    """`spent 150 CU (estimate 600 CU); 750 CU in this output folder so far`."""
    from batchgen.run.budget import format_cu

    line = f"spent {format_cu(summary.spent_this_run)} CU"
    if summary.estimated is not None:
        line += f" (estimate {format_cu(summary.estimated)} CU)"
    if abs(summary.spent - summary.spent_this_run) > 1e-9:
        line += f"; {format_cu(summary.spent)} CU in this output folder so far"
    return line


def resume_command(args: argparse.Namespace) -> str:
    """The command that resumes this run: the same command, as it was typed."""
    return command(*getattr(args, "words", None) or ["run", args.manifest])


def retry_command(resume: str) -> str:
    """The resume command with --retry-failed (once)."""
    words = shlex.split(resume)
    return shlex.join(words if "--retry-failed" in words else [*words, "--retry-failed"])


def _confirm(estimate: Estimate, at_stake: float, threshold: float, yes: bool) -> None:
    """Before submitting: show a large estimate and ask (or require --yes without a terminal)."""
    if at_stake <= threshold:
        return
    from batchgen.run.budget import confirm

    print(f"estimated cost of the jobs to submit:\n{estimate.render()}", file=sys.stderr)
    confirm(at_stake, threshold=threshold, yes=yes, stdin=sys.stdin, stdout=sys.stderr)


def api_label(args: argparse.Namespace) -> str:
    """Which API a run (or an estimate) with these options talks to, as the ledger's
    `run` event and the index of paid results record it."""
    import os

    from batchgen.api.client import resolve_base_url
    from batchgen.run.origin import SIMULATED_API

    if args.simulate:
        return SIMULATED_API
    given = args.base_url or os.environ.get("SCENARIO_BASE_URL")
    # Checked before anything is written: a URL carrying credentials is refused here.
    return resolve_base_url(given) if given else "scenario"


def _shown(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path
