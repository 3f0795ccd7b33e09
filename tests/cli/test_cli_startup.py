"""Start-up: every command's parser is built at start, so building it must not import
what only `run`, `estimate` or `schema check` need (httpx, anyio, the runner)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["batchgen.run.runner", "batchgen.api", "batchgen.run.estimate", "batchgen.report",
         "batchgen.models.drift", "httpx", "anyio", "jsonschema"]


def test_building_the_parser_imports_nothing_heavy():
    code = ("import json, sys; from batchgen.cli import build_parser; build_parser(); "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_commands_default_to_their_librarys_values():
    from batchgen.run import estimate
    from batchgen.run import options
    from batchgen.api import auth
    from batchgen.cli import build_parser, estimate_cmd, run_cmd

    assert run_cmd.DEFAULT_CONCURRENCY == options.DEFAULT_CONCURRENCY
    assert estimate_cmd.DEFAULT_CONCURRENCY == estimate.DEFAULT_CONCURRENCY
    simulate_help = build_parser()._subparsers._group_actions[0].choices["simulate"].description
    assert f"{auth.KEY_VARIABLE}/{auth.SECRET_VARIABLE}" in simulate_help
