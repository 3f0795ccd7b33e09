"""Reading a manifest (YAML or CSV) into a checked `Manifest`, every problem located.

This stage finds the models the manifest names (models/catalog.py), checks the
document's shape against schemas/manifest.schema.json completed with those models'
parameters, reads the CSV files it names and the frame images it points at. How prompts and the matrix turn
into jobs is expand.py's business.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from batchgen import inputfile
from batchgen.manifest import csvfile
from batchgen.models import catalog
from batchgen.models.catalog import ModelSet
from batchgen.models.schema import describe, unknown_keys
from batchgen.manifest.templates import safe
from batchgen.manifest.textcheck import character_problems
from batchgen.errors import ManifestError, Problem
from batchgen.jobs import LocalFrame
from batchgen.manifest.yamlsafe import LineDict, LineList, line_of, load_yaml

ASSET_PREFIX = "asset_"
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPEG; WebP checked apart


@dataclass(slots=True)
class PromptSpec:
    """One prompt as written: plain text, a mapping or a CSV row."""

    text: str
    id: str | None  # as the user wrote it
    fields: dict[str, Any]  # model parameters the prompt sets itself
    samples: int | None
    file: str  # display path of the file it is written in
    line: int | None
    base: Path  # folder its relative paths are resolved against
    lines: dict[str, int] = field(default_factory=dict)


@dataclass
class Manifest:
    """A manifest whose shape is valid: what expand.py needs, with lines for messages."""

    source: Path  # absolute
    display: str
    base: Path  # the manifest's folder (absolute, symlinks resolved)
    name: str
    model: str  # the default model's id
    models: ModelSet  # every model the manifest uses, the default first
    output: Path  # absolute
    filename: str | None
    defaults: dict[str, Any]
    prompts: list[PromptSpec]
    axes: dict[str, list[Any]]
    exclude: list[LineDict]
    include: list[LineDict]
    samples: int
    on_invalid: str
    max_jobs: int | None
    doc: LineDict | None = None  # None for a CSV manifest
    reuse: bool = False  # `reuse: true`: take results generated elsewhere (run --reuse)

    def line(self, *path: Any) -> int | None:
        """The line of a key path in the YAML document, e.g. line("matrix", "style")."""
        node: Any = self.doc
        line = getattr(node, "line", None)
        for key in path:
            if node is None:
                break
            line = line_of(node, key)
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                node = None
        return line


def display_path(path: Path) -> str:
    """How messages name a file: relative to the working folder when it is below it."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and shape-check a manifest file; raise ManifestError with every problem."""
    source = Path(path).absolute()
    display = display_path(source)
    data, problems = _read_bytes(source, display, None, display, what="manifest")
    if data is None:
        raise ManifestError(problems)
    text, problems = csvfile.decode_text(data, display)
    if text is None:
        raise ManifestError(problems)
    base = source.parent.resolve()
    if source.suffix.lower() == ".csv":
        return _csv_manifest(source, display, base, text)
    return _yaml_manifest(source, display, base, text)


def _csv_manifest(source: Path, display: str, base: Path, text: str) -> Manifest:
    models, problems = _models([(catalog.DEFAULT_MODEL, None)], display, base)
    if problems:
        raise ManifestError(problems)
    prompts, problems = _csv_prompts(text, display, base, models)
    if problems:
        raise ManifestError(problems)
    name = source.stem
    return Manifest(source, display, base, name, models.default.id, models, base / "out" / name,
                    None, {}, prompts, {}, [], [], 1, "error", None)


def _yaml_manifest(source: Path, display: str, base: Path, text: str) -> Manifest:
    doc = load_yaml(text, display)
    if not isinstance(doc, LineDict):
        kind = "empty" if doc is None else f"a {'list' if isinstance(doc, list) else 'single value'}"
        raise ManifestError([Problem(display, getattr(doc, "line", 1), (
            f"the manifest is {kind}; it must be a mapping with keys such as version: 1, name "
            "and prompts"))])
    models, problems = _models(_named_models(doc), display, base)
    view = _schema_view(doc)
    colons = _colon_prompts(view, display, models)
    problems = sorted(problems + list(colons.values()) + character_problems(doc, display) +
                      schema_problems(view, display, models.validator(), skip=set(colons)),
                      key=lambda p: p.line or 0)
    if problems:
        # The CSV files named can still be read and checked: report them in this round too.
        raise ManifestError(problems + _named_csv_problems(doc, display, base, models))
    prompts: list[PromptSpec] = []
    for i, entry in enumerate(doc["prompts"]):
        line = line_of(doc["prompts"], i)
        if isinstance(entry, str):
            prompts.append(PromptSpec(entry, None, {}, None, display, line, base))
        elif "csv" in entry:
            found, more = _csv_reference(entry["csv"], display, line, base, models)
            prompts += found
            problems += more
        else:
            prompts.append(_mapping_prompt(entry, display, base, models))
    if problems:
        raise ManifestError(problems)
    name = doc.get("name") or source.stem
    matrix = doc.get("matrix") or {}
    output = base / doc["output"] if "output" in doc else base / "out" / safe(name)
    return Manifest(
        source=source, display=display, base=base, name=name, model=models.default.id,
        models=models, output=Path(os.path.abspath(output)),
        filename=doc.get("filename"), defaults=dict(doc.get("defaults") or {}), prompts=prompts,
        axes={k: list(v) for k, v in matrix.items() if k not in ("exclude", "include")},
        exclude=list(matrix.get("exclude") or []), include=list(matrix.get("include") or []),
        samples=int(doc.get("samples", 1)), on_invalid=doc.get("on_invalid", "error"),
        max_jobs=int(doc["max_jobs"]) if "max_jobs" in doc else None, doc=doc,
        reuse=bool(doc.get("reuse", False)))


