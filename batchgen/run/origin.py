"""Which API an output folder's results come from, and refusing to mix two in one folder.

Every `run` event records the API it talked to (`api`): "simulated" for the in-process
simulator of `--simulate`, else the base URL (the default when none was given). A job
id means something only to the API that issued it: the next run polls it there,
recovery lists jobs there, and its videos were made there. So a folder whose results
come from one API is never resumed against another, whether real or simulated: the
built-in simulator, a `batchgen simulate` server on loopback and Scenario's API are
three different APIs (two loopback servers on different ports are two too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from batchgen.api.client import DEFAULT_BASE_URL
from batchgen.errors import UsageError

SIMULATED_API = "simulated"  # the `api` of runs against the in-process simulator
_DEFAULT_NAMES = {"", "scenario", DEFAULT_BASE_URL}  # "scenario": no --base-url given


def same_api(recorded: str, current: str) -> bool:
    """Whether two `api` labels name the same API (trailing slashes, the default's names)."""
    return _canonical(recorded) == _canonical(current)


def describe(api: str) -> str:
    """An `api` label as a message names it."""
    if api == SIMULATED_API:
        return "the built-in simulator (--simulate)"
    canonical = _canonical(api)
    return "Scenario's API" if canonical == DEFAULT_BASE_URL else f"the API at {canonical}"


def check_same_api(events: Iterable[dict[str, Any]], api: str, output: Path) -> None:
    """Refuse to resume a folder with another API than the one its results come from."""
    for event in events:
        recorded = event.get("api") if event.get("event") == "run" else None
        if recorded and not same_api(recorded, api):
            raise UsageError(
                f"{output} holds results from {describe(recorded)}, and this run uses "
                f"{describe(api)}: its job ids mean nothing there. Use another output "
                "folder (--out DIR), or the same API as before")


def _canonical(api: str) -> str:
    api = (api or "").strip().rstrip("/")
    return DEFAULT_BASE_URL if api in _DEFAULT_NAMES else api
