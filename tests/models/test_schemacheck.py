"""Schema drift: comparing a model's live definition with the shipped JSON Schema."""

from __future__ import annotations

import copy

import pytest

from batchgen.models.catalog import DEFAULT_MODEL, shipped
from batchgen.models.drift import compare, model_inputs
from modelkit import by_name, live


def schema() -> dict:
    return copy.deepcopy(dict(shipped()[DEFAULT_MODEL].schema))


def messages(inputs: list[dict], shipped: dict | None = None) -> list[str]:
    return [str(d) for d in compare(inputs, shipped or schema())]


def test_a_matching_definition_has_no_differences():
    assert compare(live(), schema()) == []


def test_order_of_allowed_values_does_not_count():
    inputs = live()
    by_name(inputs, "resolution")["allowedValues"].reverse()
    assert compare(inputs, schema()) == []


def test_a_new_allowed_value_is_reported_as_added():
    inputs = live()
    by_name(inputs, "resolution")["allowedValues"].append("4k")
    assert messages(inputs) == ['resolution: allowed values: live ["540p", "720p", "1080p", "4k"], '
                                'shipped schema ["540p", "720p", "1080p"] (live adds "4k")']


def test_a_withdrawn_allowed_value_is_reported_as_dropped():
    inputs = live()
    by_name(inputs, "duration")["allowedValues"] = ["5s"]
    assert 'live drops "10s"' in messages(inputs)[0]


def test_a_changed_default_is_reported():
    inputs = live()
    by_name(inputs, "aspectRatio")["default"] = "9:16"
    assert messages(inputs) == ['aspectRatio: default: live "9:16", shipped schema "16:9"']


def test_a_default_false_differs_from_no_default():
    inputs = live()
    del by_name(inputs, "loop")["default"]
    assert messages(inputs) == ["loop: default: live (none), shipped schema false"]


def test_a_changed_length_limit_is_reported():
    inputs = live()
    by_name(inputs, "prompt")["maxLength"] = 2000
    assert messages(inputs) == ["prompt: maxLength: live 2000, shipped schema 6000"]


def test_length_limits_of_file_inputs_are_not_compared():
    shipped = schema()  # startFrame has minLength 1 in the schema: an asset id, not text
    assert shipped["properties"]["startFrame"].get("minLength") == 1
    assert compare(live(), shipped) == []


def test_a_new_input_is_reported():
    inputs = live() + [{"name": "seed", "type": "number", "min": 0, "max": 4294967295}]
    assert messages(inputs) == ["seed: the live model offers this input; the shipped schema lacks it"]


def test_a_removed_input_is_reported():
    inputs = [i for i in live() if i["name"] != "loop"]
    assert messages(inputs) == ["loop: the shipped schema has this input; the live model no longer offers it"]


def test_a_changed_type_is_reported():
    inputs = live()
    by_name(inputs, "loop")["type"] = "string"
    assert messages(inputs) == ['loop: type: live "string", shipped schema "boolean"']


def test_numeric_bounds_are_compared():
    shipped = schema()
    shipped["properties"]["seed"] = {"type": "integer", "minimum": 0, "maximum": 100}
    inputs = live() + [{"name": "seed", "type": "number", "min": 0, "max": 1000}]
    assert messages(inputs, shipped) == ["seed: max: live 1000, shipped schema 100"]


def test_a_prompt_no_longer_required_is_reported():
    inputs = live()
    del by_name(inputs, "prompt")["required"]
    assert messages(inputs) == ["prompt: required: live no such rule, shipped schema always required"]


def test_a_dropped_if_defined_rule_is_reported():
    inputs = live()
    del by_name(inputs, "startFrame")["required"]
    assert messages(inputs) == ["startFrame: required: live no such rule, "
                                "shipped schema required when endFrame is set"]


def test_a_new_conditional_rule_is_reported():
    inputs = live()
    by_name(inputs, "startFrame")["required"]["conditional"] = {"values": {"loop": [True]}}
    assert messages(inputs) == ['startFrame: required: live required when {"loop":[true]} (and), '
                                "shipped schema no such rule"]


def test_a_conditional_rule_matches_its_schema_if_then_form():
    inputs = live()
    by_name(inputs, "startFrame")["required"]["conditional"] = {"values": {"loop": [True]},
                                                                "operator": "and"}
    shipped = schema()
    shipped["allOf"].append({"if": {"required": ["loop"], "properties": {"loop": {"const": True}}},
                             "then": {"required": ["startFrame"]}})
    assert compare(inputs, shipped) == []


def test_every_difference_is_reported_not_only_the_first():
    inputs = live()
    by_name(inputs, "resolution")["allowedValues"] = ["720p", "1080p"]
    by_name(inputs, "duration")["default"] = "10s"
    by_name(inputs, "prompt")["maxLength"] = 5000
    assert len(compare(inputs, schema())) == 3


def test_model_inputs_reads_the_answer_of_get_models():
    assert model_inputs({"model": {"id": "m", "inputs": live()}}) == live()


def test_model_inputs_refuses_an_answer_without_inputs():
    with pytest.raises(ValueError, match="no list of named inputs"):
        model_inputs({"model": {"id": "m"}})
