"""Killing `batchgen run` at random moments against a simulator served over loopback.

`crash_campaign()` is the harness behind tests/run/test_crash_kill.py; benchmarks call it
with a larger `kills`. The simulator is served by `batchgen.simulator.server` in this
process (its counters are read directly); `batchgen run` is a real subprocess talking
to it over a real socket, and is SIGKILLed.

Each kill is aimed by watching the ledger lines the process itself writes (from its
own `run` event on), so that it lands while the run is at work rather than while the
interpreter is still starting, and the report counts, from the ledger each killed
process left, where the kills really landed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from batchgen.ledger.checkpoint import Brief, checkpoint_path, load_brief, load_state
from batchgen.jobs import canonical_json
from batchgen.ledger.events import ledger_path, read_events
from batchgen.simulator import Simulator
from batchgen.simulator.server import serve_in_thread
from batchgen.ledger.state import replay
from batchgen.manifest.load import load_batch

KEY, SECRET = "crash-key-7f31", "crash-secret-0c8e52"
BATCHGEN = [sys.executable, "-m", "batchgen"]
# The same command with the replay checkpoint saved at every 5 % of ledger growth
# however small the ledger (a real one waits for 4 MB), so kills land while saving too.
BATCHGEN_CHECKPOINTING = [sys.executable, "-c", "import sys, batchgen.ledger.checkpoint as c; "
                          "c.MIN_BYTES = 1; from batchgen.cli import main; sys.exit(main())"]
ANSWERS = frozenset({"submitted", "recovered", "unsent", "failed"})  # what closes an intent
START_TIMEOUT = 20.0  # seconds a process may take to write its `run` event
INTENT_TIMEOUT = 6.0  # seconds to wait for an intent before killing anyway
RANDOM_DELAY = (0.0, 1.5)  # seconds into the run for a kill at a random moment


class SlowGenerate:
    """ASGI wrapper adding latency to generate calls, before or after the job is created.

    Real networks take time; without it the window between an intent and its answer is
    too short for a kill to land in it often.
    """

    def __init__(self, sim: Simulator, delay: tuple[float, float], seed: int):
        self.sim = sim
        self.delay = delay
        self.rng = random.Random(seed)

    async def app(self, scope: dict, receive: Callable, send: Callable) -> None:
        generate = scope["type"] == "http" and "/generate/" in scope.get("path", "")
        wait = self.rng.uniform(*self.delay) if generate else 0.0
        late = self.rng.random() < 0.5
        if wait and not late:
            await asyncio.sleep(wait)  # the request is still on its way
        if wait and late:
            async def delayed_send(message: dict) -> None:
                if message["type"] == "http.response.start":
                    await asyncio.sleep(wait)  # the job exists, the answer is on its way back
                await send(message)
            await self.sim.app(scope, receive, delayed_send)
        else:
            await self.sim.app(scope, receive, send)


def write_manifest(folder: Path, prompts: int, samples: int, tag: str = "") -> Path:
    """A manifest of `prompts` prompts x `samples` samples; `tag` makes its prompts unique."""
    lines = ["version: 1", "name: crash", 'filename: "{id}/{sample}.mp4"',
             "defaults:", "  duration: 5s", "prompts:"]
    lines += [f"  - id: p{i}\n    prompt: A paper lantern drifting over a lake{tag}, shot {i}"
              for i in range(prompts)]
    lines.append(f"samples: {samples}")
    path = folder / "crash.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class CrashReport:
    """What a crash campaign found; every list should stay empty.

    `kills` counts SIGKILLs that ended a process; of those, `kills_inside_run` hit a
    process that had written its `run` event and not its `end`, and
    `killed_right_after_intent` left one of its own intents unanswered (no `submitted`,
    `recovered`, `unsent` or `failed` for that key after it): the moment when the
    generate call may or may not have reached the API. `aimed_after_intent` is how
    many kills waited for an intent rather than a random moment.
    """

    kills: int = 0
    kills_inside_run: int = 0
    aimed_after_intent: int = 0
    killed_right_after_intent: int = 0
    batches: int = 0
    duplicates: list[str] = field(default_factory=list)
    bad_files: list[str] = field(default_factory=list)
    unreadable_ledger: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # temporary files after the last run
    bad_checkpoints: list[str] = field(default_factory=list)  # disagreeing with a full replay
    checkpoints_checked: int = 0  # checks that found a checkpoint to compare
    final_exit_codes: list[int] = field(default_factory=list)
    final_counts: Counter = field(default_factory=Counter)  # job states after the last runs
    recovered: int = 0
    unsent: int = 0


def run_command(manifest: Path, url: str, *extra: str, checkpointing: bool = False) -> list[str]:
    return [*(BATCHGEN_CHECKPOINTING if checkpointing else BATCHGEN), "run", str(manifest),
            "--base-url", url, "--concurrency", "4",
            "--poll-interval", "0.1", "--recovery-wait", "0.5", "--no-progress", "--yes", *extra]


def run_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(SCENARIO_SDK_API_KEY=KEY, SCENARIO_SDK_API_SECRET=SECRET, PYTHONUNBUFFERED="1")
    return env


@contextlib.contextmanager
def served(seed: int, **knobs: Any) -> Iterator[tuple[Simulator, str]]:
    knobs.setdefault("duration_range", (10.0, 30.0))
    knobs.setdefault("time_scale", 20.0)
    knobs.setdefault("ceiling", 50)
    sim = Simulator(api_key=KEY, api_secret=SECRET, seed=seed, **knobs)
    with serve_in_thread(SlowGenerate(sim, (0.02, 0.3), seed)) as url:
        yield sim, url


class OwnEvents:
    """The ledger events one `batchgen run` process writes, read as they are appended.

    It starts at the last complete line the ledger had when the process was spawned
    (opening the ledger may drop a torn tail left by the previous kill, never more) and
    keeps only the events from the process's own `run` event on, so nothing an earlier
    process wrote is taken for this one's.
    """

    def __init__(self, ledger: Path, pid: int):
        self.ledger = ledger
        self.pid = pid
        try:
            data = ledger.read_bytes()
        except FileNotFoundError:
            data = b""
        self._offset = data.rfind(b"\n") + 1
        self._partial = b""
        self.events: list[dict] = []
        self.started = False  # its `run` event was seen
        self.ended = False  # its `end` event was seen

    def read(self) -> list[dict]:
        """Events this process appended since the last call."""
        try:
            with self.ledger.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        fresh = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # an earlier process's torn line, just repaired
            if not self.started:
                if event.get("event") != "run" or event.get("pid") != self.pid:
                    continue
                self.started = True
            self.ended = self.ended or event.get("event") == "end"
            fresh.append(event)
        self.events += fresh
        return fresh

    def unanswered(self, events: list[dict] | None = None) -> set[str]:
        """Keys whose latest intent (among `events`, else all of them) has no answer yet."""
        waiting: set[str] = set()
        for event in self.events if events is None else events:
            if event.get("event") == "intent":
                waiting.add(event["key"])
            elif event.get("event") in ANSWERS:
                waiting.discard(event.get("key"))
        return waiting


def _wait(proc: subprocess.Popen, seen: OwnEvents, until: Callable[[list[dict]], bool],
          timeout: float) -> bool:
    """Read the process's new events until `until(new events)` holds; False if it exited
    or `timeout` passed first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if until(seen.read()):
            return True
        time.sleep(0.001)
    return False


