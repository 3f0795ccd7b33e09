"""The bad-input corpus: every malformed manifest is refused whole, before anything happens.

For each case in tests/manifest/bad_inputs/ (the table is expected.yaml) and each generated one
below, `batchgen run` against a loopback simulator must exit 2 with one message line
naming the file, the line and the problem, print no traceback, send no request and
write nothing: no ledger, no output folder, no file next to the manifest.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml

from batchgen.cli import main
from batchgen.simulator.app import Simulator
from batchgen.simulator.server import serve_in_thread
from manifestkit import snapshot
from simkit import png

CORPUS = Path(__file__).parent / "bad_inputs"
KEY, SECRET = "bad-inputs-key", "bad-inputs-secret"
MAX_OUTPUT = 20_000  # a refusal is a few sentences, never an echo of a huge input


def _random_bytes() -> bytes:
    rng = random.Random(7)
    return b"\xff\xfe\x00" + bytes(rng.randrange(256) for _ in range(4096))


HEAD = b"version: 1\nname: generated\nprompts:\n"

# Too big or too binary to commit: name -> (content, line, message fragment).
GENERATED: dict[str, tuple[Callable[[], bytes], int, str]] = {
    "deep_flow_nesting.yaml": (lambda: HEAD + b"  - " + b"[" * 100_000 + b"]" * 100_000 + b"\n", 4, "nest"),
    "deep_mapping_nesting.yaml": (
        lambda: b"version: 1\nname: deep\ndefaults: " + b"{a: " * 50_000 + b"1" + b"}" * 50_000
        + b"\nprompts:\n  - a misty valley at dawn\n", 3, "nest"),
    "huge_prompt.yaml": (lambda: HEAD + b"  - " + b"fog " * 1_250_000 + b"\n", 4, "long"),
    "huge_key.yaml": (lambda: HEAD + b"  - a misty valley\ndefaults:\n  " + b"k" * 200_000 + b": 1\n", 6, "YAML"),
    "huge_csv_cell.csv": (lambda: b"prompt,duration\n" + b"fog " * 250_000 + b",5s\n", 2, "long"),
    "nul_byte.yaml": (lambda: HEAD + b"  - a misty\x00 valley\n", 4, "character"),
    "nul_byte.csv": (lambda: b"prompt,duration\na misty valley,5s\na misty\x00 valley,5s\n", 3, "NUL"),
    "control_in_csv.csv": (lambda: b"prompt,id\na knight,k\na \x1b[2J fox,f\n", 3, "control character U+001B"),
    "invisible_csv_prompt.csv": (lambda: b"prompt,id\n\xe2\x80\x8b\xe2\x80\x8b,k\n", 2, "no visible character"),
    "random_bytes.yaml": (_random_bytes, 1, "UTF-8"),
    "png_named_manifest.yaml": (png, 1, "UTF-8"),
    "png_named_manifest.csv": (png, 1, "UTF-8"),
    "latin1_text.yaml": (lambda: b"version: 1\nname: caf\xe9\nprompts:\n  - a misty valley\n", 2, "UTF-8"),
}


@dataclass(frozen=True)
class Case:
    file: str
    line: int
    message: str
    reported: str  # the file the message names (a referenced CSV, or the case itself)


def _cases() -> list[Case]:
    table = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
    cases = [Case(name, row["line"], str(row["message"]), row.get("file", name))
             for name, row in table.items()]
    cases += [Case(name, line, message, name) for name, (_, line, message) in GENERATED.items()]
    return cases


CASES = _cases()


def test_every_committed_case_has_an_expectation():
    committed = {p.name for p in CORPUS.iterdir()
                 if not p.name.startswith("_") and p.name != "expected.yaml"}
    assert committed == {c.file for c in CASES if c.file not in GENERATED}


def test_the_corpus_holds_at_least_40_cases():
    assert len(CASES) >= 40


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """The corpus, generated cases and helpers, with a folder outside it to escape to."""
    root = tmp_path_factory.mktemp("bad-inputs")
    folder = root / "manifests"
    shutil.copytree(CORPUS, folder)
    for name, (build, _, _) in GENERATED.items():
        (folder / name).write_bytes(build())
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(png())  # a real image: only the escape is wrong
    (folder / "_frame.png").write_bytes(png())
    (folder / "_escape.png").symlink_to(outside / "secret.png")
    (folder / "_linked").symlink_to(outside, target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def api():
    sim = Simulator(api_key=KEY, api_secret=SECRET, seed=1, time_scale=200.0,
                    duration_range=(2.0, 4.0))
    with serve_in_thread(sim) as url:
        yield sim, url


def requests_seen(sim: Simulator) -> int:
    return sum(sim.counters.calls.values()) + sim.counters.unauthorized


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_bad_input_is_refused_before_anything_is_sent_or_written(case, workspace, api, tmp_path,
                                                                 capsys, monkeypatch):
    sim, url = api
    monkeypatch.setenv("SCENARIO_SDK_API_KEY", KEY)
    monkeypatch.setenv("SCENARIO_SDK_API_SECRET", SECRET)
    out = tmp_path / "out"
    before, calls_before = snapshot(workspace), requests_seen(sim)

    code = main(["run", str(workspace / "manifests" / case.file), "--base-url", url,
                 "--yes", "--no-progress", "--out", str(out)])

    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == 2, output
    assert "Traceback" not in output
    assert len(output) < MAX_OUTPUT, f"{len(output)} characters of output"
    location = re.compile(rf"{re.escape(case.reported)}:{case.line}\b")
    messages = [line[m.end():] for line in output.splitlines() if (m := location.search(line))]
    assert messages, f"no message names {case.reported}:{case.line}:\n{output}"
    assert any(case.message.lower() in text.lower() for text in messages), output
    assert requests_seen(sim) == calls_before
    assert not out.exists()
    assert snapshot(workspace) == before


@pytest.mark.parametrize("api", [["--simulate"], ["--base-url", "http://127.0.0.1:9/v1"]],
                         ids=["simulate", "unreachable-api"])
@pytest.mark.parametrize("name", ["deep_flow_nesting.yaml", "tag_python_object.yaml",
                                  "nul_byte.csv", "frame_symlink_escapes_folder.yaml"])
def test_the_console_command_exits_2_without_a_traceback(name, api, workspace, tmp_path):
    env = {**os.environ, "SCENARIO_SDK_API_KEY": KEY, "SCENARIO_SDK_API_SECRET": SECRET}
    done = subprocess.run([sys.executable, "-m", "batchgen", "run", str(workspace / "manifests" / name),
                           *api, "--yes", "--no-progress", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert name in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_valid_manifest_in_the_same_setup_does_reach_the_api(workspace, api, tmp_path, capsys,
                                                               monkeypatch):
    """The control: the checks above would see a request and an output folder if there were any."""
    sim, url = api
    monkeypatch.setenv("SCENARIO_SDK_API_KEY", KEY)
    monkeypatch.setenv("SCENARIO_SDK_API_SECRET", SECRET)
    manifest = tmp_path / "good.yaml"
    manifest.write_text("version: 1\nname: good\nprompts:\n  - a misty valley at dawn\n")
    calls_before = requests_seen(sim)

    code = main(["run", str(manifest), "--base-url", url, "--yes", "--no-progress",
                 "--poll-interval", "0.02", "--out", str(tmp_path / "out")])

    assert code == 0, capsys.readouterr().err
    assert requests_seen(sim) > calls_before
    assert (tmp_path / "out" / "ledger.jsonl").exists()
