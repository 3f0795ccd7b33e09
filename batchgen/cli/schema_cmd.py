"""`batchgen schema check [MODEL]`: has the live model drifted from the shipped JSON Schema?"""

from __future__ import annotations

import argparse
import json
import sys

from batchgen.cli.connect import add_api_options, open_client
from batchgen.errors import AccessDenied, APIError, UsageError
from batchgen.models.schema import MODEL_ID, MODEL_SCHEMA, load_schema

# The models batchgen ships a request-body schema for.
SHIPPED = {MODEL_ID: MODEL_SCHEMA}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schema", help="check the shipped model schema against the live API",
        description="Work with the model schemas batchgen ships.")
    actions = parser.add_subparsers(dest="schema_action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="report every difference between the live model and the shipped schema",
        description="Fetch the model's live definition (GET /models/{id}) and report every "
        "difference from the shipped JSON Schema: allowed values, defaults, required rules, "
        "length limits. Exit 0: in sync; 1: drifted; 2: cannot check; 3: access refused.")
    check.add_argument("model", metavar="MODEL", nargs="?", default=MODEL_ID,
                       help=f"model id (default {MODEL_ID})")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    add_api_options(check)
    check.set_defaults(func=check_command)


def check_command(args: argparse.Namespace) -> int:
    """Handle `batchgen schema check`."""
    import anyio

    from batchgen.models.drift import compare, model_inputs

    if args.model not in SHIPPED:
        raise UsageError(f"batchgen ships no schema for {args.model}; it ships one for "
                         f"{', '.join(SHIPPED)}")
    schema = load_schema(SHIPPED[args.model])
    client = open_client(args)

    async def fetch() -> dict:
        async with client:
            return await client.get_model(args.model)

    try:
        definition = anyio.run(fetch)
        inputs = model_inputs(definition)
    except AccessDenied:
        raise
    except APIError as exc:
        raise UsageError(f"could not fetch the definition of {args.model}: {exc.message}") from None
    except ValueError as exc:
        raise UsageError(f"the API's definition of {args.model} cannot be read: {exc}") from None
    differences = compare(inputs, schema)
    if args.json:
        print(json.dumps({"model": args.model, "schema": SHIPPED[args.model],
                          "drifted": bool(differences),
                          "differences": [d.to_json() for d in differences]},
                         indent=2, ensure_ascii=False))
    elif differences:
        print(f"{args.model}: the live model differs from the shipped schema "
              f"({SHIPPED[args.model]}) in {len(differences)} way"
              f"{'s' if len(differences) != 1 else ''}:", file=sys.stdout)
        for difference in differences:
            print(f"  {difference}")
    else:
        print(f"{args.model}: the live model matches the shipped schema ({SHIPPED[args.model]})")
    return 1 if differences else 0