def _named_models(doc: LineDict) -> list[tuple[Any, int | None]]:
    """Every model id the document names, with its line: `model:` first, then the
    matrix's `model` axis and `include` entries. Without `model:`, the default model
    counts only when no axis sweeps the model (else no job would use it)."""
    matrix = doc.get("matrix") if isinstance(doc.get("matrix"), dict) else {}
    axis = matrix.get("model") if isinstance(matrix.get("model"), list) else None
    named: list[tuple[Any, int | None]] = []
    if "model" in doc:
        named.append((doc["model"], line_of(doc, "model")))
    elif axis is None:
        named.append((catalog.DEFAULT_MODEL, None))
    named += [(value, line_of(axis, i)) for i, value in enumerate(axis or [])]
    for entry in matrix.get("include") or []:
        if isinstance(entry, dict) and "model" in entry:
            named.append((entry["model"], line_of(entry, "model")))
    return named


def _models(named: list[tuple[Any, int | None]], display: str, base: Path
            ) -> tuple[ModelSet, list[Problem]]:
    """The models of these ids, found in the manifest's `models/` folder or shipped.

    An id no schema describes is a problem at its line; a value that is not a string
    is left to the schema check. With no usable model, the default one stands in so
    that the rest of the document can still be checked.
    """
    found: dict[str, Any] = {}
    problems: list[Problem] = []
    for model_id, line in named:
        if not isinstance(model_id, str) or model_id in found:
            continue
        model, why = catalog.find(model_id, base)
        if model is None and model_id not in catalog.local_ids(base):
            why = [Problem(display, line, catalog.unknown_message(model_id, base))]
        found[model_id] = model
        problems += why
    usable = tuple(m for m in found.values() if m is not None)
    return (ModelSet(usable) if usable else catalog.default_set()), problems


def _schema_view(doc: LineDict) -> LineDict:
    """The document as the schema needs to see it: plain-text prompts left out but one.

    A plain-text prompt is always valid; a list of 100,000 of them took seconds to run
    through the validator one by one. Lines stay aligned with the items kept.
    """
    prompts = doc.get("prompts")
    if not isinstance(prompts, LineList):
        return doc
    keep = [i for i, item in enumerate(prompts) if i == 0 or not isinstance(item, str)]
    kept = LineList(prompts[i] for i in keep)
    kept.line, kept.lines = prompts.line, [prompts.lines[i] for i in keep]
    view = LineDict(doc)
    view.line, view.lines = doc.line, doc.lines
    view["prompts"] = kept
    return view


def _colon_prompts(doc: LineDict, display: str, models: ModelSet) -> dict[tuple[str, int], Problem]:
    """Plain prompts that YAML read as a mapping because they contain ": ".

    `- Shot 1: a lighthouse` is the mapping {"Shot 1": "a lighthouse"}; saying so beats
    "unknown key 'Shot 1'". Keyed by the item's path, so its schema errors can be skipped.
    """
    prompts = doc.get("prompts")
    if not isinstance(prompts, list):
        return {}
    known = set(models.validator("/$defs/promptMapping").schema["properties"]) | {"csv"}
    found = {}
    for i, entry in enumerate(prompts):
        if isinstance(entry, dict) and len(entry) == 1 and not set(entry) & known:
            (key,) = entry
            shown = key if len(key) <= 30 else key[:27] + "..."
            found[("prompts", i)] = Problem(display, line_of(prompts, i), (
                f"this prompt was read as a mapping because of the colon after '{shown}'; "
                "put the whole prompt in quotes"))
    return found


def schema_problems(instance: Any, display: str, validator: Any,
                    skip: set[tuple[Any, ...]] = frozenset()) -> list[Problem]:
    """Every schema error as a located sentence, in line order (none under a `skip` path)."""
    problems = []
    for error in validator.iter_errors(instance):
        if tuple(error.path)[:2] in skip:
            continue
        container = _container(instance, error.path)
        if error.validator == "additionalProperties":
            for key, message in unknown_keys(error):
                problems.append(Problem(display, line_of(error.instance, key), message))
            continue
        path = list(error.path)
        line = line_of(container, path[-1]) if path else line_of(instance)
        problems.append(Problem(display, line, describe(error)))
    return sorted(problems, key=lambda p: p.line or 0)


