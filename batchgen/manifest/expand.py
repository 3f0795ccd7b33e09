"""Expansion: prompts x matrix combinations x samples -> jobs, identical ones merged.

Precedence is defaults < matrix combination < the prompt's own fields, with the model's
defaults under everything, so writing a default explicitly or leaving it out gives the
same job key. A combination's model is its `model` axis value, else the manifest's
`model`; a parameter applies to the jobs whose model has it (in a sweep over models
with different parameters, the others' jobs go without it). Jobs whose request bodies come out identical are merged (the first is
kept). Order: prompts as written, then combinations (the matrix product in the order
its axes are written, then `include`), then samples.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from batchgen.manifest import templates
from batchgen.errors import ManifestError, Problem
from batchgen.jobs import Job, LocalFrame, canonical_json, identity_hash, identity_json, job_label
from batchgen.manifest.document import Manifest, PromptSpec
from batchgen.manifest.references import MODEL, Prepared, prepare
from batchgen.models.model import Model, RuleProblem

DEFAULT_MAX_JOBS = 100_000
MAX_COLLISIONS_SHOWN = 10


@dataclass
class Expansion:
    """The jobs of a manifest and what the report and the runner need beside them.

    Jobs of the same combination share their `params`, `frames` and `variables` dicts
    (100,000 jobs, a handful of distinct dicts): treat them as read-only.
    """

    jobs: list[Job]
    frames: dict[str, LocalFrame]  # by sha256
    axes: dict[str, list[Any]]
    warnings: list[Problem] = field(default_factory=list)


def expand(m: Manifest, *, max_jobs: int | None = None) -> Expansion:
    """Expand a shape-checked manifest into jobs; raise ManifestError with every problem.

    `max_jobs` overrides the manifest's own `max_jobs`, which overrides the default
    (100,000); the count is checked before any job is built.
    """
    prepared, problems = prepare(m)
    limit = max_jobs or m.max_jobs or DEFAULT_MAX_JOBS
    try:
        combos = _checked_combinations(m, limit)
    except ManifestError as exc:
        raise ManifestError(problems + exc.problems) from None
    if problems:
        # Names, files or placeholders are wrong, so no job can be built; the model's
        # rules can still be checked, and are, so one round of fixes is enough.
        raise ManifestError(problems + rule_problems_only(m, prepared.ids, combos))
    expansion = _build(m, prepared, combos)
    if not expansion.jobs and expansion.warnings:
        # Every combination skipped: a run would "succeed" having made nothing.
        raise ManifestError(expansion.warnings + [Problem(
            m.display, m.line("on_invalid"), "on_invalid: skip left no job to run: the model "
            "refuses every combination (why is said above); change the matrix or defaults")])
    return expansion


def rule_problems_only(m: Manifest, ids: list[str], combos: list[dict[str, Any]]) -> list[Problem]:
    """The model-rule problems of every (prompt, combination), as `_build` reports them,
    without building jobs (which needs every name and file to resolve)."""
    if m.on_invalid == "skip":
        return []  # broken combinations are skipped, not problems
    show_combo = bool(m.axes) or bool(m.include)
    problems = []
    for spec, pid in zip(m.prompts, ids):
        for number, combo in enumerate(combos, 1):
            model = m.models.by_id[combo.get(MODEL, m.model)]
            params = {**_params(model, m.defaults, combo),
                      **{k: v for k, v in spec.fields.items() if k in model.params}}
            for rule in model.rule_problems(params):
                file, line = _source_of(rule.field, spec, m)
                problems.append(Problem(file, line, rule.message,
                                        job=_label(pid, number, combo, params, show_combo)))
    return problems


# --- combinations and the job limit ----------------------------------------------------

def _checked_combinations(m: Manifest, limit: int) -> list[dict[str, Any]]:
    per_combination = sum(spec.samples or m.samples for spec in m.prompts)
    upper = _product(m.axes.values()) + sum(
        _product(v for a, v in m.axes.items() if a not in entry) for entry in m.include)
    if upper * per_combination <= limit:
        return combinations(m)
    if upper <= 10 * limit:  # small enough to count exactly: exclude may bring it under
        combos = combinations(m)
        if len(combos) * per_combination <= limit:
            return combos
        upper = len(combos)
    count = upper * per_combination
    if m.samples > 1 and m.doc is not None and "samples" in m.doc:
        line = m.line("samples")
    elif m.axes:
        line = m.line("matrix")
    else:
        line = m.line("prompts")
    raise ManifestError([Problem(m.display, line, (
        f"this manifest expands to {count:,} jobs, more than the limit of {limit:,}; "
        f"if that is intended, raise the limit with `max_jobs: {count}` in the manifest "
        f"or --max-jobs {count}"))])


def _product(lists: Iterable[list[Any]]) -> int:
    return math.prod(len(v) for v in lists)


def combinations(m: Manifest) -> list[dict[str, Any]]:
    """The matrix's combinations in order: the product minus `exclude`, then `include`.

    `exclude` drops a combination when every key of an entry matches (a model parameter
    that is not an axis matches its value from `defaults`). `include` entries are added
    after exclusion, so an explicit include always runs; axes an entry does not name
    take each of their values.
    """
    defaults = {**m.models.default.defaults(), **m.defaults, MODEL: m.model}
    names = list(m.axes)
    result: list[dict[str, Any]] = []
    seen: set[frozenset[tuple[str, Any]]] = set()
    for values in itertools.product(*m.axes.values()):
        combo = dict(zip(names, values))
        if any(all(combo.get(k, defaults.get(k)) == v for k, v in entry.items())
               for entry in m.exclude):
            continue
        _add(combo, result, seen)
    for entry in m.include:
        free = [a for a in names if a not in entry]
        for values in itertools.product(*(m.axes[a] for a in free)):
            combo = {a: entry[a] if a in entry else values[free.index(a)] for a in names}
            combo.update((k, v) for k, v in entry.items() if k not in combo)
            _add(combo, result, seen)
    return result


def _add(combo: dict[str, Any], result: list[dict[str, Any]],
         seen: set[frozenset[tuple[str, Any]]]) -> None:
    marker = frozenset((k, (type(v), v)) for k, v in combo.items())
    if marker not in seen:
        seen.add(marker)
        result.append(combo)


# --- jobs ------------------------------------------------------------------------------

@dataclass
class _Body:
    """What every job with the same parameters shares (and the same frame folder)."""

    params: dict[str, Any]
    rules: tuple[RuleProblem, ...]  # model rules the parameters break
    frames: dict[str, LocalFrame]
    head: str  # canonical JSON of the identity body before "prompt"...
    tail: str  # ...and after it (keys sort around "prompt")


@dataclass
class _Variant:
    """What every job of one combination shares, for prompts that set the same fields."""

    body: _Body
    file_values: dict[str, str]  # filename placeholders that are parameters or variables


def _build(m: Manifest, prepared: Prepared, combos: list[dict[str, Any]]) -> Expansion:
    # The loops below run once per job (100,000 of them in 0.5 s), so what does not
    # depend on the job is computed once per prompt, per combination or per variant,
    # and lookups are by position rather than by composite key.
    params_names = set(m.models.params)
    fname = prepared.filename
    render_file = fname.renderer()
    with_slug = "slug" in fname.names
    file_names = [n for n in fname.names if n not in templates.JOB_FIELDS]
    skip = m.on_invalid == "skip"
    problems: list[Problem] = []
    warnings: list[Problem] = []
    jobs: list[Job] = []
    keys: set[str] = set()
    files: dict[str, Job] = {}
    collisions: list[tuple[Job, Job]] = []
    show_combo = bool(m.axes) or bool(m.include)
    combo_models = [m.models.by_id[c.get(MODEL, m.model)] for c in combos]
    model_json = {model.id: canonical_json(model.id) for model in m.models.models}
    model_safe = {model.id: _safe(model.id) for model in m.models.models}
    # Combinations differing only in prompt variables get one parameters dict, so
    # bodies are built per distinct (model, parameter set), not per combination.
    distinct: dict[str, dict[str, Any]] = {}
    combo_params = [distinct.setdefault(canonical_json([model.id, p]), p) for model, p in (
        (model, _params(model, m.defaults, c)) for model, c in zip(combo_models, combos))]
    bodies: dict[Any, _Body] = {}
    combo_text = [{k: templates.plain(v) for k, v in c.items() if k not in params_names and k != MODEL}
                  for c in combos]
    # Prompts with the same own fields (and folder, for frames) share their variants;
    # prompts using the same variables share the variables' dicts. Both by combination.
    variant_tables: dict[tuple[Any, ...], list[_Variant | None]] = {}
    variable_tables: dict[tuple[str, ...], list[dict[str, str] | None]] = {}
    prompt_checked: dict[str, dict[str, str | None]] = {model.id: {} for model in m.models.models}
    # The distinct (parameters, variables, model) of the jobs, in job order: the axes' values.
    occurring: dict[tuple[int, int], tuple[dict[str, Any], dict[str, str], str]] = {}

    for index, (spec, template, pid) in enumerate(zip(m.prompts, prepared.prompts, prepared.ids), 1):
        sample_numbers = range(1, (spec.samples or m.samples) + 1)
        used = template.names
        render_prompt = template.renderer() if used else None
        fields = tuple(sorted(spec.fields.items()))
        safe_id = _safe(pid)
        table = variant_tables.setdefault((spec.base, fields) if fields else (),
                                          [None] * len(combos))
        picked = variable_tables.setdefault(used, [None] * len(combos))
        for number, combo in enumerate(combos, 1):
            model = combo_models[number - 1]
            variant = table[number - 1]
            if variant is None:
                shared = combo_params[number - 1]
                body_key = (spec.base, fields, id(shared)) if fields else id(shared)
                body = bodies.get(body_key)
                if body is None:
                    own = {k: v for k, v in spec.fields.items() if k in model.params}
                    body = bodies[body_key] = _body({**shared, **own} if own else shared,
                                                    spec, m, prepared.frames, model)
                variant = table[number - 1] = _Variant(body, _file_values(
                    body.params, combo_text[number - 1], file_names))
            body = variant.body
            if body.rules:
                label = _label(pid, number, combo, body.params, show_combo)
                for rule in body.rules:
                    file, line = _source_of(rule.field, spec, m)
                    (warnings if skip else problems).append(Problem(
                        file, line, f"skipped: {rule.message}" if skip else rule.message, job=label))
                if skip:
                    continue
            variables = picked[number - 1]
            if variables is None:
                texts = combo_text[number - 1]
                variables = picked[number - 1] = {n: texts[n] for n in used}
            text = render_prompt(variables) if render_prompt else spec.text
            checked = prompt_checked[model.id]
            problem = checked.get(text, "")
            if problem == "":
                problem = checked[text] = model.prompt_problem(text)
                if problem:
                    label = _label(pid, number, combo, body.params, show_combo and bool(used))
                    problems.append(Problem(spec.file, spec.line, problem, job=label))
            if problem or body.rules:
                continue
            # The identity body serialized once for every sample (see jobs.identity_json).
            identity = identity_json(model_json[model.id],
                                     f"{body.head}{_JSON_TEXT(text)}{body.tail}")
            request = identity_hash(identity)
            for sample in sample_numbers:
                key = identity_hash(identity, sample)
                if key in keys:
                    continue  # an identical job came first: merged
                keys.add(key)
                values = dict(variant.file_values, id=safe_id, index=index, sample=sample, key=key,
                              model=model_safe[model.id])
                if with_slug:
                    values["slug"] = _slug(text)
                # Positional, in Job's field order: 40 % faster than keywords here.
                job = Job(key, pid, index, sample, model.id, text, body.params, body.frames,
                          variables, render_file(values), spec.file, spec.line, request)
                first = files.setdefault(job.filename.casefold(), job)
                if first is not job:
                    collisions.append((first, job))
                jobs.append(job)
                occurring[id(body.params), id(variables)] = (body.params, variables, model.id)
    problems += _collision_problems(m, fname, collisions, list(dict.fromkeys(
        [*m.axes, *(k for entry in m.include for k in entry)])))
    if problems:
        raise ManifestError(problems)
    frames_by_hash = {f.sha256: f for f in prepared.frames.values() if f is not None}
    return Expansion(jobs, frames_by_hash, _axes(m, list(occurring.values()), combos),
                     warnings)


_JSON_TEXT = json.encoder.encode_basestring  # canonical_json of a str (ensure_ascii=False)


def _params(model: Model, defaults: dict[str, Any], combo: dict[str, Any]) -> dict[str, Any]:
    """A combination's parameters for its model: the model's defaults, the manifest's
    `defaults`, then the combination's values, each only where the model has it."""
    own = model.params
    return {**model.defaults(), **{k: v for k, v in defaults.items() if k in own},
            **{k: v for k, v in combo.items() if k in own}}