def _kill_soon(proc: subprocess.Popen, seen: OwnEvents, rng: random.Random,
               after_intent: bool) -> None:
    """Once the run is under way, SIGKILL it at a random moment or right after an intent."""
    if not _wait(proc, seen, lambda _: seen.started, START_TIMEOUT):
        proc.send_signal(signal.SIGKILL)
        return
    if after_intent:
        # A fresh intent of this process (a resend after a 429 included), then now or
        # while the generate call is on its way there or back.
        if _wait(proc, seen, lambda new: bool(seen.unanswered(new)), INTENT_TIMEOUT):
            time.sleep(rng.choice((0.0, rng.uniform(0.0, 0.15))))
    else:
        time.sleep(rng.uniform(*RANDOM_DELAY))
    proc.send_signal(signal.SIGKILL)


def check(batch: Any, sim: Simulator, report: CrashReport, when: str) -> None:
    """At most one job per key on the server; every recorded file intact; a readable ledger."""
    per_body = Counter(canonical_json(job.body({})) for job in batch.jobs)
    for body, keys in per_body.items():
        created, calls = sim.counters.jobs_created[body], sim.counters.generate_calls[body]
        if created > keys or calls > keys:
            report.duplicates.append(f"{when}: {calls} generate calls, {created} jobs for "
                                     f"{keys} keys of {body}")
    try:
        state = replay(read_events(ledger_path(batch.output)))
    except Exception as exc:  # noqa: BLE001 - any failure to read is what we report
        report.unreadable_ledger.append(f"{when}: {exc}")
        return
    for ks in state.jobs.values():
        for record in ks.files:
            path = batch.output / record["path"]
            if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != record["sha256"]:
                report.bad_files.append(f"{when}: {record['path']}")
    _check_checkpoint(ledger_path(batch.output), state, report, when)


