"""Cost estimates: one dry run (HTTP 269) per distinct priced combination, not per job.

Which parameters are priced comes from each model's live definition (`GET
/models/{id}`): the inputs it marks `costImpact`; its `file` inputs are the asset ids
(frames), and its `required.ifDefined` rules say which input needs which. Jobs of one
model that agree on the priced inputs share one dry run (a sweep over models prices
each model apart). When the definition cannot be read or marks nothing, every parameter but the
prompt counts (frames by whether they are set), which asks more often but is never
wrong. Start and end frames go into the dry run only when their asset id is known (an
asset id in the manifest, or an upload an earlier run recorded): a dry run never
uploads anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol, Sequence

import anyio

from batchgen.run.budget import format_cu
from batchgen.errors import AccessDenied, APIError
from batchgen.jobs import Job, canonical_json

DEFAULT_CONCURRENCY = 4
# The dryRun tier asked for. batchgen always authenticates with an API key, and the SDK
# documents `api` as "estimates at the API tier" (types/generate_run_model_params.py):
# `true` would price at the default tier, which a key-authenticated call is not billed at.
DRY_RUN_TIER = "api"


class DryRunClient(Protocol):
    async def generate(self, model: str, body: dict, *, dry_run: bool | str = False) -> dict: ...
    async def get_model(self, model_id: str) -> dict: ...


@dataclass
class Combination:
    """Jobs that share a price: the priced parameters, the jobs, what one job costs."""

    params: dict[str, Any]
    keys: list[str] = field(default_factory=list)
    unit_cost: float | None = None
    error: str | None = None

    @property
    def jobs(self) -> int:
        return len(self.keys)

    @property
    def cost(self) -> float | None:
        return None if self.unit_cost is None else self.unit_cost * self.jobs

    def label(self) -> str:
        return " ".join(f"{k}={_plain(v)}" for k, v in self.params.items()) or "(defaults)"


@dataclass
class Estimate:
    """The priced combinations of a set of jobs, and what they cost together."""

    model: str
    combinations: list[Combination]
    priced_fields: list[str] | None  # None: the model did not say, every parameter counted
    dry_runs: int = 0
    tier: str = DRY_RUN_TIER  # the dryRun value asked for: "api" or "true"

    @property
    def jobs(self) -> int:
        return sum(c.jobs for c in self.combinations)

    @property
    def total(self) -> float:
        """Cost of every combination that could be priced."""
        return sum(c.cost or 0.0 for c in self.combinations)

    @property
    def complete(self) -> bool:
        return all(c.unit_cost is not None for c in self.combinations)

    def job_costs(self) -> dict[str, float | None]:
        """Estimated cost of each job, by key (None where its combination has no price)."""
        return {key: c.unit_cost for c in self.combinations for key in c.keys}

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "jobs": self.jobs,
            "pricedFields": self.priced_fields,
            "dryRuns": self.dry_runs,
            "dryRunTier": self.tier,
            "combinations": [
                {"params": c.params, "jobs": c.jobs, "unitCost": c.unit_cost, "cost": c.cost,
                 **({"error": c.error} if c.error else {})}
                for c in self.combinations
            ],
            "total": self.total,
            "complete": self.complete,
        }

    def render(self) -> str:
        """The human table: one line per combination, then the total."""
        rows = [(c.label(), f"{c.jobs} job{'s' if c.jobs != 1 else ''}",
                 f"x {format_cu(c.unit_cost)} CU" if c.unit_cost is not None else "",
                 f"= {format_cu(c.cost)} CU" if c.cost is not None else f"error: {c.error}")
                for c in self.combinations]
        widths = [max((len(r[i]) for r in rows), default=0) for i in range(3)]
        lines = [f"  {a.ljust(widths[0])}  {b.rjust(widths[1])} {c.ljust(widths[2])} {d}".rstrip()
                 for a, b, c, d in rows]
        total = f"total: {format_cu(self.total)} CU for {self.jobs} jobs " \
                f"({len(self.combinations)} priced combination" \
                f"{'s' if len(self.combinations) != 1 else ''}, {self.dry_runs} dry run" \
                f"{'s' if self.dry_runs != 1 else ''} at dryRun={self.tier})"
        if not self.complete:
            total += "; incomplete: some combinations could not be priced"
        return "\n".join(lines + [total])


def _inputs(model_definition: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    model = (model_definition or {}).get("model", model_definition) or {}
    inputs = model.get("inputs") if isinstance(model, Mapping) else None
    return [i for i in inputs if isinstance(i, Mapping) and "name" in i] \
        if isinstance(inputs, list) else []


def priced_fields(model_definition: Mapping[str, Any] | None) -> list[str] | None:
    """Names of the inputs the model marks `costImpact`; None when it marks none."""
    names = [i["name"] for i in _inputs(model_definition) if i.get("costImpact") is True]
    return sorted(names) or None


def asset_fields(model_definition: Mapping[str, Any] | None) -> list[str]:
    """Names of the inputs that take an asset id (`file` inputs, e.g. startFrame)."""
    return [i["name"] for i in _inputs(model_definition) if i.get("type") == "file"]


def _needs(model_definition: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """For each input, the inputs it needs (X.required.ifDefined {Y}: Y needs X)."""
    needs: dict[str, list[str]] = {}
    for item in _inputs(model_definition):
        required = item.get("required")
        if isinstance(required, Mapping) and isinstance(required.get("ifDefined"), Mapping):
            for other in required["ifDefined"]:
                needs.setdefault(str(other), []).append(item["name"])
    return needs


def price_key(job: Job, fields: Sequence[str] | None, assets: Sequence[str] = ()) -> dict[str, Any]:
    """The parameters of `job` that decide its price (frames and other asset inputs:
    whether they are set)."""
    chosen = {k: (True if k in assets else v) for k, v in job.params.items() if k != "prompt"}
    chosen.update({name: True for name in job.frames})
    if fields is not None:
        chosen = {k: v for k, v in chosen.items() if k in fields}
    return dict(sorted(chosen.items()))


def group(jobs: Iterable[Job], definitions: Mapping[str, Mapping[str, Any] | None]
          ) -> list[tuple[Combination, Job]]:
    """Jobs grouped by model and price key, in first-seen order, each with a
    representative job; with several models the model is part of each group's label."""
    groups: dict[str, tuple[Combination, Job]] = {}
    several = len(definitions) > 1
    fields = {m: priced_fields(d) for m, d in definitions.items()}
    assets = {m: asset_fields(d) for m, d in definitions.items()}
    for job in jobs:
        params = price_key(job, fields[job.model], assets[job.model])
        if several:
            params = {"model": job.model, **params}
        ident = canonical_json(params)
        if ident not in groups:
            groups[ident] = (Combination(params), job)
        groups[ident][0].keys.append(job.key)
    return list(groups.values())