def _body(params: dict[str, Any], spec: PromptSpec, m: Manifest,
          known: dict[tuple[Path, str], LocalFrame | None], model: Model) -> _Body:
    frames: dict[str, LocalFrame] = {}
    identity = dict(params)
    for name in model.asset_params:
        if name in params:
            frame_base = spec.base if name in spec.fields else m.base
            frame = known.get((frame_base, params[name]))
            if frame is not None:
                frames[name] = frame
                identity[name] = frame.identity
    head = [f"{_JSON_TEXT(k)}:{canonical_json(v)}" for k, v in sorted(identity.items()) if k < "prompt"]
    tail = [f"{_JSON_TEXT(k)}:{canonical_json(v)}" for k, v in sorted(identity.items()) if k > "prompt"]
    return _Body(params=params, rules=model.rule_problems(params), frames=frames,
                 head="{" + "".join(h + "," for h in head) + '"prompt":',
                 tail="".join("," + t for t in tail) + "}")


def _file_values(params: dict[str, Any], texts: dict[str, str], names: list[str]) -> dict[str, str]:
    return {n: _safe(params[n]) if n in params else _safe(texts.get(n, "")) for n in names}


def _source_of(name: str | None, spec: PromptSpec, m: Manifest) -> tuple[str, int | None]:
    """Where the value of parameter `name` is written, for a problem's file:line: the
    prompt's own field, else the matrix axis, else the defaults, else the prompt."""
    if name in spec.fields:
        return spec.file, spec.lines.get(name, spec.line)
    if name in m.axes:
        return m.display, m.line("matrix", name)
    if name in m.defaults:
        return m.display, m.line("defaults", name)
    return spec.file, spec.line


