"""The public API: `batchgen.__all__` is the documented list, every name in it works, and
the README's Python example uses only it (and runs)."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import batchgen
from simkit import KEY, SECRET, simulator
from batchgen.simulator.server import serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
HEAVY = ["httpx", "anyio", "jsonschema", "msgspec", "uvicorn", "yaml", "batchgen.run.runner"]


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def documented_names() -> list[str]:
    """The backticked names in the first column of the README's Python API table."""
    rows = [line for line in _section("Python API").splitlines() if line.startswith("| `")]
    return [name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])]


def readme_example() -> str:
    return re.search(r"```python\n(.*?)```", _section("Python API"), re.S).group(1)


def test_all_is_the_documented_list():
    documented = documented_names()
    assert len(documented) == len(set(documented)), "a name is documented twice"
    assert len(batchgen.__all__) == len(set(batchgen.__all__)), "a name is exported twice"
    assert sorted(batchgen.__all__) == sorted(documented)


def test_every_public_name_resolves_to_its_definition():
    namespace: dict[str, object] = {}
    exec("from batchgen import *", namespace)  # noqa: S102 - the star import a user would write
    for name in batchgen.__all__:
        value = namespace[name]
        assert getattr(value, "__name__", name) == name, name
        assert value.__module__.startswith("batchgen."), name


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'run_batches'"):
        batchgen.run_batches  # noqa: B018


def test_the_errors_are_one_tree():
    for name in batchgen.__all__:
        value = getattr(batchgen, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, batchgen.BatchgenError), name


def test_importing_batchgen_imports_nothing_heavy():
    code = ("import json, sys, batchgen; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_the_readme_example_imports_only_the_public_api():
    tree = ast.parse(readme_example())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert imported == {"anyio", "batchgen"}
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "batchgen"}
    assert used and used <= set(batchgen.__all__)


def test_the_readme_example_runs_a_batch_against_the_api(tmp_path):
    """As a user would: credentials and SCENARIO_BASE_URL in the environment, the example
    manifests beside the script; here the API is the simulator on loopback, and polls
    come faster than the default 5 s so the test takes a second, not half a minute."""
    script = readme_example()
    assert script.count("batchgen.RunOptions()") == 1
    script = script.replace("batchgen.RunOptions()", "batchgen.RunOptions(poll_interval=0.1)")
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests",
                    ignore=shutil.ignore_patterns("out"))
    sim = simulator(time_scale=2000.0, ceiling=20)
    with serve_in_thread(sim) as base_url:
        env = {**os.environ, "SCENARIO_BASE_URL": base_url,
               "SCENARIO_SDK_API_KEY": KEY, "SCENARIO_SDK_API_SECRET": SECRET}
        out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert ast.literal_eval(out.stdout.strip()) == {
        "pending": 0, "running": 0, "succeeded": 12, "failed": 0}
    assert len(list((tmp_path / "manifests" / "out" / "ab-sweep").rglob("*.mp4"))) == 12