def _check_checkpoint(ledger: Path, state: Any, report: CrashReport, when: str) -> None:
    """Whatever checkpoint a killed run left, reading through it equals a full replay."""
    if not checkpoint_path(ledger).exists():
        return
    report.checkpoints_checked += 1
    report.bad_checkpoints += [f"{when}: {problem}"
                               for problem in checkpoint_disagreements(ledger, state)]


def checkpoint_disagreements(ledger: Path, state: Any) -> list[str]:
    """How reading `ledger` through its checkpoint (if it has one) differs from `state`,
    its full replay: nothing, when the checkpoint is sound."""
    if not checkpoint_path(ledger).exists():
        return []
    problems = []
    through = load_state(ledger, save=False)
    if (through.jobs, through.uploads, through.ceiling, through.spent, through.known_job_ids) != (
            state.jobs, state.uploads, state.ceiling, state.spent, state.known_job_ids):
        problems.append("load_state differs from the full replay")
    briefs = load_brief(ledger)
    full = {key: Brief.of(ks) for key, ks in state.jobs.items()}
    if briefs is not None and {b.key: b for b in briefs} != full:
        differ = [(b, full.get(b.key)) for b in briefs if full.get(b.key) != b]
        problems.append(f"load_brief differs from the full replay: {differ[:2]}")
    return problems


def crash_campaign(workdir: Path, *, kills: int, seed: int = 1, prompts: int = 20,
                   samples: int = 2, time_scale: float = 10.0,
                   kills_per_batch: int = 12) -> CrashReport:
    """SIGKILL `batchgen run` until `kills` kills have landed inside a run, resuming
    after each kill.

    A batch (`prompts` x `samples` jobs) takes up to `kills_per_batch` of them, or fewer
    if it finishes first; then a last run completes it, the checks run, and the next
    batch (in a new folder, with new prompts) takes the next kills. About half of the
    kills wait for an intent; the others land at a random moment of the run. Every
    second batch is run saving the replay checkpoint as often as a big ledger would.
    """
    rng = random.Random(seed)
    report = CrashReport()
    attempts, max_attempts = 0, 2 * kills + 10  # a harness missing its runs stops
    with served(seed, time_scale=time_scale) as (sim, url):
        while report.kills_inside_run < kills and attempts < max_attempts:
            report.batches += 1
            folder = workdir / f"batch-{report.batches}"
            folder.mkdir()
            manifest = write_manifest(folder, prompts, samples, tag=f", batch {report.batches}")
            batch = load_batch(manifest)
            ledger = ledger_path(batch.output)
            goal = report.kills_inside_run + min(kills_per_batch, kills - report.kills_inside_run)
            checkpointing = report.batches % 2 == 0
            while report.kills_inside_run < goal and attempts < max_attempts:
                attempts += 1
                proc = subprocess.Popen(run_command(manifest, url, checkpointing=checkpointing),
                                        env=run_env(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                seen = OwnEvents(ledger, proc.pid)
                after_intent = attempts % 3 == 1 or rng.random() < 0.2
                _kill_soon(proc, seen, rng, after_intent)
                if proc.wait() != -signal.SIGKILL:
                    break  # it finished (or failed) before the kill: its last run tells
                seen.read()
                report.kills += 1
                inside = seen.started and not seen.ended
                report.kills_inside_run += inside
                report.aimed_after_intent += after_intent
                report.killed_right_after_intent += inside and bool(seen.unanswered())
                check(batch, sim, report, f"batch {report.batches}, after kill {report.kills}")
            final = subprocess.run(run_command(manifest, url, checkpointing=checkpointing),
                                   env=run_env(),
                                   capture_output=True, text=True, timeout=120)
            report.final_exit_codes.append(final.returncode)
            check(batch, sim, report, f"batch {report.batches}, after its last run")
            report.leftovers += [str(p) for pattern in ("*.part", "*.tmp")
                                 for p in batch.output.rglob(pattern)]
            events = read_events(ledger)
            state = replay(events)
            report.final_counts.update(state.jobs[j.key].state if j.key in state.jobs else "missing"
                                       for j in batch.jobs)
            report.recovered += sum(e["event"] == "recovered" for e in events)
            report.unsent += sum(e["event"] == "unsent" for e in events)
    return report
