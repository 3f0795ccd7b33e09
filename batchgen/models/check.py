"""What a model file must hold beyond being a valid JSON Schema, checked once when it is read.

A user's `models/<id>.schema.json` is read by the manifest checks, the simulator,
estimates and `schema check` alike, and each of them trusts its shape: an enum to pick
a value from, defaults the model itself accepts, `x-model` a mapping. A file that breaks
one of these is refused here with a sentence naming the place in the file and the rule,
rather than failing later in whichever command first leans on it.
"""

from __future__ import annotations

from typing import Any

from batchgen.models.model import is_finite_price


def checked(schema: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(this metaschema-valid model schema with its references inlined, None), or
    (None, why it cannot describe a model)."""
    found: list[str] = []
    if isinstance(schema, dict):
        schema = _inline(schema, schema, [], (), found)
    problem = found[0] if found else _shape_problem(schema)
    return (None, problem) if problem else (schema, None)


def where(path: Any) -> str:
    """A place in a schema file as messages name it, e.g. `properties.fps.type`."""
    return ".".join(str(step) for step in path)


def _inline(node: Any, root: dict[str, Any], path: list[Any], trail: tuple[str, ...],
            found: list[str]) -> Any:
    """`node` with every `$ref` replaced by the part of the same file it points to.

    A model's parameter schemas are copied into the manifest schema, where a reference
    would resolve against the wrong document; a reference out of the file (a URL, another
    file) would be a network or disk read no one asked for. Those, and references that
    resolve to nothing or back to themselves, are added to `found`.
    """
    if found:
        return node
    if isinstance(node, list):
        return [_inline(item, root, [*path, n], trail, found) for n, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    result = {k: _inline(v, root, [*path, k], trail, found) for k, v in node.items() if k != "$ref"}
    if "$ref" not in node:
        return result
    ref, at = node["$ref"], where([*path, "$ref"])
    if not isinstance(ref, str) or not ref.startswith("#"):
        found.append(f"{at}: {ref!r} points outside the file; a model schema refers only "
                     "within itself (e.g. #/$defs/NAME)")
        return result
    if ref in trail:
        found.append(f"{at}: {ref} refers back to itself")
        return result
    target: Any = root
    for part in filter(None, ref[1:].split("/")):
        key = part.replace("~1", "/").replace("~0", "~")
        try:
            target = target[int(key) if isinstance(target, list) else key]
        except (KeyError, IndexError, TypeError, ValueError):
            found.append(f"{at}: {ref} names nothing in the file")
            return result
    return {**_inline(target, root, path, (*trail, ref), found), **result}


def _shape_problem(schema: Any) -> str | None:
    if not isinstance(schema, dict) or schema.get("type") != "object" \
            or not isinstance(schema.get("properties"), dict):
        return "a model schema describes the request body: \"type\": \"object\" with \"properties\""
    props = schema["properties"]
    if not isinstance(props.get("prompt"), dict) or props["prompt"].get("type") != "string":
        return "a model schema needs a \"prompt\" property of \"type\": \"string\""
    model = schema.get("x-model", {})
    if not isinstance(model, dict) or not isinstance(model.get("name", ""), str):
        return "x-model must be {\"name\": text}"
    for name in schema.get("required", []):
        if name not in props:
            return f"required: {name} is not one of the properties"
    return (_annotation_problem(schema, [])
            or next(filter(None, (_property_problem(n, p) for n, p in props.items())), None)
            or _price_problem(schema.get("x-price", {}), props))


def _property_problem(name: str, prop: Any) -> str | None:
    from jsonschema import Draft202012Validator

    place = f"properties.{name}"
    if not isinstance(prop, dict):
        return f"{place}: an input is described by a mapping (its type, allowed values, default)"
    if "x-asset" in prop and not isinstance(prop["x-asset"], str):
        return f"{place}.x-asset: the kind of asset, as text (e.g. \"image\")"
    if "default" in prop and not Draft202012Validator(prop).is_valid(prop["default"]):
        return f"{place}.default: {prop['default']!r} is not a value {name} itself allows"
    return None


def _annotation_problem(node: Any, path: list[Any]) -> str | None:
    """Every enum lists a value (messages name the allowed ones) and every x-message is text
    (or a mapping of keyword to text)."""
    if isinstance(node, list):
        return next(filter(None, (_annotation_problem(item, [*path, n])
                                  for n, item in enumerate(node))), None)
    if not isinstance(node, dict):
        return None
    if node.get("enum") == []:
        return f"{where([*path, 'enum'])}: an enum lists at least one value"
    message = node.get("x-message")
    if message is not None and not isinstance(message, str) and not (
            isinstance(message, dict) and all(isinstance(m, str) for m in message.values())):
        return (f"{where([*path, 'x-message'])}: the sentence printed when the rule is broken, "
                "as text (or {keyword: text})")
    values_here = not path or path[-1] != "properties"  # else the keys are input names
    return next(filter(None, (_annotation_problem(value, [*path, key]) for key, value in node.items()
                              if not (values_here and key in ("enum", "const", "default",
                                                              "examples", "x-price")))), None)


def _price_problem(price: Any, props: dict[str, Any]) -> str | None:
    factors = price.get("factors", {}) if isinstance(price, dict) else None
    if not isinstance(factors, dict) or not is_finite_price(price.get("base", 1)) or not all(
            isinstance(t, dict) and all(is_finite_price(f) for f in t.values())
            for t in factors.values()):
        return "x-price must be {\"base\": number, \"factors\": {input: {value: number}}}"
    return next((f"x-price.factors.{name}: {name} is not one of the properties"
                 for name in factors if name not in props), None)
