"""Schema drift: the model's live definition (`GET /models/{id}`) against the shipped JSON Schema.

Both sides are reduced to the same plain contract, then compared field by field:
each input's type, allowed values, default, length limits (strings) and numeric
bounds, and the required rules (`always`, `ifDefined`, `ifNotDefined`,
`conditional`). Rules the live definition has no way to state (e.g. "10s is not
available with loop") exist only in the shipped schema and are not compared.

How schema rules map to the live ones:
- `required: always`        <-> the schema's top-level `required`
- `X.required.ifDefined: {Y}` <-> `dependentRequired: {Y: [X]}` (X needed when Y is set)
- `X.required.ifNotDefined: {Y}` <-> `allOf: [{if: {not: {required: [Y]}}, then: {required: [X]}}]`
- `X.required.conditional`  <-> `allOf: [{if: {properties: {A: {const|enum}}}, then: {required: [X]}}]`
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from batchgen.jobs import canonical_json

_MISSING = object()

# The live `type` of an input -> the JSON Schema type a request body uses for it.
_LIVE_TYPES = {"string": "string", "boolean": "boolean", "number": "number", "file": "string",
               "model": "string", "string_array": "array", "number_array": "array",
               "file_array": "array", "model_array": "array", "inputs_array": "array"}
_LENGTH_TYPES = ("string", "model")  # maxLength/minLength bound characters only for these
_BOUNDS = (("min", "minimum"), ("max", "maximum"))
_LENGTHS = (("minLength", "minLength"), ("maxLength", "maxLength"))


@dataclass(frozen=True)
class Difference:
    """One way the live model and the shipped schema disagree."""

    input: str | None  # None: a rule about the whole body
    what: str  # "input", "type", "allowed values", "default", "maxLength", "required", ...
    live: Any
    shipped: Any
    note: str = ""  # a plainer account, when there is one

    def __str__(self) -> str:
        where = f"{self.input}: " if self.input else ""
        if self.what == "input":
            return where + self.note
        text = f"{where}{self.what}: live {_show(self.live)}, shipped schema {_show(self.shipped)}"
        return f"{text} ({self.note})" if self.note else text

    def to_json(self) -> dict[str, Any]:
        return {"input": self.input, "what": self.what, "live": _plain(self.live),
                "shipped": _plain(self.shipped), "message": str(self)}


def model_inputs(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `inputs` of a `GET /models/{id}` answer; ValueError if it has none."""
    model = answer.get("model", answer) if isinstance(answer, Mapping) else None
    inputs = model.get("inputs") if isinstance(model, Mapping) else None
    if not isinstance(inputs, list) or not all(isinstance(i, Mapping) and "name" in i for i in inputs):
        raise ValueError("the model definition has no list of named inputs")
    return [dict(i) for i in inputs]


def compare(live_inputs: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]) -> list[Difference]:
    """Every difference between the live inputs and the shipped schema, in a stable order."""
    live = {i["name"]: i for i in live_inputs}
    props: Mapping[str, Any] = schema.get("properties", {})
    diffs: list[Difference] = []
    for name in _ordered(live, props):
        if name not in props:
            diffs.append(Difference(name, "input", True, False,
                                    "the live model offers this input; the shipped schema lacks it"))
        elif name not in live:
            diffs.append(Difference(name, "input", False, True,
                                    "the shipped schema has this input; the live model no longer offers it"))
        else:
            diffs.extend(_compare_input(name, live[name], props[name]))
    diffs.extend(_compare_rules(_live_rules(live.values()), schema_rules(schema)))
    return diffs


def _compare_input(name: str, live: Mapping[str, Any], prop: Mapping[str, Any]) -> list[Difference]:
    diffs: list[Difference] = []
    live_type = _LIVE_TYPES.get(str(live.get("type")), live.get("type"))
    shipped_type = _schema_type(prop)
    if live_type != shipped_type:
        diffs.append(Difference(name, "type", live_type, shipped_type))
    live_allowed, shipped_allowed = live.get("allowedValues"), prop.get("enum")
    if _as_set(live_allowed) != _as_set(shipped_allowed):
        diffs.append(Difference(name, "allowed values", live_allowed, shipped_allowed,
                                _value_changes(live_allowed, shipped_allowed)))
    live_default, shipped_default = live.get("default", _MISSING), prop.get("default", _MISSING)
    if not _same(live_default, shipped_default):
        diffs.append(Difference(name, "default", live_default, shipped_default))
    limits = list(_BOUNDS)
    if live.get("type") in _LENGTH_TYPES:
        limits += _LENGTHS
    for live_key, schema_key in limits:
        a, b = live.get(live_key, _MISSING), prop.get(schema_key, _MISSING)
        if not _same(a, b):
            diffs.append(Difference(name, live_key, a, b))
    return diffs


