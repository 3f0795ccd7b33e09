"""The shipped JSON Schemas, their validators (built once), and errors as sentences.

`schemas/luma-ray-3-2.schema.json` is the model's request body with every rule of its
reference page; `schemas/manifest.schema.json` is the manifest format, which refers to
the model schema for parameter values. Both are read through importlib.resources, so an
installed (not only editable) package finds them.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

MODEL_ID = "model_luma-ray-3-2"
MODEL_SCHEMA = "luma-ray-3-2.schema.json"
MANIFEST_SCHEMA = "manifest.schema.json"

_TYPE_WORDS = {
    "string": "a string", "boolean": "true or false", "integer": "a whole number",
    "number": "a number", "object": "a mapping (key: value lines)", "array": "a list",
    "null": "empty",
}


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """One shipped schema, parsed (cached: callers must not modify it)."""
    try:
        folder = resources.files("batchgen.schemas")
    except ModuleNotFoundError:
        # Run from a source checkout (`python -m batchgen` in the repository), not an
        # install: the schemas are the top-level schemas/ folder installs map here.
        folder = Path(__file__).resolve().parent.parent / "schemas"
    return json.loads(folder.joinpath(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def validator(name: str, pointer: str = "") -> Draft202012Validator:
    """The validator of a shipped schema, or of the part at `pointer` (e.g. "/$defs/x")."""
    # Imported here: jsonschema takes 40 ms to import, which `status` and `report` of an
    # output folder (every command's parser imports this module) need not pay.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_resolve(_inlined(name), pointer))


@lru_cache(maxsize=None)
def _inlined(name: str) -> dict[str, Any]:
    """The schema with every $ref replaced by the schema it points to.

    Our schemas refer to each other without recursion, so this is finite. It spares
    jsonschema a registry lookup (URL parsing) per reference per item, which made long
    prompt lists ten times slower to check.
    """
    return _inline(load_schema(name), name)


def _inline(node: Any, name: str) -> Any:
    if isinstance(node, list):
        return [_inline(item, name) for item in node]
    if not isinstance(node, dict):
        return node
    result = {k: _inline(v, name) for k, v in node.items() if k != "$ref"}
    if "$ref" in node:
        file, _, pointer = node["$ref"].partition("#")
        target = _inline(_resolve(load_schema(file or name), pointer), file or name)
        result = {**target, **result}
    return result


def _resolve(schema: dict[str, Any], pointer: str) -> Any:
    node: Any = schema
    for part in filter(None, pointer.split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def model_validator() -> Draft202012Validator:
    """The Luma Ray 3.2 request-body validator, built once per process."""
    return validator(MODEL_SCHEMA)


@lru_cache(maxsize=None)
def param_names() -> tuple[str, ...]:
    """The model's parameters, in schema order, without the prompt."""
    return tuple(n for n in load_schema(MODEL_SCHEMA)["properties"] if n != "prompt")


@lru_cache(maxsize=None)
def _defaults() -> tuple[tuple[str, Any], ...]:
    props = load_schema(MODEL_SCHEMA)["properties"]
    return tuple((n, props[n]["default"]) for n in param_names() if "default" in props[n])


def param_defaults() -> dict[str, Any]:
    """The model's default value for every parameter that has one (a fresh dict)."""
    return dict(_defaults())


def param_type(name: str) -> str:
    """"boolean" for switches like hdr, "string" for everything else."""
    return load_schema(MODEL_SCHEMA)["properties"][name].get("type", "string")


@lru_cache(maxsize=None)
def prompt_limits() -> tuple[int, int]:
    """(minimum, maximum) prompt length in characters, from the schema."""
    prop = load_schema(MODEL_SCHEMA)["properties"]["prompt"]
    return prop.get("minLength", 1), prop.get("maxLength", 10**9)


def prompt_problem(text: str) -> str | None:
    """Why the model would refuse this prompt text, or None.

    Checked in plain Python (not per job through the validator) because a large batch
    has many distinct prompts but few distinct parameter sets.
    """
    low, high = prompt_limits()
    if len(text) < low or not text.strip():
        return "the prompt is empty"
    if len(text) > high:
        return f"the prompt is {len(text):,} characters long; Luma Ray 3.2 takes at most {high:,}"
    return None


class RuleProblem(NamedTuple):
    """A model rule a set of parameters breaks."""

    field: str | None  # the parameter the rule asks to change (None: not one in particular)
    message: str


@lru_cache(maxsize=4096)
def _rule_problems(items: tuple[tuple[str, Any], ...]) -> tuple[RuleProblem, ...]:
    body = {"prompt": "x", **dict(items)}
    root = load_schema(MODEL_SCHEMA)
    return tuple(RuleProblem(_rule_field(e), describe(e, root))
                 for e in sorted(model_validator().iter_errors(body),
                                 key=lambda e: list(e.absolute_schema_path)))


def rule_problems(params: dict[str, Any]) -> tuple[RuleProblem, ...]:
    """Every model rule these parameters break (cached: sweeps share parameter sets)."""
    return _rule_problems(tuple(sorted(params.items())))


def _rule_field(error: ValidationError) -> str | None:
    """The parameter whose value breaks the rule: the one the rule constrains (loop in
    "10s is not available with loop"), the one forbidden, or the one needing another."""
    if error.path:
        return str(error.path[0])
    if error.validator == "dependentRequired" and isinstance(error.instance, dict):
        return next((k for k in error.validator_value if k in error.instance), None)
    forbidden = error.schema.get("not", {}).get("required", []) if isinstance(error.schema, dict) else []
    return forbidden[0] if forbidden else None


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
