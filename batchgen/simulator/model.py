"""The models the simulated API serves: every model it has a schema for.

Each model is a `batchgen.models.model.Model` (one JSON Schema file), so the simulator
serves a user's `models/<id>.schema.json` exactly as it serves Luma Ray 3.2: its
inputs on `GET /models/{id}`, its rules as 400 answers, its `x-price` as costs.

The 400 messages are the simulator's own wording (the API's style: `"hdr" requires
...`), not batchgen's sentences, so tests see an API message pass through. A wrong
rule in a shipped schema is caught against the live API by `batchgen schema check`,
not here: the simulator and batchgen now read the same file on purpose.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from batchgen.models.catalog import DEFAULT_MODEL, shipped
from batchgen.models.model import Model
from batchgen.models.schema import field_name


def served_models(models: Iterable[Model] | None = None) -> dict[str, Model]:
    """The models a simulator serves, by id: the shipped ones, plus (and over) `models`."""
    return {**shipped(), **{m.id: m for m in models or ()}}


def default_inputs() -> list[dict[str, Any]]:
    """A fresh copy of Luma Ray 3.2's inputs as `GET /models/{id}` serves them."""
    return shipped()[DEFAULT_MODEL].served_inputs()


def model_document(served: Model, inputs: list[dict[str, Any]], created_at: str) -> dict[str, Any]:
    """The `model` object of `GET /models/{id}`."""
    return {
        "id": served.id,
        "name": served.name,
        "type": "custom",
        "custom": True,
        "capabilities": ["txt2video", "img2video"] if served.asset_params else ["txt2video"],
        "collectionIds": [],
        "exampleAssetIds": [],
        "privacy": "public",
        "source": "scenario",
        "status": "trained",
        "tags": ["video"],
        "trainingImagesNumber": 0,
        "createdAt": created_at,
        "updatedAt": created_at,
        "inputs": inputs,
    }


def check_body(served: Model, body: Any, is_image_asset: Callable[[str], bool]) -> str | None:
    """The 400 message the API gives for this generate body, or None if it is valid."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object of the model's inputs"
    unknown = sorted(set(body) - set(served.properties))
    if unknown:
        return f"Unknown input(s) for {served.id}: {', '.join(unknown)}"
    errors = sorted(served.validator.iter_errors(body), key=lambda e: list(e.absolute_schema_path))
    if errors:
        return _message(errors[0], served)
    for name in served.asset_params:
        if name in body and not (isinstance(body[name], str) and is_image_asset(body[name])):
            return f'"{name}" must be the id of an existing image asset (got {body[name]!r})'
    return None


def _message(error: Any, served: Model) -> str:
    """One schema error in the API's words."""
    rule = _rule_text(error, served.schema)
    if rule:
        return rule
    name = field_name(error.path) if error.path else None
    kind, expected = error.validator, error.validator_value
    if name == "prompt" or (kind == "required" and "prompt" in expected):
        limit = served.prompt_limits[1]
        if kind == "maxLength":
            return f'"prompt" must be at most {limit} characters'
        return '"prompt" is required and must be a non-empty string'
    if kind == "enum":
        return f'"{name}" must be one of {", ".join(map(str, expected))} (got {error.instance!r})'
    if kind == "type":
        return f'"{name}" must be a {expected}'
    if kind == "dependentRequired":
        body = error.instance
        for trigger, needed in expected.items():
            missing = [n for n in needed if n not in body]
            if trigger in body and missing:
                return f'"{trigger}" requires "{missing[0]}"'
        return f"Invalid input: {error.message}"
    if kind in ("maxLength", "minLength", "minimum", "maximum"):
        return f'"{name}": {error.message}'
    return f"Invalid input: {error.message}"


def _rule_text(error: Any, schema: dict[str, Any]) -> str | None:
    """The text of the conditional rule (an allOf clause's x-message) the body breaks."""
    path = list(error.absolute_schema_path)
    if path[:1] == ["allOf"] and len(path) > 1:
        clause = schema["allOf"][path[1]]
        return clause.get("x-message") or clause.get("description")
    return None


# Team limits of a simulated plan, all the fields scenario-sdk 2.4.0 requires
# (`types/team_retrieve_limits_response.py`); only parallelCustomJobs matters here.
_PLAN_LIMITS = {"apiKeys": 10, "canvasAssetLayers": 50, "canvasAssets": 1000, "collections": 100,
                "creativeUnits": 100000, "defaultSeats": 5, "downloadAssets": 10000,
                "downloadModel": 100, "inferenceBatchSize": 16, "maxCooldown": 60,
                "maxTrainingDatasets": 10, "minCooldown": 0, "models": 100, "OTPSessions": 5,
                "parallelInferences": 10, "parallelTraining": 2, "parallelWorkflowRuns": 5,
                "premiumGenerationSamples": 4, "projects": 50, "scalingFactor": 1, "seats": 5,
                "snapshotsRetention": 30, "upload": 1000}


def team_limits(ceiling: int, since: str) -> dict[str, Any]:
    """The answer of `GET /teams/{teamId}/limits` for a team allowed `ceiling` jobs at once."""
    return {"limits": {**_PLAN_LIMITS, "parallelCustomJobs": ceiling},
            "oneShotCreativeUnits": [], "period": {"start": since, "end": "2099-01-01T00:00:00.000Z"},
            "plan": "cu-pro", "values": {"apiKeys": 1, "canvasAssets": 0, "collections": 0,
                                         "creativeUnits": 0, "projects": 1, "seats": 1}}
