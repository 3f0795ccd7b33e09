"""The simulator's model rules and the shipped JSON Schema, written apart, agree."""

from __future__ import annotations

import itertools

from batchgen.models import schema as modelschema
from batchgen.simulator import model

OPTIONAL = {"duration": ("5s", "10s"), "resolution": ("540p", "720p", "1080p"),
            "loop": (False, True), "hdr": (False, True), "startFrame": ("asset_start",),
            "endFrame": ("asset_end",)}


def bodies():
    """Every combination of the inputs that interact (each present or absent)."""
    names = list(OPTIONAL)
    for values in itertools.product(*[(None, *OPTIONAL[n]) for n in names]):
        body = {"prompt": "a heron lands"}
        body.update({n: v for n, v in zip(names, values) if v is not None})
        yield body


def test_the_simulator_accepts_exactly_what_the_shipped_schema_accepts():
    schema = modelschema.model_validator()
    disagreements = []
    for body in bodies():
        simulator_ok = model.check_body(body, lambda asset_id: True) is None
        schema_ok = schema.is_valid(body)
        if simulator_ok != schema_ok:
            disagreements.append((body, simulator_ok, schema_ok))
    assert disagreements == []


def test_both_refuse_unknown_inputs_bad_enums_and_long_prompts():
    schema = modelschema.model_validator()
    for body in ({"prompt": "a", "seed": 3}, {"prompt": "a", "aspectRatio": "2:1"},
                 {"prompt": "x" * 6001}, {"prompt": ""}, {"duration": "5s"}):
        assert model.check_body(body, lambda asset_id: True) is not None
        assert not schema.is_valid(body)


def test_the_served_model_definition_matches_the_shipped_schema():
    from batchgen.models import drift as schemacheck

    shipped = modelschema.load_schema("luma-ray-3-2.schema.json")
    assert [str(d) for d in schemacheck.compare(model.default_inputs(), shipped)] == []
