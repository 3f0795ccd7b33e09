"""`batchgen schema check [MODEL]`: has the live model drifted from its JSON Schema?

MODEL is a model id (its schema is `models/<id>.schema.json` in the current folder,
else the shipped one) or the path of a `<model-id>.schema.json` file.
"""

from __future__ import annotations

import argparse
import json
import sys

from batchgen.cli.arguments import add_json, command_parser
from batchgen.cli.connect import add_api_options, open_client
from batchgen.errors import AccessDenied, APIError, UsageError
from batchgen.models.catalog import DEFAULT_MODEL, SUFFIX


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schema", help="check a model schema against the live API",
        description="Work with model schemas: the shipped ones and models/<model-id>.schema.json "
        "beside a manifest.")
    actions = parser.add_subparsers(dest="schema_action", required=True, metavar="ACTION")
    check = command_parser(
        actions, "check", check_command,
        "report every difference between the live model and its schema",
        "Fetch the model's live definition (GET /models/{id}) and report every difference "
        "from its JSON Schema: allowed values, defaults, required rules, length limits. Exit "
        "0: in sync; 1: drifted; 2: cannot check; 3: access refused.")
    check.add_argument("model", metavar="MODEL", nargs="?", default=DEFAULT_MODEL,
                       help=f"model id (default {DEFAULT_MODEL}; its schema is "
                       f"models/<id>{SUFFIX} here, else the shipped one) or a schema file")
    add_json(check)
    add_api_options(check)


def check_command(args: argparse.Namespace) -> int:
    """Handle `batchgen schema check`."""
    import anyio

    from batchgen.models import catalog
    from batchgen.models.drift import compare, model_inputs

    model = _model(args.model)
    schema, shown = model.schema, model.origin
    which = "the shipped schema" if model is catalog.shipped().get(model.id) else "its schema"
    client = open_client(args, models=[model])

    async def fetch() -> dict:
        async with client:
            return await client.get_model(model.id)

    try:
        definition = anyio.run(fetch)
        inputs = model_inputs(definition)
    except AccessDenied:
        raise
    except APIError as exc:
        raise UsageError(f"could not fetch the definition of {model.id}: {exc.message}") from None
    except ValueError as exc:
        raise UsageError(f"the API's definition of {model.id} cannot be read: {exc}") from None
    differences = compare(inputs, schema)
    if args.json:
        print(json.dumps({"model": model.id, "schema": shown,
                          "drifted": bool(differences),
                          "differences": [d.to_json() for d in differences]},
                         indent=2, ensure_ascii=False))
    elif differences:
        print(f"{model.id}: the live model differs from {which} "
              f"({shown}) in {len(differences)} way"
              f"{'s' if len(differences) != 1 else ''}:", file=sys.stdout)
        for difference in differences:
            print(f"  {difference}")
    else:
        print(f"{model.id}: the live model matches {which} ({shown})")
    return 1 if differences else 0


def _model(name: str):
    """The model MODEL names: a schema file, else an id found here or shipped."""
    from pathlib import Path

    from batchgen.models import catalog

    path = Path(name)
    if name.endswith(SUFFIX) and path.is_file():
        model, problems = catalog.read(path)
    else:
        model, problems = catalog.find(name, Path.cwd())
        if model is None and name not in catalog.local_ids(Path.cwd()):
            problems = [catalog.unknown_message(name, Path.cwd())]
    if model is None:
        raise UsageError("; ".join(str(p) for p in problems))
    return model
