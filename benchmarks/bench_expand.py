"""Benchmark: expand and validate a 100,000-job manifest; print time and peak memory.

    python benchmarks/bench_expand.py            # both scenarios, each in a fresh process
    python benchmarks/bench_expand.py matrix     # one scenario, in this process

Scenarios (100,000 jobs each):
- matrix: 50 prompts x style (20) x camera (20) x resolution (3) x hdr (2), minus HDR at
  540p, with a start frame on half the prompts: 20,000 distinct prompt texts.
- csv: a CSV manifest of 100,000 rows, every row a different prompt.
- list: a YAML manifest listing 100,000 plain-text prompts.

Budget: under 3 s and under 300 MB peak resident memory each (checked; exit 1 if not).
Time is load_batch() alone (wall clock; its CPU time beside it shows how much of it was
other processes' load); peak memory is the whole process's, interpreter included.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from batchgen.manifest.load import load_batch  # noqa: E402

JOBS = 100_000
MAX_SECONDS = 3.0
MAX_MB = 300
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00:~"
       b"\x9bU\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00\x00IEND\xaeB`\x82")


def write_matrix(folder: Path) -> Path:
    (folder / "frame.png").write_bytes(PNG)
    lines = ["version: 1", "name: bench-matrix",
             'filename: "{id}/{style}-{camera}-{resolution}-{hdr}.mp4"', "prompts:"]
    for i in range(50):
        lines += [f"  - id: shot{i:02d}",
                  f'    prompt: "Shot {i}: a knight crosses a bridge at dusk, {{style}}, {{camera}}"']
        if i % 2:
            lines.append("    startFrame: frame.png")
    lines += ["matrix:",
              "  style: [" + ", ".join(f"style{s}" for s in range(20)) + "]",
              "  camera: [" + ", ".join(f"camera{c}" for c in range(20)) + "]",
              "  resolution: [540p, 720p, 1080p]",
              "  hdr: [false, true]",
              "  exclude:",
              "    - {resolution: 540p, hdr: true}"]
    path = folder / "matrix.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_csv(folder: Path) -> Path:
    path = folder / "rows.csv"
    rows = ["prompt,resolution,samples"]
    rows += [f"Shot {i}: a lighthouse in a storm seen from the sea,{('720p', '1080p')[i % 2]},"
             for i in range(JOBS)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_list(folder: Path) -> Path:
    path = folder / "list.yaml"
    lines = ["version: 1", "name: bench-list", "prompts:"]
    lines += [f'  - "Shot {i}: a fantasy landscape, slow aerial push-in"' for i in range(JOBS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SCENARIOS = {"matrix": write_matrix, "csv": write_csv, "list": write_list}


def measure(name: str) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = SCENARIOS[name](Path(tmp))
        cpu_start, start = _cpu(), time.perf_counter()
        batch = load_batch(path)
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu_start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    ok = len(batch.jobs) == JOBS and seconds < MAX_SECONDS and peak_mb < MAX_MB
    print(f"{name:6}  {len(batch.jobs):,} jobs  expand+validate {seconds:.2f} s "
          f"(cpu {cpu:.2f} s)  peak RSS {peak_mb:.0f} MB  {'ok' if ok else 'OVER BUDGET'} "
          f"(budget {MAX_SECONDS:.0f} s, {MAX_MB} MB)")
    return ok


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    if argv:
        return 0 if all(measure(name) for name in argv) else 1
    codes = [subprocess.run([sys.executable, __file__, name]).returncode for name in SCENARIOS]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