def _container(root: Any, path: Any) -> Any:
    node = root
    for key in list(path)[:-1]:
        node = node[key]
    return node


def _mapping_prompt(entry: LineDict, file: str, base: Path, models: ModelSet) -> PromptSpec:
    params = models.params
    return PromptSpec(
        text=entry["prompt"], id=entry.get("id"),
        fields={k: v for k, v in entry.items() if k in params},
        samples=int(entry["samples"]) if "samples" in entry else None,
        file=file, line=entry.line, base=base, lines=dict(entry.lines))


def _named_csv_problems(doc: LineDict, display: str, base: Path, models: ModelSet
                        ) -> list[Problem]:
    """The problems of every CSV file a `csv:` entry names, in a document otherwise wrong."""
    prompts = doc.get("prompts")
    problems: list[Problem] = []
    for i, entry in enumerate(prompts if isinstance(prompts, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("csv"), str):
            problems += _csv_reference(entry["csv"], display, line_of(prompts, i), base,
                                       models)[1]
    return problems


def _csv_reference(value: str, file: str, line: int | None, base: Path, models: ModelSet
                   ) -> tuple[list[PromptSpec], list[Problem]]:
    path, reason = inside(base, base, value, "the CSV file")
    if path is None:
        return [], [Problem(file, line, reason)]
    display = display_path(path)
    data, problems = _read_bytes(path, file, line, value, what="CSV file")
    if data is None:
        return [], problems
    text, problems = csvfile.decode_text(data, display)
    if text is None:
        return [], problems
    return _csv_prompts(text, display, path.parent, models)


def _csv_prompts(text: str, display: str, base: Path, models: ModelSet
                 ) -> tuple[list[PromptSpec], list[Problem]]:
    rows, problems = csvfile.parse_rows(text, display, models)
    prompts = []
    for row in rows:
        if "prompt" not in row:
            problems.append(Problem(display, row.line, "the prompt cell of this row is empty"))
            continue
        characters = character_problems(row, display)
        if characters:
            problems += characters
            continue
        messages = [m for name, value in row.items() for m in _cell_messages(models, name, value)]
        if messages:
            problems += [Problem(display, row.line, message) for message in messages]
            continue
        prompts.append(_mapping_prompt(row, display, base, models))
    return prompts, problems


@lru_cache(maxsize=65536)
def _cell_messages(models: ModelSet, name: str, value: Any) -> tuple[str, ...]:
    """What the prompt-mapping schema says about one CSV cell (cached: cells repeat a lot)."""
    if name == "prompt":
        return ()  # any text; emptiness and length are checked once substituted
    row = {"prompt": "x", name: value}
    return tuple(describe(e) for e in models.validator("/$defs/promptMapping").iter_errors(row))


def _read_bytes(path: Path, file: str, line: int | None, shown: str, *, what: str
                ) -> tuple[bytes | None, list[Problem]]:
    limit = inputfile.MAX_IMAGE_BYTES if what.endswith("image") else inputfile.MAX_TEXT_BYTES
    return inputfile.read_bytes(path, file, line, shown, what=what, limit=limit)


def inside(root: Path, base: Path, value: str, what: str) -> tuple[Path | None, str]:
    """Resolve `value` against `base`; the file must be inside `root`, the manifest's folder.

    Symlinks are followed first, so a link pointing elsewhere counts as elsewhere: a
    manifest from someone else must not be able to upload or read any file it likes.
    """
    real = Path(os.path.realpath(base / value))
    if real != root and root not in real.parents:
        return None, (f"{what} {value} is outside the manifest's folder ({root}); files a "
                      "manifest uses must be in its folder or below it")
    return real, ""


class FrameReader:
    """Checks the local images a manifest names, hashing each file once."""

    def __init__(self, root: Path):
        self.root = root
        self.frames: dict[Path, LocalFrame] = {}

    def read(self, value: str, base: Path, field_name: str, file: str, line: int | None
             ) -> LocalFrame | Problem | None:
        """The LocalFrame for a frame value, None for an asset id, or the Problem with it."""
        if value.startswith(ASSET_PREFIX):
            return None
        path, reason = inside(self.root, base, value, f"the {field_name} image")
        if path is None:
            return Problem(file, line, reason)
        if path in self.frames:
            return self.frames[path]
        data, problems = _read_bytes(path, file, line, value, what=f"{field_name} image")
        if data is None:
            return problems[0]
        if not (data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")):
            return Problem(file, line, f"{field_name} {value} is not a PNG, JPEG or WebP image")
        frame = LocalFrame(path=path, sha256=hashlib.sha256(data).hexdigest(), display=value)
        self.frames[path] = frame
        return frame
