"""The live definition of Luma Ray 3.2 (`GET /models/{id}` inputs) as tests compare it."""

from __future__ import annotations

def live() -> list[dict]:
    """The live definition of Luma Ray 3.2 as it matches the shipped schema."""
    return [
        {"name": "prompt", "type": "string", "required": {"always": True},
         "minLength": 1, "maxLength": 6000},
        {"name": "startFrame", "type": "file", "kind": "image",
         "required": {"ifDefined": {"endFrame": "An end frame needs a start frame"}}},
        {"name": "endFrame", "type": "file", "kind": "image"},
        {"name": "duration", "type": "string", "allowedValues": ["5s", "10s"], "default": "5s",
         "costImpact": True},
        {"name": "resolution", "type": "string", "allowedValues": ["540p", "720p", "1080p"],
         "default": "720p", "costImpact": True},
        {"name": "aspectRatio", "type": "string",
         "allowedValues": ["9:16", "3:4", "1:1", "4:3", "16:9", "21:9"], "default": "16:9"},
        {"name": "loop", "type": "boolean", "default": False},
        {"name": "hdr", "type": "boolean", "default": False, "costImpact": True},
    ]


def by_name(inputs: list[dict], name: str) -> dict:
    return next(i for i in inputs if i["name"] == name)
