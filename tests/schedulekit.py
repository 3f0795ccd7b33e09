"""Seeded schedules: the real runner against the simulator, faulted, crashed, edited and
sharded, then checked against issue 12's invariants.

A `Schedule` is everything one trial does, drawn from one seed (`Schedule.from_seed`,
for the benchmark's plain loop) or by Hypothesis (`schedules()`, for the tests, which
shrinks a failing one to a minimal reproduction). `run_schedule(schedule)` plays it:

- one simulator (one account) with the schedule's faults: 5xx before or after the job
  is created, dropped connections, cut downloads, expired URLs, 429s, fresh jobs that
  cannot be read yet, videos still pending after success;
- a manifest of a few prompts x samples, edited between runs (a prompt reworded, added
  or dropped, the sample count changed), whose filename template may lack `{key}`;
- its steps: runs of `run_batch` (or, for `sigkill` schedules, `batchgen run`
  subprocesses over loopback) in one folder or as two shards side by side, each run
  crashed at its N-th ledger append or let finish. An in-process crash is a process
  death: the append that crashes raises out of the runner, every later one too, every
  task is cancelled, and the folder is put back as it was on disk at that append
  (what the runner did after it never happened), with the last line torn if drawn;
- damage between runs: an earlier intent line repeated at the ledger's end;
- then a last run with the faults off, and the checks.

After every step, and more fully after the last run, `Checks` looks for:
  I1  a key with more than one generation on the server (per request body: no more jobs
      than keys that ever had it), or one jobId held by two keys in the batch's ledgers,
      or (at the end) a paid job of a body still in the manifest that no key holds;
  I2  (at the end) a succeeded key whose file is missing or not the server's sha256;
  I3  a file the ledger gave to a key lost or overwritten (each (key, sha256) ever
      recorded must stay recorded for that key, the file intact);
  I4  a ledger whose replay through its checkpoint differs from a full replay;
  I5  spend on the server past --max-cu, per output folder;
  I6  an exception out of a run (a traceback from a subprocess), or a run that did not
      end within RUN_TIMEOUT (with the stacks of its tasks, so a hang says where);
and, at the end without a budget, that the last run succeeded every key ("done").
Every violation names the schedule; `Schedule.reproduction()` is a line to paste.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import logging
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import anyio
import httpx

from batchgen.api import RetryPolicy, ScenarioClient
from batchgen.cli.scope import scope
from batchgen.jobs import canonical_json
from batchgen.ledger import checkpoint
from batchgen.ledger.events import LedgerWriter, ledger_path, read_events
from batchgen.ledger.state import SUCCEEDED, replay
from batchgen.manifest.load import load_batch
from batchgen.run.download import DownloadTiming
from batchgen.run.polling.batched import ListPollTiming
from batchgen.run.runner import RunOptions, run_batch
from batchgen.run.shards import Shard
from batchgen.run.submit import SubmitTiming
from batchgen.simulator import Simulator
from batchgen.simulator.faults import FaultRates
from batchgen.simulator.server import serve_in_thread
from crashkit import KEY, SECRET, OwnEvents, checkpoint_disagreements, run_command, run_env

# Simulated seconds per real second: a job of 10-30 simulated seconds takes 10-30 ms.
TIME_SCALE = 1000.0
DURATION = (10.0, 30.0)
POLL = 0.01  # --poll-interval of every run
# After a lost answer, how long a job list without the job proves it was never received.
# As the documented --recovery-wait must be, longer than a call can take to reach the
# server after its intent plus the time a fresh job stays unlisted (UNREADABLE_FOR /
# TIME_SCALE): on a loaded machine the event loop alone can lag 100 ms and more, and at
# 0.08 s a schedule under load once saw a job appear after its key was proved unsent.
RECOVERY_WAIT = 0.3
UNREADABLE_FOR = 20.0  # simulated seconds a fresh job is absent from reads and lists
PENDING_FOR = 20.0  # simulated seconds a video stays pending after its job succeeded
RATES = {"server_error": 0.15, "drop": 0.1, "truncate": 0.2, "expire": 0.2, "rate_limit": 0.1}
FAULTS = (*RATES, "unreadable", "pending")
EDITS = ("reword", "add", "drop", "samples")
DAMAGES = ("none", "torn", "repeat-intent")
RUN_TIMEOUT = 30.0  # real seconds any one step may take before it counts as a hang
SIM_API = "http://simulator.test/v1"


class SimulatedCrash(BaseException):
    """The process died at this ledger append (a BaseException: nothing may catch it)."""


@dataclass(frozen=True)
class Step:
    """One run of the schedule: the manifest edit before it, where it crashes (its N-th
    ledger append, None: it runs to its end), and the damage its crash leaves."""

    edit: str = "none"
    crash_at: int | None = None
    damage: str = "none"


@dataclass(frozen=True)
class Schedule:
    seed: int
    prompts: int = 2
    samples: int = 1
    shards: int = 0  # 0: one folder; 2: shards 1/2 and 2/2 side by side
    faults: tuple[str, ...] = ()
    after_create: float = 0.5  # share of generate faults striking once the job exists
    budget: float | None = None  # --max-cu, in jobs' worth of creative units
    keyed: bool = False  # the filename template has {key} (else edits can collide)
    steps: tuple[Step, ...] = (Step(),)
    sigkill: bool = False  # crashes are real SIGKILLs of `batchgen run` subprocesses

    @classmethod
    def from_seed(cls, seed: int) -> Schedule:
        """Every parameter drawn from `seed` (the benchmark's schedules)."""
        rng = random.Random(seed)
        steps = tuple(Step(edit="none" if i == 0 or rng.random() < 0.5 else rng.choice(EDITS),
                           crash_at=rng.randint(1, 30) if rng.random() < 0.8 else None,
                           damage=rng.choice(DAMAGES))
                      for i in range(rng.randint(1, 4)))
        return cls(seed=seed, prompts=rng.randint(1, 3), samples=rng.choice((1, 2)),
                   shards=rng.choice((0, 0, 2)),
                   faults=tuple(f for f in FAULTS if rng.random() < 0.5),
                   after_create=rng.choice((0.0, 0.5, 1.0)),
                   budget=rng.choice((None, None, None, rng.randint(0, 6) + 0.5)),
                   keyed=rng.random() < 0.3, steps=steps, sigkill=rng.random() < 0.02)

    def reproduction(self) -> str:
        return f"schedulekit.run_schedule({self!r})"


def schedules(sigkill: bool = False, side_by_side: bool = False):
    """A Hypothesis strategy of schedules (imported here so the benchmark needs none);
    `side_by_side`: only two shards at once, with two samples of each body."""
    from hypothesis import strategies as st

    # A subprocess is slow to start: each of its runs is killed, once a few lines are in.
    crash_at = st.integers(3, 20) if sigkill else st.none() | st.integers(1, 30)
    steps = st.builds(Step, edit=st.sampled_from(("none", *EDITS)), crash_at=crash_at,
                      damage=st.sampled_from(DAMAGES))
    return st.builds(
        Schedule, seed=st.integers(0, 2**32 - 1), prompts=st.integers(1, 3),
        samples=st.just(2) if side_by_side else st.integers(1, 2),
        shards=st.just(2) if side_by_side else st.sampled_from((0, 2)),
        faults=st.lists(st.sampled_from(FAULTS), unique=True).map(tuple),
        after_create=st.sampled_from((0.0, 0.5, 1.0)),
        budget=st.none() | st.integers(0, 6).map(lambda n: n + 0.5),
        keyed=st.booleans(),
        steps=st.lists(steps, min_size=1, max_size=2 if sigkill else 4).map(tuple),
        sigkill=st.just(sigkill))


@dataclass
class Outcome:
    schedule: Schedule
    violations: list[str] = field(default_factory=list)
    runs: int = 0
    crashes: int = 0
    kills: int = 0
    server_jobs: int = 0
    seconds: float = 0.0

    def report(self) -> str:
        return (f"{len(self.violations)} violation(s) in {self.schedule.reproduction()}:\n  "
                + "\n  ".join(self.violations))


# ---------------------------------------------------------------------------- the manifest

class Manifest:
    """The schedule's manifest as it is edited: prompt ids and texts, samples."""

    def __init__(self, folder: Path, schedule: Schedule):
        self.path = folder / "sched.yaml"
        self.keyed = schedule.keyed
        self.prompts = [(f"p{i}", f"A paper lantern over a lake, shot {i}")
                        for i in range(schedule.prompts)]
        self.samples = schedule.samples
        self.edits = 0

    def edit(self, kind: str, rng: random.Random) -> None:
        self.edits += 1
        if kind == "reword":
            i = rng.randrange(len(self.prompts))
            pid, text = self.prompts[i]
            self.prompts[i] = (pid, f"{text}, take {self.edits}")
        elif kind == "add":
            self.prompts.append((f"p{len(self.prompts) + self.edits}",
                                 f"A fox in fresh snow, take {self.edits}"))
        elif kind == "drop" and len(self.prompts) > 1:
            self.prompts.pop(rng.randrange(len(self.prompts)))
        elif kind == "samples":
            self.samples = 3 - self.samples

    def write(self) -> Any:
        template = "{id}/{key}-{sample}.mp4" if self.keyed else "{id}/{sample}.mp4"
        lines = ["version: 1", "name: sched", "output: out", f'filename: "{template}"',
                 "defaults:", "  duration: 5s", "prompts:"]
        lines += [f"  - id: {pid}\n    prompt: {text}" for pid, text in self.prompts]
        lines.append(f"samples: {self.samples}")
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return load_batch(self.path)


# ------------------------------------------------------------------------- crash and disk

def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (but the lock, which dies with its process) and its bytes."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if name == ".batchgen.lock":
                continue
            path = os.path.join(folder, name)
            with contextlib.suppress(FileNotFoundError):
                with open(path, "rb") as handle:
                    files[os.path.relpath(path, root)] = handle.read()
    return files


def restore(root: Path, files: dict[str, bytes]) -> None:
    """Put `root` back as `snapshot` found it."""
    for name in set(snapshot(root)) - set(files):
        os.unlink(root / name)
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


class Crash:
    """While installed, the `at`-th ledger append of this process is its last: it reaches
    the disk, the folder is photographed, and it and every later append raise."""

    def __init__(self, at: int, root: Path):
        self.at = at
        self.root = root
        self.count = 0
        self.fired = False
        self.files: dict[str, bytes] = {}
        self.ledger: Path | None = None  # the ledger whose append crashed
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        original = LedgerWriter.append
        crash = self

        def append(writer: LedgerWriter, event: Any, *, sync: bool = True) -> dict[str, Any]:
            with crash._lock:
                if crash.fired:
                    raise SimulatedCrash()
                written = original(writer, event, sync=sync)
                crash.count += 1
                if crash.count >= crash.at:
                    crash.fired, crash.ledger = True, writer.path
                    crash.files = snapshot(crash.root)
                    raise SimulatedCrash()
                return written

        LedgerWriter.append = append
        try:
            yield
        finally:
            LedgerWriter.append = original


def tear_last_line(ledger: Path, rng: random.Random) -> None:
    """Cut the ledger's last line short, as a crash while writing it does."""
    data = ledger.read_bytes()
    start = data.rfind(b"\n", 0, len(data) - 1) + 1
    if len(data) - start > 1:
        ledger.write_bytes(data[:rng.randint(start + 1, len(data) - 1)])


def repeat_an_intent(ledger: Path, rng: random.Random) -> None:
    """Append a copy of one of the ledger's intent lines (issue 12: a key the API already
    has must not become 'unsent' and be paid for again)."""
    if not ledger.exists():
        return
    intents = [line for line in ledger.read_bytes().splitlines(True) if b'"event":"intent"' in line]
    if intents:
        data = ledger.read_bytes()
        ledger.write_bytes(data + (b"" if data.endswith(b"\n") else b"\n") + rng.choice(intents))


# ----------------------------------------------------------------------------- the checks

class Checks:
    """What the server and the disk hold, against I1-I6 (see the module docstring)."""

    def __init__(self, sim: Simulator, root: Path, outcome: Outcome, max_cu: float | None):
        self.sim = sim
        self.root = root  # the batch's output folder (shard folders below it)
        self.outcome = outcome
        self.max_cu = max_cu
        self.keys_of_body: dict[str, set[str]] = defaultdict(set)  # every manifest version
        self.folder_of_body: dict[str, Path] = {}
        self.recorded: set[tuple[str, str, str]] = set()  # (folder, key, sha256) ever recorded

    def note_batch(self, batch: Any, shards: int) -> None:
        for job in batch.jobs:
            body = canonical_json(job.body({}))
            self.keys_of_body[body].add(job.key)
            # The shard a body's spend counts in, by the documented split (not by
            # Shard.owns_job, which a test may change to show what the split prevents).
            owner = [Shard(i, shards) for i in range(1, shards + 1)
                     if Shard(i, shards).owns(job.request_hash())]
            self.folder_of_body[body] = self.root / owner[0].folder_name if owner else self.root

    def fail(self, when: str, text: str) -> None:
        self.outcome.violations.append(f"{when}: {text}")

    def folders(self) -> list[Path]:
        return [f for f in [self.root, *sorted(self.root.glob("shard-*-of-*"))]
                if ledger_path(f).exists()]

    def states(self, when: str) -> dict[Path, Any]:
        found = {}
        for folder in self.folders():
            try:
                found[folder] = replay(read_events(ledger_path(folder)))
            except Exception as exc:  # noqa: BLE001 - a ledger that cannot be read is I6
                self.fail(when, f"I6 the ledger of {folder.name} cannot be read: {exc!r}")
        return found

    def after_step(self, when: str) -> dict[Path, Any]:
        states = self.states(when)
        self._generations(when, states)
        self._files(when, states)
        for folder, state in states.items():
            for problem in checkpoint_disagreements(ledger_path(folder), state):
                self.fail(when, f"I4 {folder.name}: {problem}")
        self._spend(when, states)
        return states

    def at_end(self, when: str, batch: Any, budget: bool, exit_codes: list[int]) -> None:
        states = self.after_step(when)
        held = {ks.job_id for state in states.values() for ks in state.jobs.values() if ks.job_id}
        final = {canonical_json(job.body({})): set() for job in batch.jobs}
        for job in batch.jobs:
            final[canonical_json(job.body({}))].add(job.key)
        for job_id, job in self.sim.jobs.items():
            body = canonical_json(job.body)
            if body in final and self.keys_of_body[body] == final[body] and job_id not in held:
                self.fail(when, f"I1 paid job {job_id} of a body still in the manifest is held "
                          "by no key (orphaned)")
        for state in states.values():
            for ks in state.jobs.values():
                if ks.state != SUCCEEDED:
                    continue
                by_asset = {r["assetId"]: r for r in ks.files}
                for asset_id in ks.asset_ids:
                    record = by_asset.get(asset_id)
                    truth = hashlib.sha256(self.sim.assets[asset_id].data).hexdigest()
                    if record is None or record["sha256"] != truth:
                        self.fail(when, f"I2 succeeded key {ks.key}: asset {asset_id} has no "
                                  "file with the server's sha256")
        if not budget:
            done = {key for state in states.values()
                    for key, ks in state.jobs.items() if ks.state == SUCCEEDED}
            missing = [job.key for job in batch.jobs if job.key not in done]
            if missing or any(exit_codes):
                self.fail(when, f"done: the last run (faults off) exited {exit_codes} with "
                          f"{len(missing)} key(s) not succeeded: {missing[:3]}")

    def _generations(self, when: str, states: dict[Path, Any]) -> None:
        per_body: dict[str, list[str]] = defaultdict(list)
        for job_id, job in self.sim.jobs.items():
            per_body[canonical_json(job.body)].append(job_id)
        for body, jobs in per_body.items():
            if len(jobs) > len(self.keys_of_body[body]):
                self.fail(when, f"I1 {len(jobs)} generations for {len(self.keys_of_body[body])} "
                          f"key(s) of {body}")
        holder: dict[str, tuple[str, str]] = {}
        for folder, state in states.items():
            for ks in state.jobs.values():
                if ks.job_id is None:
                    continue
                earlier = holder.setdefault(ks.job_id, (folder.name, ks.key))
                if earlier[1] != ks.key:
                    self.fail(when, f"I1 jobId {ks.job_id} held by key {earlier[1]} "
                              f"({earlier[0]}) and by key {ks.key} ({folder.name})")

    def _files(self, when: str, states: dict[Path, Any]) -> None:
        for folder, state in states.items():
            for ks in state.jobs.values():
                for record in ks.files:
                    path = folder / record["path"]
                    try:
                        sha = hashlib.sha256(path.read_bytes()).hexdigest()
                    except OSError:
                        sha = "missing"
                    if sha != record["sha256"]:
                        self.fail(when, f"I3 {folder.name}/{record['path']} of key {ks.key} is "
                                  f"{sha[:12]}, not the recorded {record['sha256'][:12]}")
                    self.recorded.add((str(folder), ks.key, record["sha256"]))
        for folder, key, sha in sorted(self.recorded):
            state = states.get(Path(folder))
            ks = state.jobs.get(key) if state else None
            if ks is None or sha not in {r["sha256"] for r in ks.files}:
                self.fail(when, f"I3 key {key} lost its file {sha[:12]} in {Path(folder).name}")

    def _spend(self, when: str, states: dict[Path, Any]) -> None:
        if self.max_cu is None:
            return
        # A job counts in the folder whose ledger holds its jobId (the run there paid for
        # it), one held by no key in the folder its body belongs to.
        holder = {ks.job_id: folder for folder, state in states.items()
                  for ks in state.jobs.values() if ks.job_id}
        spent: dict[Path, float] = defaultdict(float)
        for job_id, job in self.sim.jobs.items():
            folder = holder.get(job_id) or self.folder_of_body.get(canonical_json(job.body))
            spent[folder or self.root] += job.cost
        for folder, cu in spent.items():
            if cu > self.max_cu + 1e-9:
                self.fail(when, f"I5 {cu} CU generated for {folder.name}, past --max-cu "
                          f"{self.max_cu}")


# ------------------------------------------------------------------------------- the runs

def _options(batch: Any, shard: Shard | None, max_cu: float | None, api: str) -> RunOptions:
    return RunOptions(
        poll_interval=POLL, max_cu=max_cu, shard=shard, api=api, progress=False,
        progress_stream=io.StringIO(),
        polling=ListPollTiming(interval=POLL * 1.6, min_gap=POLL / 10, margin=POLL / 50,
                               release_margin=POLL / 250, gather_max=POLL * 0.8,
                               overlap=POLL * 0.4, stale_after=POLL * 6, unreadable_grace=3.0),
        submit=SubmitTiming(rate_limit_wait=0.01, rate_limit_max_wait=0.05,
                            recovery_wait=RECOVERY_WAIT, recovery_interval=0.02,
                            recovery_margin=60.0, answer_grace=2.0),
        download=DownloadTiming(attempts=6, retry_wait=0.005, pending_wait=0.01, pending_cap=0.05,
                                pending_limit=3.0))


def _client(sim: Simulator) -> ScenarioClient:
    return ScenarioClient(SIM_API, KEY, SECRET, transport=httpx.ASGITransport(sim.app),
                          retry=RetryPolicy(attempts=3, base=0.002, cap=0.01,
                                            max_retry_after=0.02))


def _scoped(batch: Any, shards: int) -> list[tuple[Any, Shard | None]]:
    if not shards:
        return [(batch, None)]
    return [scope(batch, None, Shard(i, shards))[:2] for i in range(1, shards + 1)]


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _task_stacks() -> str:
    """Where every task of the event loop is waiting (its chain of awaits, innermost
    last): what a hang is stuck on."""
    out = []
    for task in asyncio.all_tasks():
        chain, coro = [], task.get_coro()
        while coro is not None:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
            if frame is not None and "site-packages" not in frame.f_code.co_filename:
                chain.append(f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno} "
                             f"{frame.f_code.co_name}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
        out.append(f"{task.get_name()}: " + " > ".join(chain))
    return "\n".join(sorted(out))


async def _in_process(sim: Simulator, batch: Any, schedule: Schedule, max_cu: float | None,
                      api: str) -> tuple[list[int], list[str], str | None]:
    """Run the batch (or its shards side by side); (exit codes, escaped errors, hang)."""
    codes: list[int] = []
    hang: list[str] = []

    async def one(scoped: Any, shard: Shard | None) -> None:
        async with _client(sim) as client:
            summary = await run_batch(scoped, client, options=_options(scoped, shard, max_cu, api))
        codes.append(summary.exit_code)

    async def watchdog(scope_: anyio.CancelScope) -> None:
        await anyio.sleep(RUN_TIMEOUT)
        hang.append(_task_stacks())
        scope_.cancel()

    errors: list[str] = []
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(watchdog, tg.cancel_scope)
            async with anyio.create_task_group() as runs:
                for scoped, shard in _scoped(batch, schedule.shards):
                    runs.start_soon(one, scoped, shard)
            tg.cancel_scope.cancel()
    except BaseException as exc:  # noqa: BLE001 - sorted below: crashes are expected
        errors = ["".join(traceback.format_exception(leaf)) for leaf in _leaves(exc)
                  if not isinstance(leaf, (SimulatedCrash, anyio.get_cancelled_exc_class()))]
    return codes, errors, hang[0] if hang else None


def _subprocess_step(url: str, manifest: Path, root: Path, schedule: Schedule, step: Step,
                     max_cu: float | None, rng: random.Random, outcome: Outcome,
                     ) -> tuple[list[int], list[str]]:
    """`batchgen run` (each shard at once), SIGKILLed once its ledgers gained
    `step.crash_at` lines (or left to finish)."""
    extra = ["--max-cu", str(max_cu)] if max_cu is not None else []
    shards = [f"{i}/{schedule.shards}" for i in range(1, schedule.shards + 1)] or [None]
    procs = []
    for shard in shards:
        folder = root / f"shard-{shard.replace('/', '-of-')}" if shard else root
        command = run_command(manifest, url, *extra, *(["--shard", shard] if shard else []),
                              checkpointing=True)
        proc = subprocess.Popen(command, env=run_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        procs.append((proc, OwnEvents(ledger_path(folder), proc.pid)))
    deadline = time.monotonic() + RUN_TIMEOUT
    killed = False
    while any(p.poll() is None for p, _ in procs) and time.monotonic() < deadline:
        for _, seen in procs:
            seen.read()
        if step.crash_at is not None and sum(len(s.events) for _, s in procs) >= step.crash_at:
            time.sleep(rng.choice((0.0, rng.uniform(0.0, 0.05))))
            killed = True
            break
        time.sleep(0.002)
    hung = not killed and any(p.poll() is None for p, _ in procs)
    for proc, _ in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    errors = []
    codes = []
    for proc, _ in procs:
        _, err = proc.communicate()
        text = err.decode(errors="replace")
        if "Traceback" in text:
            errors.append(text[-3000:])
        if proc.returncode != -signal.SIGKILL:
            codes.append(proc.returncode)
        else:
            outcome.kills += 1
    if hung:
        errors.append(f"hang: `batchgen run` still running after {RUN_TIMEOUT} s")
    return codes, errors


@contextlib.contextmanager
def _checkpoints_often() -> Iterator[None]:
    """Save the replay checkpoint at every 5 % of ledger growth however small the ledger
    (a real run waits for 4 MB), so I4 is checked on every schedule."""
    saved = checkpoint.MIN_BYTES
    checkpoint.MIN_BYTES = 1
    try:
        yield
    finally:
        checkpoint.MIN_BYTES = saved


@contextlib.contextmanager
def _workdir(base: Path | None) -> Iterator[Path]:
    """A fresh folder, on tmpfs when there is one: every ledger line is fsynced."""
    shm = Path("/dev/shm")
    parent = base if base is not None else (shm if shm.is_dir() and os.access(shm, os.W_OK)
                                            else None)
    folder = Path(tempfile.mkdtemp(prefix="schedule-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _simulator(schedule: Schedule) -> Simulator:
    on = set(schedule.faults)
    return Simulator(
        api_key=KEY, api_secret=SECRET, seed=schedule.seed, duration_range=DURATION,
        time_scale=TIME_SCALE, ceiling=3, url_lifetime=200.0, retry_after=2.0,
        after_create_rate=schedule.after_create, record_requests=False,
        unreadable_for=UNREADABLE_FOR if "unreadable" in on else 0.0,
        asset_pending_for=PENDING_FOR if "pending" in on else 0.0,
        **{f"{name}_rate": rate for name, rate in RATES.items() if name in on})


def run_schedule(schedule: Schedule, base: Path | None = None) -> Outcome:
    """Play `schedule` (see the module docstring) and return what the checks found."""
    started = time.monotonic()
    outcome = Outcome(schedule)
    quiet = logging.getLogger("batchgen")
    level, quiet.level = quiet.level, logging.ERROR  # torn lines are warned about: expected
    rng = random.Random(schedule.seed)
    sim = _simulator(schedule)
    with _workdir(base) as work, _checkpoints_often(), contextlib.ExitStack() as stack:
        url = stack.enter_context(serve_in_thread(sim)) if schedule.sigkill else None
        api = url or SIM_API
        manifest = Manifest(work, schedule)
        batch = manifest.write()
        root = Path(batch.output)
        price = sim.models[batch.model].price(batch.jobs[0].body({}))
        max_cu = None if schedule.budget is None else schedule.budget * price
        checks = Checks(sim, root, outcome, max_cu)
        for number, step in enumerate(schedule.steps, 1):
            when = f"step {number}"
            if number > 1 and step.edit != "none":
                manifest.edit(step.edit, rng)
                batch = manifest.write()
            checks.note_batch(batch, schedule.shards)
            outcome.runs += 1
            if schedule.sigkill:
                _, errors = _subprocess_step(url, manifest.path, root, schedule, step, max_cu,
                                             rng, outcome)
                hang = None
            else:
                crash = Crash(step.crash_at or 10**9, root)
                with crash.installed():
                    _, errors, hang = anyio.run(_in_process, sim, batch, schedule, max_cu, api)
                if crash.fired:
                    outcome.crashes += 1
                    restore(root, crash.files)
                    if step.damage == "torn" and crash.ledger is not None:
                        tear_last_line(crash.ledger, rng)
            for error in errors:
                checks.fail(when, f"I6 {error}")
            if hang:
                checks.fail(when, f"I6 hang: the run did not end in {RUN_TIMEOUT} s; tasks:\n{hang}")
                break
            if step.damage == "repeat-intent":
                for folder in checks.folders():
                    repeat_an_intent(ledger_path(folder), rng)
            checks.after_step(when)
        else:
            sim.faults = FaultRates()
            sim.unreadable_for = sim.asset_pending_for = 0.0
            outcome.runs += 1
            codes, errors, hang = anyio.run(_in_process, sim, batch, schedule, max_cu, api)
            for error in errors:
                checks.fail("last run", f"I6 {error}")
            if hang:
                checks.fail("last run", f"I6 hang: the run did not end in {RUN_TIMEOUT} s; "
                            f"tasks:\n{hang}")
            else:
                checks.at_end("last run", batch, schedule.budget is not None, codes)
        outcome.server_jobs = len(sim.jobs)
    quiet.setLevel(level)
    outcome.seconds = time.monotonic() - started
    return outcome
