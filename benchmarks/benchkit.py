"""What the benchmarks share: their command line, the folder they work in, and a batch run
on the in-process simulator with the makespan figures it is judged by."""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python benchmarks/bench_x.py` from a checkout
    sys.path.insert(0, str(ROOT))

from batchgen.api import ScenarioClient  # noqa: E402
from batchgen.simulator import Simulator  # noqa: E402

KEY, SECRET = "bench-key", "bench-secret"


def command_line(doc: str) -> argparse.ArgumentParser:
    """A benchmark's options, described by the first line of its docstring."""
    return argparse.ArgumentParser(description=doc.splitlines()[0])


def add_keep(parser: argparse.ArgumentParser, what: str) -> None:
    """--keep DIR: write the benchmark's files there and keep them."""
    them = "them" if " and " in what else "it"
    parser.add_argument("--keep", type=Path, help=f"write {what} here and keep {them}")


@contextmanager
def work_folder(keep: Path | None, prefix: str | None = None) -> Iterator[Path]:
    """`keep` (created if need be) when given, else a temporary folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder


def add_simulated_batch(parser: argparse.ArgumentParser, *, jobs: int, ceiling: int,
                        scale: float, per_run: str) -> None:
    """--jobs, --ceiling (the simulator's jobs in flight before 429) and --scale."""
    parser.add_argument("--jobs", type=int, default=jobs)
    parser.add_argument("--ceiling", type=int, default=ceiling)
    parser.add_argument("--scale", type=float, default=scale,
                        help=f"simulated seconds per real second ({scale:g}: {per_run})")


def simulated_client(sim: Simulator) -> ScenarioClient:
    """A client of `sim` in this process (its app over ASGI: no sockets)."""
    return ScenarioClient("http://simulator.test/v1", KEY, SECRET,
                          transport=httpx.ASGITransport(sim.app))


def makespan(sim: Simulator, scale: float) -> float:
    """Simulated seconds from the first job's creation to the last job's end."""
    timings = sim.timings()
    return (max(t.finished for t in timings) - min(t.created for t in timings)) * scale


def ideal_makespan(sim: Simulator, concurrency: int) -> float:
    """The least simulated time the drawn durations allow with min(ceiling, concurrency)
    jobs at once: no job ends before the longest one, and the slots cannot do the total
    work faster than side by side."""
    durations = [t.duration for t in sim.timings()]
    return max(max(durations), sum(durations) / min(sim.ceiling, concurrency))
