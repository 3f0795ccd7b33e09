"""Start-up: commands that send nothing do not pay for importing the runner."""

from __future__ import annotations

import subprocess
import sys


def test_building_the_parser_does_not_import_the_runner():
    code = ("import sys; from batchgen.cli import build_parser; build_parser(); "
            "print('batchgen.runner' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_run_defaults_to_the_runners_concurrency():
    from batchgen import runner
    from batchgen.cli import run_cmd

    assert run_cmd.DEFAULT_CONCURRENCY == runner.DEFAULT_CONCURRENCY
