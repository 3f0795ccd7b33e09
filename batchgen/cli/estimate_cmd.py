"""`batchgen estimate MANIFEST`: what a batch costs, from the API's dry runs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from typing import TYPE_CHECKING

from batchgen.cli.arguments import add_concurrency, add_json, add_manifest, command_parser
from batchgen.cli.connect import add_api_options, open_client

if TYPE_CHECKING:
    from batchgen.run.estimate import Estimate

# As batchgen.run.estimate's, which (with anyio) is imported only when `estimate` runs.
DEFAULT_CONCURRENCY = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = command_parser(
        subparsers, "estimate", estimate_command,
        "ask the API what a manifest costs (dry runs; nothing is generated)",
        "Price every job of MANIFEST with the API's dry run: one dry run per distinct priced "
        "combination of parameters, never one per job. Nothing is generated or charged.")
    add_manifest(parser)
    add_json(parser)
    add_concurrency(parser, DEFAULT_CONCURRENCY,
                    f"dry runs in flight at once (default {DEFAULT_CONCURRENCY})")
    add_api_options(parser)


def estimate_command(args: argparse.Namespace) -> int:
    """Handle `batchgen estimate`: 0 when every combination was priced, 1 otherwise."""
    import anyio

    from batchgen.run.estimate import estimate
    from batchgen.manifest.load import load_batch

    batch = load_batch(args.manifest)
    # credentials are checked before anything is sent; --simulate serves the batch's models
    client = open_client(args, models=batch.models.models)

    async def go() -> Estimate:
        async with client:
            return await estimate(client, batch.model, batch.jobs,
                                  concurrency=args.concurrency)

    result = anyio.run(go)
    if args.json:
        print(json.dumps({"name": batch.name, **result.to_json()}, indent=2, ensure_ascii=False))
    else:
        print(f"{batch.name} ({result.model}):")
        print(result.render())
    _say_generated_elsewhere(batch, args, sys.stderr if args.json else sys.stdout)
    return 0 if result.complete else 1


def _say_generated_elsewhere(batch: Any, args: argparse.Namespace, out: Any) -> None:
    """The jobs not done in the batch's folders that were generated elsewhere on this
    API, as `plan` says it: an estimate prices them, `run --reuse` would not pay."""
    from batchgen.cli.plan_cmd import print_generated_elsewhere
    from batchgen.cli.run_cmd import api_label
    from batchgen.ledger.status import ledger_states

    ledger = ledger_states(batch.output)
    print_generated_elsewhere([job.key for job in batch.jobs if job.key not in ledger
                               or ledger[job.key][0].state == "pending"], batch.output, out,
                              api=api_label(args))