def dry_run_body(job: Job, frame_assets: Mapping[str, str] | None = None,
                 fields: Sequence[str] | None = None,
                 needs: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The representative's body for the dry run: a local frame only where it may change
    the price (`fields`, None: unknown) and its uploaded asset id is known; an input
    whose `needs` (e.g. endFrame needs startFrame) are left out goes too: it would be
    refused, and it never changes the price alone."""
    body = {"prompt": job.prompt, **{k: v for k, v in job.params.items() if k not in job.frames}}
    for name, frame in job.frames.items():
        priced = fields is None or name in fields
        if priced and frame_assets and frame.sha256 in frame_assets:
            body[name] = frame_assets[frame.sha256]
    for name, needed in (needs or {}).items():
        if name in body and not all(n in body for n in needed):
            del body[name]
    return body


async def estimate(client: DryRunClient, model: str, jobs: Sequence[Job], *,
                   concurrency: int = DEFAULT_CONCURRENCY,
                   frame_assets: Mapping[str, str] | None = None) -> Estimate:
    """Price `jobs` with one dry run per priced combination, `concurrency` at a time.

    A combination the API refuses carries its error and no cost; a refusal of the
    credentials (AccessDenied) stops the estimate.
    """
    models = list(dict.fromkeys(job.model for job in jobs)) or [model]
    definitions = {m: await _model_definition(client, m) for m in models}
    groups = group(jobs, definitions)
    fields = {m: priced_fields(d) for m, d in definitions.items()}
    shown = None if any(f is None for f in fields.values()) else \
        sorted({n for f in fields.values() for n in f or []})
    result = Estimate(", ".join(models), [c for c, _ in groups], shown)
    limiter = anyio.CapacityLimiter(max(1, concurrency))

    denied: list[AccessDenied] = []

    async def price(combo: Combination, job: Job) -> None:
        async with limiter:
            result.dry_runs += 1
            body = dry_run_body(job, frame_assets, fields[job.model],
                                _needs(definitions[job.model]))
            try:
                answer = await client.generate(job.model, body, dry_run=result.tier)
            except AccessDenied as exc:
                denied.append(exc)
                tg.cancel_scope.cancel()  # the rest would be refused too
                return
            except APIError as exc:
                combo.error = exc.message
                return
        combo.unit_cost, combo.error = _cost(answer)

    async with anyio.create_task_group() as tg:
        for combo, job in groups:
            tg.start_soon(price, combo, job)
    if denied:
        raise denied[0]  # alone, never wrapped in an ExceptionGroup
    return result


async def _model_definition(client: DryRunClient, model: str) -> dict | None:
    try:
        return await client.get_model(model)
    except AccessDenied:
        raise
    except APIError:
        return None  # fall back to pricing every parameter


def _cost(answer: Mapping[str, Any]) -> tuple[float | None, str | None]:
    value = answer.get("creativeUnitsCost") if isinstance(answer, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None, "the dry run answered without a creativeUnitsCost"
    return float(value), None


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
