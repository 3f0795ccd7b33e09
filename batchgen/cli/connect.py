"""How a command reaches the API: the real one, another base URL, or the simulator.

Commands that talk to the API add `--simulate` and `--base-url` with
`add_api_options()` and open their client with `open_client()`.
"""

from __future__ import annotations

import argparse
from typing import Any

SIM_BASE_URL = "http://simulator.invalid/v1"
SIM_KEY, SIM_SECRET = "sim-key", "sim-secret"


def add_api_options(parser: argparse.ArgumentParser) -> None:
    """Add --simulate and --base-url."""
    parser.add_argument("--simulate", action="store_true",
                        help="use the built-in simulated API: no credentials, no network")
    parser.add_argument("--base-url", metavar="URL",
                        help="API base URL (default: SCENARIO_BASE_URL, else Scenario's)")


def open_client(args: argparse.Namespace, **sim_knobs: Any):
    """A ScenarioClient for the parsed options (credentials from the environment).

    With --simulate, an in-process Simulator built with `sim_knobs` answers; no
    credentials are needed and nothing leaves the process.
    """
    import httpx

    from batchgen.api.auth import Credentials
    from batchgen.api.client import ScenarioClient

    if getattr(args, "simulate", False):
        from batchgen.simulator import Simulator

        sim = Simulator(api_key=SIM_KEY, api_secret=SIM_SECRET, **sim_knobs)
        return ScenarioClient(SIM_BASE_URL, SIM_KEY, SIM_SECRET,
                              transport=httpx.ASGITransport(app=sim.app))
    credentials = Credentials.resolve()
    return ScenarioClient(args.base_url, credentials.key, credentials.secret)
