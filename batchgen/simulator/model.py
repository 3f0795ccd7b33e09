"""Luma Ray 3.2 as the simulated API knows it: served inputs, request checks, cost.

The checks are written here independently of `schemas/` on purpose: the simulator
stands in for the real API, so a mistake in the shipped JSON Schema shows up as a
disagreement instead of being copied into both sides.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

MODEL_ID = "model_luma-ray-3-2"
PROMPT_MAX_LENGTH = 6000
DURATIONS = ("5s", "10s")
RESOLUTIONS = ("540p", "720p", "1080p")
ASPECT_RATIOS = ("9:16", "3:4", "1:1", "4:3", "16:9", "21:9")
HDR_RESOLUTIONS = ("720p", "1080p")
FRAME_INPUTS = ("startFrame", "endFrame")

# Simulated prices (Compute Units per second of video); hdr doubles the price.
CU_PER_SECOND = {"540p": 4, "720p": 6, "1080p": 12}

DEFAULT_INPUTS: list[dict[str, Any]] = [
    {"name": "prompt", "type": "string", "label": "Prompt", "required": {"always": True},
     "minLength": 1, "maxLength": PROMPT_MAX_LENGTH, "prompt": True},
    {"name": "startFrame", "type": "file", "kind": "image", "label": "Start frame",
     "required": {"ifDefined": {"endFrame": "An end frame needs a start frame"}}},
    {"name": "endFrame", "type": "file", "kind": "image", "label": "End frame",
     "hint": "Requires a start frame"},
    {"name": "duration", "type": "string", "allowedValues": list(DURATIONS), "default": "5s",
     "costImpact": True},
    {"name": "resolution", "type": "string", "allowedValues": list(RESOLUTIONS),
     "default": "720p", "costImpact": True},
    {"name": "aspectRatio", "type": "string", "allowedValues": list(ASPECT_RATIOS),
     "default": "16:9"},
    {"name": "loop", "type": "boolean", "default": False},
    {"name": "hdr", "type": "boolean", "default": False, "costImpact": True},
]


def default_inputs() -> list[dict[str, Any]]:
    """A fresh copy of the model's inputs as `GET /models/{id}` serves them."""
    return copy.deepcopy(DEFAULT_INPUTS)


def model_document(inputs: list[dict[str, Any]], created_at: str) -> dict[str, Any]:
    """The `model` object of `GET /models/{id}`."""
    return {
        "id": MODEL_ID,
        "name": "Luma Ray 3.2",
        "type": "custom",
        "custom": True,
        "capabilities": ["txt2video", "img2video"],
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


def check_body(body: Any, is_image_asset: Callable[[str], bool]) -> str | None:
    """The 400 message the API gives for this generate body, or None if it is valid."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object of the model's inputs"
    known = {i["name"] for i in DEFAULT_INPUTS}
    unknown = sorted(set(body) - known)
    if unknown:
        return f"Unknown input(s) for {MODEL_ID}: {', '.join(unknown)}"
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return '"prompt" is required and must be a non-empty string'
    if len(prompt) > PROMPT_MAX_LENGTH:
        return f'"prompt" must be at most {PROMPT_MAX_LENGTH} characters'
    for name, allowed in (("duration", DURATIONS), ("resolution", RESOLUTIONS),
                          ("aspectRatio", ASPECT_RATIOS)):
        if name in body and body[name] not in allowed:
            return f'"{name}" must be one of {", ".join(allowed)} (got {body[name]!r})'
    for name in ("loop", "hdr"):
        if name in body and not isinstance(body[name], bool):
            return f'"{name}" must be a boolean'
    for name in FRAME_INPUTS:
        if name in body and not (isinstance(body[name], str) and is_image_asset(body[name])):
            return f'"{name}" must be the id of an existing image asset (got {body[name]!r})'
    if "endFrame" in body and "startFrame" not in body:
        return '"endFrame" requires "startFrame"'
    if body.get("duration") == "10s":
        for name in ("loop", "hdr"):
            if body.get(name) is True:
                return f'duration "10s" is not available with {name}'
        for name in FRAME_INPUTS:
            if name in body:
                return f'duration "10s" is not available with {name}'
    if body.get("hdr") is True and body.get("resolution", "720p") not in HDR_RESOLUTIONS:
        return '"hdr" requires resolution 720p or 1080p'
    return None


def cost(body: dict[str, Any]) -> int:
    """Compute Units a (valid) body costs: grows with duration, resolution and hdr."""
    seconds = int(str(body.get("duration", "5s")).rstrip("s"))
    price = CU_PER_SECOND[body.get("resolution", "720p")] * seconds
    return price * 2 if body.get("hdr") is True else price
