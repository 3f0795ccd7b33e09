"""A model is data: one JSON Schema file of its request body, and everything batchgen
knows about the model is read from it.

The schema (draft 2020-12) states the inputs, their types, allowed values and defaults,
and every rule between them. batchgen reads four annotations beside the standard
keywords:

    "x-model":   {"name": "Luma Ray 3.2"}       how messages and the simulator name it
    "x-asset":   "image"   (on an input)         the input takes an asset id; a local
                                                 image path is uploaded first
    "x-message": "10s is not available with loop"   (beside a rule) the sentence
                                                 printed when the rule is broken
    "x-price":   {"base": 1, "factors": {input: {value: factor}}}   what the simulator
                                                 charges: base times one factor per input

Validation, job defaults, the CSV columns, the simulator's inputs, 400 rules and
prices, and `schema check` all come from here, so adding a model is adding a file
(see `catalog.py` for where the files are found).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple

from batchgen.models.schema import describe

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

# Characters that render as nothing: spaces, zero-width and format characters, fillers.
_INVISIBLE = re.compile("[\\s\u00ad\u034f\u115f\u1160\u180e\u200b-\u200f\u2028-\u202f"
                        "\u205f-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0]*")
_RULE_CACHE = 4096  # distinct parameter sets remembered per model (sweeps repeat them)


class RuleProblem(NamedTuple):
    """A model rule a set of parameters breaks."""

    field: str | None  # the parameter the rule asks to change (None: not one in particular)
    message: str


@dataclass(frozen=True, eq=False)
class Model:
    """One model: its id, its request-body schema, and where that schema came from."""

    id: str
    schema: Mapping[str, Any]
    origin: str  # the schema file, as messages name it
    _rules: dict[tuple[tuple[str, Any], ...], tuple[RuleProblem, ...]] = field(
        default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """The model's human name (x-model.name), else its id."""
        return str((self.schema.get("x-model") or {}).get("name") or self.id)

    @property
    def properties(self) -> Mapping[str, Any]:
        return self.schema.get("properties", {})

    @cached_property
    def params(self) -> tuple[str, ...]:
        """The model's parameters, in schema order, without the prompt."""
        return tuple(n for n in self.properties if n != "prompt")

    @cached_property
    def _defaults(self) -> tuple[tuple[str, Any], ...]:
        return tuple((n, self.properties[n]["default"]) for n in self.params
                     if "default" in self.properties[n])

    def defaults(self) -> dict[str, Any]:
        """The default value of every parameter that has one (a fresh dict)."""
        return dict(self._defaults)

    def param_type(self, name: str) -> str:
        """"boolean" for switches like hdr, "string" for everything else."""
        return self.properties[name].get("type", "string")

    @cached_property
    def asset_params(self) -> tuple[str, ...]:
        """The parameters that take an asset id (x-asset), e.g. startFrame and endFrame."""
        return tuple(n for n in self.params if "x-asset" in self.properties[n])

    @cached_property
    def prompt_limits(self) -> tuple[int, int]:
        """(minimum, maximum) prompt length in characters."""
        prop = self.properties.get("prompt", {})
        return prop.get("minLength", 1), prop.get("maxLength", 10**9)

    def prompt_problem(self, text: str) -> str | None:
        """Why the model would refuse this prompt text, or None.

        Checked in plain Python (not per job through the validator) because a large
        batch has many distinct prompts but few distinct parameter sets.
        """
        low, high = self.prompt_limits
        if len(text) < low or not text.strip():
            return "the prompt is empty"
        if _INVISIBLE.fullmatch(text):  # looks empty, yet would be paid for
            return ("the prompt has no visible character (only spaces, zero-width or other "
                    "invisible characters); write the text to generate")
        if len(text) > high:
            return f"the prompt is {len(text):,} characters long; {self.name} takes at most {high:,}"
        return None

    @cached_property
    def validator(self) -> Draft202012Validator:
        """The request-body validator, built once per model."""
        # Imported here: jsonschema takes 40 ms to import, which commands that only
        # read ledgers need not pay.
        from jsonschema import Draft202012Validator

        return Draft202012Validator(self.schema)

    def rule_problems(self, params: Mapping[str, Any]) -> tuple[RuleProblem, ...]:
        """Every model rule these parameters break (remembered: sweeps share parameter sets)."""
        items = tuple(sorted(params.items()))
        found = self._rules.get(items)
        if found is None:
            if len(self._rules) >= _RULE_CACHE:
                self._rules.clear()
            found = self._rules[items] = self._check({"prompt": "x", **params})
        return found

    def _check(self, body: dict[str, Any]) -> tuple[RuleProblem, ...]:
        problems = []
        for error in sorted(self.validator.iter_errors(body),
                            key=lambda e: list(e.absolute_schema_path)):
            if error.validator == "additionalProperties" and not error.path:
                problems += [RuleProblem(k, f"{self.name} has no parameter '{k}'")
                             for k in body if k not in self.properties]
            else:
                problems.append(RuleProblem(_rule_field(error), describe(error, self.schema)))
        return tuple(problems)

    # -- what the simulator needs ---------------------------------------------------------

    @cached_property
    def priced(self) -> tuple[str, ...]:
        """The inputs that change the price (x-price factors)."""
        return tuple(self._price.get("factors") or {})

    @property
    def _price(self) -> Mapping[str, Any]:
        return self.schema.get("x-price") or {}

    def price(self, body: Mapping[str, Any]) -> float:
        """Creative units a valid body costs in the simulator: base times each input's
        factor (an input not set counts with its default; a value without a factor, 1)."""
        total = float(self._price.get("base", 1))
        for name, table in (self._price.get("factors") or {}).items():
            value = body.get(name, self.properties.get(name, {}).get("default"))
            total *= float(table.get(_price_key(value), 1))
        return int(total) if total.is_integer() else total

    def served_inputs(self) -> list[dict[str, Any]]:
        """The model's `inputs` as `GET /models/{id}` serves them, derived from the schema
        (the inverse of what `schema check` compares)."""
        from batchgen.models.drift import schema_rules

        rules = schema_rules(self.schema)
        inputs = []
        for name, prop in self.properties.items():
            item: dict[str, Any] = {"name": name, "type": _live_type(prop)}
            if "x-asset" in prop:
                item["kind"] = prop["x-asset"]
            if "description" in prop:
                item["description"] = prop["description"]
            if "enum" in prop:
                item["allowedValues"] = list(prop["enum"])
            if "default" in prop:
                item["default"] = prop["default"]
            limits = [("min", "minimum"), ("max", "maximum")]
            if item["type"] == "string":
                limits += [("minLength", "minLength"), ("maxLength", "maxLength")]
            item.update((live, prop[key]) for live, key in limits if key in prop)
            if name == "prompt":
                item["prompt"] = True
            if name in self.priced:
                item["costImpact"] = True
            required = _required(name, rules)
            if required:
                item["required"] = required
            inputs.append(item)
        return inputs


