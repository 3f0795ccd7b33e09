"""Where models come from: the schemas batchgen ships, and `models/` beside a manifest.

A model is one file named after its id, `<model-id>.schema.json` (see `model.py` for
what it holds). batchgen ships `schemas/models/model_luma-ray-3-2.schema.json`; a
manifest may use any other model by putting `models/<model-id>.schema.json` in its own
folder (that file wins over a shipped one of the same id). No code changes: the
manifest, the simulator, estimates and `schema check` all read the file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from batchgen.errors import Problem, UsageError
from batchgen import inputfile
from batchgen.models.check import checked, where
from batchgen.models.model import Model
from batchgen.models.schema import manifest_validator, schemas_folder

DEFAULT_MODEL = "model_luma-ray-3-2"
SUFFIX = ".schema.json"
FOLDER = "models"  # beside a manifest; also the shipped schemas' sub-folder
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")  # it goes into a URL path


@lru_cache(maxsize=None)
def shipped() -> dict[str, Model]:
    """The models batchgen ships, by id (parsed once per process)."""
    found = {}
    for entry in sorted(schemas_folder().joinpath(FOLDER).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(SUFFIX):
            model_id = entry.name[:-len(SUFFIX)]
            found[model_id] = Model(model_id, json.loads(entry.read_text(encoding="utf-8")),
                                    f"schemas/{FOLDER}/{entry.name}")
    return found


def local_ids(folder: Path | None) -> list[str]:
    """The ids of the model files in `<folder>/models/` (not read yet)."""
    where = Path(folder) / FOLDER if folder is not None else None
    if where is None or not where.is_dir():
        return []
    return sorted(p.name[:-len(SUFFIX)] for p in where.iterdir()
                  if p.name.endswith(SUFFIX) and MODEL_ID.match(p.name[:-len(SUFFIX)]))


def known_ids(folder: Path | None) -> list[str]:
    """Every model id a manifest in `folder` may name: its own models, then the shipped."""
    return list(dict.fromkeys([*local_ids(folder), *shipped()]))


def find(model_id: str, folder: Path | None = None) -> tuple[Model | None, list[Problem]]:
    """The model `model_id` as a manifest in `folder` sees it, or the problems why not.

    `<folder>/models/<id>.schema.json` comes first, then the shipped schemas.
    """
    if folder is not None and model_id in local_ids(folder):
        return read(Path(folder) / FOLDER / f"{model_id}{SUFFIX}")
    if model_id in shipped():
        return shipped()[model_id], []
    return None, [Problem(FOLDER, None, unknown_message(model_id, folder))]


def unknown_message(model_id: str, folder: Path | None) -> str:
    """The sentence for a model id nothing describes."""
    return (f"no schema for the model {model_id}: known models are "
            f"{', '.join(known_ids(folder))}; to use another, put its request-body schema in "
            f"{FOLDER}/{model_id}{SUFFIX} beside the manifest")


def read(path: Path, display: str | None = None) -> tuple[Model | None, list[Problem]]:
    """A model file, checked: JSON, a valid draft 2020-12 schema, and the shape batchgen
    relies on (check.py: an object body with a string `prompt`, usable defaults, enums,
    annotations and x-price, references only within the file). The problems name the file."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    shown = display or _shown(path)
    model_id = path.name[:-len(SUFFIX)]

    def problem(line: int | None, text: str) -> tuple[None, list[Problem]]:
        return None, [Problem(shown, line, text)]

    data, problems = inputfile.read_bytes(path, shown, None, path.name, what="model schema",
                                          limit=inputfile.MAX_TEXT_BYTES)
    if data is None:
        return None, problems
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return problem(None, f"the model schema cannot be read ({exc})")
    try:
        schema = json.loads(text)
    except ValueError as exc:
        return problem(getattr(exc, "lineno", None), f"the model schema is not valid JSON ({exc})")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        at = f"{where(exc.path)}: " if exc.path else ""
        return problem(None, f"{at}the model schema is not a valid JSON Schema: {exc.message}")
    schema, shape = checked(schema)
    if shape:
        return problem(None, shape)
    return Model(model_id, schema, shown), []


@dataclass(frozen=True, eq=False)
class ModelSet:
    """The models one manifest uses; the first is its `model:` (the default)."""

    models: tuple[Model, ...]

    @property
    def default(self) -> Model:
        return self.models[0]

    @cached_property
    def by_id(self) -> dict[str, Model]:
        return {m.id: m for m in self.models}

    @cached_property
    def params(self) -> tuple[str, ...]:
        """Every parameter of any of the models, in schema order."""
        return tuple(dict.fromkeys(n for m in self.models for n in m.params))

    @cached_property
    def asset_params(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for m in self.models for n in m.asset_params))

    def param_type(self, name: str) -> str:
        """The type of `name` in the first model that has it."""
        return next(m.param_type(name) for m in self.models if name in m.params)

    @property
    def prompt_max(self) -> int:
        return max(m.prompt_limits[1] for m in self.models)

    def validator(self, pointer: str = "") -> Any:
        """The manifest validator for these models (see schema.manifest_validator)."""
        return manifest_validator(self.models, pointer)


def default_set() -> ModelSet:
    """The shipped default model alone (what a manifest that names no model uses)."""
    return _default_set()


@lru_cache(maxsize=None)
def _default_set() -> ModelSet:
    return ModelSet((shipped()[DEFAULT_MODEL],))


def models_in(folder: Path) -> dict[str, Model]:
    """The models of `<folder>/models/` (or of `folder` itself when it is that models
    folder), for `batchgen simulate --models`; UsageError naming a bad file."""
    base = folder.parent if folder.name == FOLDER else folder
    found = {}
    for model_id in local_ids(base):
        model, problems = find(model_id, base)
        if model is None:
            raise UsageError("; ".join(str(p) for p in problems))
        found[model_id] = model
    return found


def _shown(path: Path) -> str:
    try:
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except ValueError:
        return str(path)
