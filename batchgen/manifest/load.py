"""Loading a manifest: file -> checked, expanded, validated `Batch`, or every problem.

    load_batch(path) = read_manifest (shape, CSV files, frames)
                       -> expand (names, job limit, combinations, model rules, file names)

Problems are collected in stages: the document's shape first (nothing else can be
trusted while it is wrong); past it, names, files and placeholders, the job limit and
the combinations against the model's rules are all reported together.
Nothing is written anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchgen.durable import paused_gc
from batchgen.errors import ManifestError, Problem
from batchgen.manifest.expand import DEFAULT_MAX_JOBS, expand
from batchgen.jobs import Job, LocalFrame
from batchgen.manifest.document import display_path, read_manifest
from batchgen.models.catalog import ModelSet
from batchgen.manifest.owned import owned_problems

__all__ = ["Batch", "DEFAULT_MAX_JOBS", "load_batch"]

MAX_PROBLEMS = 50  # a manifest broken 100,000 ways is reported as its first 50 problems


@dataclass
class Batch:
    """A validated manifest, expanded into the jobs to run."""

    name: str
    model: str  # the manifest's `model:` (each job has its own, see `models`)
    models: ModelSet  # every model the jobs use, with their schemas
    source: Path  # the manifest file
    output: Path  # absolute output folder
    jobs: list[Job]  # expansion order, merged duplicates removed
    frames: dict[str, LocalFrame]  # local images to upload, by sha256
    axes: dict[str, list[Any]]  # swept matrix axes and the values that occur
    warnings: list[Problem] = field(default_factory=list)  # e.g. combinations skipped
    inputs: tuple[Path, ...] = ()  # every file the manifest reads: itself, CSV files, frames
    reuse: bool = False  # the manifest's `reuse: true` (run --reuse)

    @property
    def display(self) -> str:
        """The manifest's path as messages show it."""
        return display_path(self.source)


def load_batch(path: str | os.PathLike[str], *, max_jobs: int | None = None) -> Batch:
    """Read, expand and validate a manifest (YAML or CSV); raise ManifestError with every problem.

    `max_jobs` (e.g. from --max-jobs) overrides the manifest's `max_jobs:`; without
    either the limit is 100,000 jobs.
    """
    try:
        with paused_gc():
            manifest = read_manifest(path)
            expansion = expand(manifest, max_jobs=max_jobs)
            inputs = tuple(dict.fromkeys([manifest.source,
                                          *(Path(p.file).absolute() for p in manifest.prompts),
                                          *(f.path for f in expansion.frames.values())]))
            problems = owned_problems(expansion.jobs, manifest.output, inputs,
                                      manifest.display, manifest.line("filename"))
            if problems:
                raise ManifestError(problems)
    except ManifestError as exc:
        if len(exc.problems) <= MAX_PROBLEMS:
            raise
        rest = len(exc.problems) - MAX_PROBLEMS
        raise ManifestError(exc.problems[:MAX_PROBLEMS] + [Problem(
            exc.problems[MAX_PROBLEMS].file, None,
            f"... and {rest:,} more problems; fix the ones above first")]) from None
    return Batch(name=manifest.name, model=manifest.model, models=manifest.models,
                 source=manifest.source,
                 output=manifest.output, jobs=expansion.jobs, frames=expansion.frames,
                 axes=expansion.axes, warnings=expansion.warnings, inputs=inputs,
                 reuse=manifest.reuse)
