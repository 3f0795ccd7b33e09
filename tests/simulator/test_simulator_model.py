"""The simulator serves a model from its JSON Schema: the rules it answers 400 for, the
definition it serves and its prices all come from that one file."""

from __future__ import annotations

import itertools

from batchgen.models.catalog import DEFAULT_MODEL, shipped
from batchgen.simulator import model

LUMA = shipped()[DEFAULT_MODEL]

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
    schema = LUMA.validator
    disagreements = []
    for body in bodies():
        simulator_ok = model.check_body(LUMA, body, lambda asset_id: True) is None
        schema_ok = schema.is_valid(body)
        if simulator_ok != schema_ok:
            disagreements.append((body, simulator_ok, schema_ok))
    assert disagreements == []


def test_both_refuse_unknown_inputs_bad_enums_and_long_prompts():
    schema = LUMA.validator
    for body in ({"prompt": "a", "seed": 3}, {"prompt": "a", "aspectRatio": "2:1"},
                 {"prompt": "x" * 6001}, {"prompt": ""}, {"duration": "5s"}):
        assert model.check_body(LUMA, body, lambda asset_id: True) is not None
        assert not schema.is_valid(body)


def test_the_served_model_definition_matches_the_shipped_schema():
    from batchgen.models import drift

    assert [str(d) for d in drift.compare(model.default_inputs(), LUMA.schema)] == []


def test_frames_must_be_existing_image_assets():
    body = {"prompt": "a", "startFrame": "asset_gone"}
    assert model.check_body(LUMA, body, lambda asset_id: False) == (
        "\"startFrame\" must be the id of an existing image asset (got 'asset_gone')")


def test_prices_come_from_the_schemas_x_price():
    assert LUMA.price({"prompt": "a"}) == 30  # 720p x 5 s, the defaults
    assert LUMA.price({"prompt": "a", "resolution": "1080p", "hdr": True}) == 120
    assert LUMA.price({"prompt": "a", "resolution": "540p", "duration": "10s"}) == 40
