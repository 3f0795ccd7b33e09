"""Every name a manifest uses must resolve, checked before anything is expanded.

Prompt variables and `{placeholders}`, prompt ids, the keys `include`/`exclude` name,
the filename template, and the frame images the manifest points at.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchgen.manifest import templates
from batchgen.errors import Problem
from batchgen.jobs import MODEL, LocalFrame
from batchgen.manifest.document import FrameReader, Manifest, PromptSpec

RESERVED = set(templates.JOB_FIELDS) | {"prompt", "samples", "exclude", "include"}
_BRACED = re.compile(r"\{([^{}]*)")  # what follows an opening brace, closed or not
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass
class Prepared:
    """What the checks produced: parsed templates, prompt ids, local frames."""

    prompts: list[templates.Template]
    ids: list[str]
    filename: templates.Template
    frames: dict[tuple[Path, str], LocalFrame | None]


def prepare(m: Manifest) -> tuple[Prepared, list[Problem]]:
    """Parse every template and resolve every name and file; the problems found, all of them."""
    problems: list[Problem] = []
    params = set(m.models.params)
    variables = [a for a in m.axes if a not in params and a != MODEL]
    for name in variables:
        if not templates.NAME.match(name) or name in RESERVED:
            why = ("is reserved" if name in RESERVED else
                   "can only hold letters, digits, _ and -")
            problems.append(Problem(m.display, m.line("matrix", name),
                                    f"the matrix key '{name}' is not a model parameter, so it is a "
                                    f"prompt variable, and a variable name {why}"))
    ids = _prompt_ids(m, problems)
    parsed, used = [], set()
    for spec, pid in zip(m.prompts, ids):
        try:
            template = templates.parse(spec.text)
        except templates.TemplateError as exc:
            problems.append(Problem(spec.file, spec.line, str(exc), job=pid))
            template = templates.Template(spec.text, (spec.text,))
            used.update(_names_in_braces(spec.text))
        for name in template.names:
            used.add(name)
            if name not in variables:
                problems.append(Problem(spec.file, spec.line, _no_value(name, params), job=pid))
        parsed.append(template)
    for name in variables:
        if name not in used:
            close = difflib.get_close_matches(name, m.models.params, n=1, cutoff=0.7)
            fix = (f"did you mean the model parameter '{close[0]}'?" if close else
                   f"write {{{name}}} in a prompt, or remove it")
            problems.append(Problem(m.display, m.line("matrix", name),
                                    f"the matrix variable '{name}' is not used by any prompt; {fix}"))
    for kind, entries in (("exclude", m.exclude), ("include", m.include)):
        for i, entry in enumerate(entries):
            for key in entry:
                if key not in m.axes and key not in params and key != MODEL:
                    problems.append(Problem(m.display, m.line("matrix", kind, i, key),
                                            f"{kind} names '{key}', which is neither a matrix axis "
                                            "nor a model parameter"))
    filename = _filename_template(m, set(variables) | params, problems)
    frames = _frames(m, problems)
    return Prepared(parsed, ids, filename, frames), problems


def _names_in_braces(text: str) -> set[str]:
    """Every name written inside braces, however malformed the placeholder.

    A prompt whose template is broken counts these as used, so `{style[0]}`, `{ style }`
    or an unclosed `{style` is reported once, not again as "'style' is not used".
    """
    return {word for inner in _BRACED.findall(text) for word in _WORD.findall(inner)}


def _no_value(name: str, params: set[str]) -> str:
    if name in params:
        return (f"the placeholder {{{name}}} names a model parameter; prompts can only use "
                "matrix variables (write {{" f"{name}" "}} for literal braces)")
    return (f"the placeholder {{{name}}} has no value: add '{name}' to the matrix as a prompt "
            "variable, or write {{" f"{name}" "}} for literal braces")


def _prompt_ids(m: Manifest, problems: list[Problem]) -> list[str]:
    ids: list[str] = []
    first: dict[str, PromptSpec] = {}
    for index, spec in enumerate(m.prompts, 1):
        pid = spec.id if spec.id is not None else f"prompt-{index}"
        if pid in first:
            other = first[pid]
            where = f"line {other.line}" if other.file == spec.file else f"{other.file}:{other.line}"
            problems.append(Problem(spec.file, spec.lines.get("id", spec.line),
                                    f"the id '{pid}' is already used by the prompt on {where}; "
                                    "ids must be unique", job=None))
        first.setdefault(pid, spec)
        ids.append(pid)
    return ids


def _filename_template(m: Manifest, names: set[str], problems: list[Problem]) -> templates.Template:
    text = m.filename or templates.DEFAULT_FILENAME
    line = m.line("filename")
    try:
        template = templates.parse(text)
    except templates.TemplateError as exc:
        problems.append(Problem(m.display, line, f"filename: {exc}"))
        return templates.parse(templates.DEFAULT_FILENAME)
    known = set(templates.JOB_FIELDS) | names
    for name in template.names:
        if name not in known:
            problems.append(Problem(m.display, line, (
                f"the filename placeholder {{{name}}} has no value; use {{id}}, {{index}}, "
                "{sample}, {key}, {slug}, {model}, a model parameter or a matrix variable")))
    escape = templates.filename_problem(template)
    if escape:
        problems.append(Problem(m.display, line, escape))
    return template


def _frames(m: Manifest, problems: list[Problem]) -> dict[tuple[Path, str], LocalFrame | None]:
    reader = FrameReader(m.base)
    found: dict[tuple[Path, str], LocalFrame | None] = {}

    def visit(value: Any, base: Path, name: str, file: str, line: int | None) -> None:
        if (base, value) in found:
            return
        result = reader.read(value, base, name, file, line)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            found[(base, value)] = result

    for name in m.models.asset_params:
        if name in m.defaults:
            visit(m.defaults[name], m.base, name, m.display, m.line("defaults", name))
        for i, value in enumerate(m.axes.get(name, [])):
            visit(value, m.base, name, m.display, m.line("matrix", name, i))
        for i, entry in enumerate(m.include):
            if name in entry:
                visit(entry[name], m.base, name, m.display, m.line("matrix", "include", i, name))
        for spec in m.prompts:
            if name in spec.fields:
                visit(spec.fields[name], spec.base, name, spec.file, spec.lines.get(name, spec.line))
    return found
