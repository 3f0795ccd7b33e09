"""batchgen: manifests of prompts and parameter sweeps, run as video generations on
Scenario's API, resumable from a JSON-lines ledger.

The library surface is the names in `__all__`; everything else is internal and may
change. Each CLI command is a thin layer over one of these calls:

    import anyio, batchgen

    batch = batchgen.load_batch("manifests/ab-sweep.yaml")
    async def main():
        async with batchgen.ScenarioClient() as client:
            summary = await batchgen.run_batch(batch, client, options=batchgen.RunOptions())
        print(summary.counts)
    anyio.run(main)

The errors are imported at once (they are plain classes); the rest is imported on
first use, so that `import batchgen` (and `batchgen --help`) stays fast and does not
pull in httpx, anyio or jsonschema.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from batchgen.errors import (AccessDenied, AmbiguousSubmission, APIError, AssetNotReady,
                             BatchgenError, ConnectFailed, DiskError, DownloadFailed, JobRejected,
                             LedgerError, LockedError, ManifestError, Problem, RateLimited,
                             RetriableError, ServerError, TemplateError, TransportError,
                             URLExpired, UsageError)

# public name -> the module that defines it (imported on first access)
_LAZY = {
    "load_batch": "batchgen.manifest.load",
    "Batch": "batchgen.manifest.load",
    "Job": "batchgen.jobs",
    "run_batch": "batchgen.run.runner",
    "RunOptions": "batchgen.run.options",
    "RunSummary": "batchgen.run.summary",
    "Shard": "batchgen.run.shards",
    "parse_shard": "batchgen.run.shards",
    "estimate": "batchgen.run.estimate",
    "Estimate": "batchgen.run.estimate",
    "collect_records": "batchgen.ledger.status",
    "write_report": "batchgen.report.write",
    "ScenarioClient": "batchgen.api.client",
    "Simulator": "batchgen.simulator.app",
    "serve_in_thread": "batchgen.simulator.server",
}

_ERRORS = ["BatchgenError", "Problem", "ManifestError", "TemplateError", "UsageError",
           "LedgerError", "LockedError", "DiskError", "DownloadFailed", "AssetNotReady", "APIError", "RetriableError",
           "RateLimited", "ServerError", "TransportError", "ConnectFailed",
           "AmbiguousSubmission", "URLExpired", "JobRejected", "AccessDenied"]

__all__ = [*_LAZY, *_ERRORS]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports
    from batchgen.api.client import ScenarioClient
    from batchgen.jobs import Job
    from batchgen.ledger.status import collect_records
    from batchgen.manifest.load import Batch, load_batch
    from batchgen.report.write import write_report
    from batchgen.run.estimate import Estimate, estimate
    from batchgen.run.options import RunOptions
    from batchgen.run.runner import run_batch
    from batchgen.run.shards import Shard, parse_shard
    from batchgen.run.summary import RunSummary
    from batchgen.simulator.app import Simulator
    from batchgen.simulator.server import serve_in_thread


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'batchgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
