"""A job: one generation request, with the identity that makes resuming safe.

A job's key is derived from the model, the full request body (a local frame counted by
its content hash, never its path) and the sample number, so reordering a manifest or
editing unrelated jobs never changes it. Its body hash is the same without the sample:
every sample of one request body shares it (shards split by it, the index records it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

KEY_LENGTH = 16
# A job's status as the Scenario API reports it, in the order a job goes through them.
JOB_STATUSES = ("pending", "queued", "warming-up", "in-progress", "finalizing", "success",
                "failure", "canceled")
FINAL_STATUSES = frozenset({"success", "failure", "canceled"})
MODEL = "model"  # the matrix axis that sweeps the model, not a parameter or variable
_ABSENT = object()


@dataclass(frozen=True)
class LocalFrame:
    """An image on disk that must be uploaded before the job can be submitted."""

    path: Path  # absolute
    sha256: str
    display: str  # as the manifest wrote it, for messages and plans

    @property
    def identity(self) -> str:
        return f"sha256:{self.sha256}"


@dataclass(frozen=True, slots=True)  # slots: 100,000 jobs, no dict each
class Job:
    """One generation to run: what to send, and where its files go."""

    key: str
    id: str  # the prompt's id (user-given, or prompt-N)
    index: int  # 1-based position of the prompt in the manifest
    sample: int  # 1-based
    model: str
    prompt: str  # after substitution
    params: dict[str, Any]  # the request body but the prompt; local frames by display path
    frames: dict[str, LocalFrame] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)  # prompt variables of its combination
    filename: str = ""  # relative POSIX path inside the output folder
    source: str = ""  # file the job came from
    line: int | None = None
    body_hash: str = ""  # body_hash() of model and identity body; "" when not computed yet

    def body(self, frame_assets: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The request body to send; `frame_assets` maps a frame's sha256 to its asset id."""
        body = {"prompt": self.prompt, **self.params}
        for name, frame in self.frames.items():
            if frame_assets is None or frame.sha256 not in frame_assets:
                raise KeyError(f"frame {frame.display} of job {self.id} has not been uploaded")
            body[name] = frame_assets[frame.sha256]
        return body

    def identity_body(self) -> dict[str, Any]:
        """The body as it counts for identity: local frames by content hash."""
        body = {"prompt": self.prompt, **self.params}
        for name, frame in self.frames.items():
            body[name] = frame.identity
        return body

    def request_hash(self) -> str:
        """The hash of the job's model and request body, the same for all its samples."""
        return self.body_hash or body_hash(self.model, self.identity_body())

    def label(self) -> str:
        """How messages name this job, e.g. `knight #3 (duration=10s, loop=true)`."""
        return job_label(self.id, self.sample, self.variables)

    def axis_value(self, axis: str, missing: Any = None) -> Any:
        """This job's value on a sweep axis: the model, a parameter, else a prompt
        variable (`missing` when it has none: a parameter its model lacks)."""
        if axis == MODEL:
            return self.model
        if axis in self.params:
            return self.params[axis]
        return self.variables.get(axis, missing)

    def swept(self, axes: Iterable[str]) -> dict[str, Any]:
        """This job's values on the swept `axes` it has, in their order (for labels)."""
        return {axis: value for axis in axes
                if (value := self.axis_value(axis, _ABSENT)) is not _ABSENT}


def job_label(job_id: str, sample: int, shown: Mapping[str, Any]) -> str:
    inner = ", ".join(f"{k}={_plain(v)}" for k, v in shown.items())
    return f"{job_id} #{sample}" + (f" ({inner})" if inner else "")


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def job_key(model: str, identity_body: Mapping[str, Any], sample: int) -> str:
    """The stable key of a job: same model, body and sample give the same key."""
    return identity_hash(identity_json(canonical_json(model), canonical_json(dict(identity_body))),
                         sample)


def body_hash(model: str, identity_body: Mapping[str, Any]) -> str:
    """The hash of a model and request body, without the sample: what the samples of
    one request share (`job_key` of the same, less its `"sample"`)."""
    return identity_hash(identity_json(canonical_json(model), canonical_json(dict(identity_body))))


def identity_json(model_json: str, body_json: str) -> str:
    """`canonical_json({"body": body, "model": model})` without its closing brace, from
    the canonical JSON of each: what a job's key and body hash are the hashes of.

    Canonical JSON sorts keys, so "body", "model" and then "sample" come in this order.
    The manifest expander serializes a body once for all its samples and calls this
    with it, so keys are computed one way only.
    """
    return f'{{"body":{body_json},"model":{model_json}'


def identity_hash(identity: str, sample: int | None = None) -> str:
    """The key of sample `sample` of an `identity_json`, or its body hash without one."""
    payload = f'{identity},"sample":{sample}}}' if sample is not None else identity + "}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:KEY_LENGTH]