def _label(pid: str, number: int, combo: dict[str, Any], params: dict[str, Any], show: bool) -> str:
    """How problems name a (prompt, combination): `knight #3 (resolution=540p, hdr=true)`."""
    if not show:
        return pid
    return job_label(pid, number, {k: params.get(k, v) for k, v in combo.items()})


@lru_cache(maxsize=65536)
def _safe(value: Any) -> str:
    return templates.safe(value)


@lru_cache(maxsize=65536)
def _slug(text: str) -> str:
    return templates.slug(text)


def _collision_problems(m: Manifest, template: templates.Template,
                        collisions: list[tuple[Job, Job]], swept: list[str]) -> list[Problem]:
    def label(job: Job) -> str:
        return job_label(job.id, job.sample, job.swept(swept))

    line = m.line("filename")
    problems = [Problem(m.display, line, (
        f"{label(first)} and {label(second)} would both write {second.filename}"
        + (" (names differing only in letter case collide on many systems)"
           if first.filename != second.filename else "")
        + f"; add {{sample}}, {{key}} or a swept parameter to the filename template "
          f"'{template.text}'"))
        for first, second in collisions[:MAX_COLLISIONS_SHOWN]]
    if len(collisions) > MAX_COLLISIONS_SHOWN:
        problems.append(Problem(m.display, line, f"{len(collisions) - MAX_COLLISIONS_SHOWN:,} more "
                                "jobs would overwrite another job's file"))
    return problems


def _axes(m: Manifest, occurring: list[tuple[dict[str, Any], dict[str, str], str]],
          combos: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The swept axes with the values that actually occur, in the order the matrix gives.

    `occurring` holds the distinct (parameters, variables, model) of the jobs, in job
    order. Prompt variables are given as text, as in `Job.variables`.
    """
    params = set(m.models.params)
    names = dict.fromkeys(list(m.axes) + [k for c in combos for k in c])
    axes: dict[str, list[Any]] = {}
    for name in names:
        if name == MODEL:
            seen = dict.fromkeys(model for _, _, model in occurring)
            declared = list(m.axes.get(name, []))
        elif name in params:
            seen = dict.fromkeys(p.get(name) for p, _, _ in occurring)
            declared = list(m.axes.get(name, []))
        else:
            seen = dict.fromkeys(v.get(name) for _, v, _ in occurring)
            declared = [templates.plain(v) for v in m.axes.get(name, [])]
        seen.pop(None, None)
        axes[name] = [v for v in dict.fromkeys(declared) if v in seen] + \
            [v for v in seen if v not in declared]
    return axes