def _rule_field(error: Any) -> str | None:
    """The parameter whose value breaks the rule: the one the rule constrains (loop in
    "10s is not available with loop"), the one forbidden, or the one needing another."""
    if error.path:
        return str(error.path[0])
    if error.validator == "dependentRequired" and isinstance(error.instance, dict):
        return next((k for k in error.validator_value if k in error.instance), None)
    forbidden = error.schema.get("not", {}).get("required", []) if isinstance(error.schema, dict) else []
    return forbidden[0] if forbidden else None


def _price_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _live_type(prop: Mapping[str, Any]) -> str:
    if "x-asset" in prop:
        return "file"
    declared = prop.get("type")
    if declared in ("boolean", "string"):
        return declared
    if declared in ("number", "integer"):
        return "number"
    values = prop.get("enum", [])
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "number"
    return "string"


def _required(name: str, rules: set[tuple]) -> dict[str, Any]:
    """The live `required` rules of input `name`, from the schema's rules."""
    import json

    required: dict[str, Any] = {}
    for rule in sorted(rules, key=str):
        if rule[1] != name:
            continue
        if rule[0] == "always":
            required["always"] = True
        elif rule[0] in ("ifDefined", "ifNotDefined"):
            required.setdefault(rule[0], {})[rule[2]] = (
                f"{rule[2]} needs {name}" if rule[0] == "ifDefined" else f"{name} is needed without {rule[2]}")
        else:
            required["conditional"] = {"operator": rule[2], "values": json.loads(rule[3])}
    return required


def is_finite_price(value: Any) -> bool:
    """True for a usable factor or base: a finite number that is not a boolean."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