def _compare_rules(live: set[tuple], shipped: set[tuple]) -> list[Difference]:
    diffs = []
    for rule in sorted(live | shipped, key=canonical_json):
        if rule in live and rule not in shipped:
            diffs.append(Difference(rule[1], "required", _rule_text(rule), "no such rule"))
        elif rule in shipped and rule not in live:
            diffs.append(Difference(rule[1], "required", "no such rule", _rule_text(rule)))
    return diffs


def _live_rules(inputs: Iterable[Mapping[str, Any]]) -> set[tuple]:
    rules: set[tuple] = set()
    for item in inputs:
        name, req = item["name"], item.get("required")
        if not isinstance(req, Mapping):
            continue
        if req.get("always") is True:
            rules.add(("always", name))
        for kind in ("ifDefined", "ifNotDefined"):
            if isinstance(req.get(kind), Mapping):
                rules.update((kind, name, other) for other in req[kind])
        cond = req.get("conditional")
        if isinstance(cond, Mapping) and isinstance(cond.get("values"), Mapping):
            rules.add(("conditional", name, cond.get("operator") or "and",
                       _conditions(cond["values"])))
    return rules


def schema_rules(schema: Mapping[str, Any]) -> set[tuple]:
    """The schema's required rules in the live form's terms (see the module docstring)."""
    rules: set[tuple] = {("always", name) for name in schema.get("required", [])}
    for trigger, needed in (schema.get("dependentRequired") or {}).items():
        rules.update(("ifDefined", name, trigger) for name in needed)
    for clause in schema.get("allOf", []):
        rules.update(_schema_clause_rules(clause))
    return rules


def _schema_clause_rules(clause: Mapping[str, Any]) -> set[tuple]:
    then, cond = clause.get("then"), clause.get("if")
    if not (isinstance(then, Mapping) and set(then) == {"required"} and isinstance(cond, Mapping)):
        return set()
    needed = then["required"]
    absent = cond.get("not", {}).get("required") if isinstance(cond.get("not"), Mapping) else None
    if absent:
        return {("ifNotDefined", name, other) for name in needed for other in absent}
    values = {}
    for key, rule in (cond.get("properties") or {}).items():
        values[key] = [rule["const"]] if "const" in rule else list(rule.get("enum", []))
    if not values:
        return set()
    return {("conditional", name, "and", _conditions(values)) for name in needed}


def _conditions(values: Mapping[str, Any]) -> str:
    as_lists = {k: sorted(v if isinstance(v, list) else [v], key=canonical_json)
                for k, v in values.items()}
    return canonical_json(as_lists)


def _rule_text(rule: tuple) -> str:
    kind = rule[0]
    if kind == "always":
        return "always required"
    if kind == "ifDefined":
        return f"required when {rule[2]} is set"
    if kind == "ifNotDefined":
        return f"required when {rule[2]} is not set"
    return f"required when {rule[3]} ({rule[2]})"


def _schema_type(prop: Mapping[str, Any]) -> Any:
    declared = prop.get("type")
    if declared == "integer":
        return "number"
    if declared is not None:
        return declared
    values = prop.get("enum") or ([prop["const"]] if "const" in prop else [])
    kinds = {"boolean" if isinstance(v, bool) else "number" if isinstance(v, (int, float))
             else "string" if isinstance(v, str) else "other" for v in values}
    return kinds.pop() if len(kinds) == 1 else None


def _value_changes(live: list | None, shipped: list | None) -> str:
    if live is None or shipped is None:
        return "the live model lists no allowed values" if live is None else \
            "the shipped schema lists no allowed values"
    added = [_show(v) for v in live if v not in shipped]
    dropped = [_show(v) for v in shipped if v not in live]
    parts = ([f"live adds {', '.join(added)}"] if added else []) + \
        ([f"live drops {', '.join(dropped)}"] if dropped else [])
    return "; ".join(parts)


def _as_set(values: Any) -> frozenset[str] | None:
    return None if values is None else frozenset(canonical_json(v) for v in values)


def _same(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _ordered(live: Mapping[str, Any], props: Mapping[str, Any]) -> list[str]:
    return list(live) + [name for name in props if name not in live]


def _plain(value: Any) -> Any:
    return None if value is _MISSING else value


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(none)"
    if isinstance(value, str) and " " in value:
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return canonical_json(value)
