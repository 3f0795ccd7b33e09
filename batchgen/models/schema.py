"""The manifest's JSON Schema, completed from the models it uses, and schema errors as
sentences.

`schemas/manifest.schema.json` is the manifest format without any model parameter:
`manifest_validator(models)` adds each model's parameters (their value schemas taken
from the model's own schema, see `model.py`) where a manifest may set them. Schemas are read through
importlib.resources, so an installed (not only editable) package finds them.
"""

from __future__ import annotations

import copy
import difflib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

    from batchgen.models.model import Model

MANIFEST_SCHEMA = "manifest.schema.json"

_TYPE_WORDS = {
    "string": "a string", "boolean": "true or false", "integer": "a whole number",
    "number": "a number", "object": "a mapping (key: value lines)", "array": "a list",
    "null": "empty",
}


def schemas_folder() -> Any:
    """The shipped schemas/ folder (a Traversable: it may be inside a wheel)."""
    try:
        return resources.files("batchgen.schemas")
    except ModuleNotFoundError:
        # Run from a source checkout (`python -m batchgen` in the repository), not an
        # install: the schemas are the top-level schemas/ folder installs map here.
        return Path(__file__).resolve().parent.parent.parent / "schemas"


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """One shipped schema, parsed (cached: callers must not modify it)."""
    return json.loads(schemas_folder().joinpath(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=32)
def manifest_schema(models: Sequence[Model]) -> dict[str, Any]:
    """The manifest schema for a manifest using `models`, every $ref inlined.

    Inlining spares jsonschema a registry lookup (URL parsing) per reference per item,
    which made long prompt lists ten times slower to check.
    """
    schema = copy.deepcopy(load_schema(MANIFEST_SCHEMA))
    params = parameter_schemas(models)
    model_id = {"type": "string", "minLength": 1}  # which ids exist: catalog.py checks
    defs = schema["$defs"]
    defs["params"]["properties"] = dict(params)
    defs["promptMapping"]["properties"].update(params)
    defs["combination"]["properties"] = {**params, "model": model_id}
    defs["matrix"]["properties"].update({name: _axis(p) for name, p in params.items()})
    defs["matrix"]["properties"]["model"] = _axis(model_id)
    schema["properties"]["model"] = {**schema["properties"]["model"], **model_id}
    return _inline(schema, schema)


@lru_cache(maxsize=32)
def manifest_validator(models: Sequence[Model], pointer: str = "") -> Draft202012Validator:
    """The validator of `manifest_schema(models)`, or of its part at `pointer`
    (e.g. "/$defs/promptMapping"), built once."""
    # Imported here: jsonschema takes 40 ms to import, which `status` and `report` of an
    # output folder (every command's parser imports this module) need not pay.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_resolve(manifest_schema(models), pointer))


def parameter_schemas(models: Iterable[Model]) -> dict[str, Any]:
    """Every parameter of `models` with the schema of its values, from the models' own
    schemas. A parameter two models define differently takes any value at this stage:
    each job is checked against its own model's schema when the manifest is expanded."""
    found: dict[str, Any] = {}
    for model in models:
        for name in model.params:
            prop = model.properties[name]
            found[name] = prop if found.get(name, prop) == prop else {}
    return found


def _axis(values: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "items": values}


def _inline(node: Any, root: dict[str, Any]) -> Any:
    """`node` with every local $ref replaced by the schema it points to (our schemas
    refer within themselves without recursion, so this is finite)."""
    if isinstance(node, list):
        return [_inline(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    result = {k: _inline(v, root) for k, v in node.items() if k != "$ref"}
    if "$ref" in node:
        result = {**_inline(_resolve(root, node["$ref"].partition("#")[2]), root), **result}
    return result


def _resolve(schema: dict[str, Any], pointer: str) -> Any:
    node: Any = schema
    for part in filter(None, pointer.split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def describe(error: ValidationError, root: dict[str, Any] | None = None) -> str:
    """A jsonschema error as one sentence a user can act on.

    With `root` (the schema the validator was built from), an `x-message` written in
    the schema beside the broken rule wins over the generic sentence.
    """
    custom = _x_message(error, root) if root is not None else None
    if custom:
        return custom
    name = field_name(error.path)
    kw, expected, got = error.validator, error.validator_value, error.instance
    if kw == "enum":
        return f"{name} must be {_one_of(expected)}, not {show(got)}"
    if kw == "const":
        want = expected if isinstance(expected, (int, float)) and not isinstance(expected, bool) \
            else show(expected)
        return f"{name} must be {want}, not {show(got)}"
    if kw == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        want = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        return f"{name} must be {want}, not {show(got)}"
    if kw == "required":
        missing = [k for k in expected if isinstance(got, dict) and k not in got]
        return f"{name} needs the key '{missing[0] if missing else expected[0]}'"
    if kw == "minimum":
        return f"{name} must be at least {expected}, not {show(got)}"
    if kw == "minLength":
        return f"{name} must not be empty"
    if kw == "minItems":
        return f"{name} must list at least one value"
    if kw == "minProperties":
        return f"{name} must name at least one key"
    return f"{name}: {error.message}"


def unknown_keys(error: ValidationError) -> list[tuple[str, str]]:
    """For an additionalProperties error: (key, sentence) for each key not allowed."""
    allowed = list(error.schema.get("properties", {}))
    where = field_name(error.path)
    out = []
    for key in error.instance:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
        out.append((key, f"unknown key '{key}' in {where} ({hint})"))
    return out


def field_name(path: Iterable[Any]) -> str:
    """How a message names the value at `path`: its nearest key, e.g. `duration`."""
    keys = [p for p in path if isinstance(p, str)]
    if not keys:
        return "the manifest" if not list(path) else "this prompt"
    if keys == ["prompts"] and len(list(path)) == 2:
        return "this prompt"
    return keys[-1]


def show(value: Any) -> str:
    """A value as a message shows it: 7s, true, the number 5, "two words"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "empty"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = str(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f'"{text}"' if (not text or any(c.isspace() for c in text)) else text


def _one_of(values: list[Any]) -> str:
    shown = [show(v) for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _x_message(error: ValidationError, root: dict[str, Any]) -> str | None:
    """The deepest `x-message` on the way to the failing keyword, if the schema has one."""
    node: Any = root
    found = None
    for step in error.absolute_schema_path:
        if isinstance(node, dict):
            message = node.get("x-message")
            if isinstance(message, str):
                found = message
            elif isinstance(message, dict) and error.validator in message:
                found = message[error.validator]
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
    return found
