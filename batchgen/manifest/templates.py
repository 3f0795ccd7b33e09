"""`{placeholder}` templates (prompts and file names) and filesystem-safe names.

Substitution is plain text: `{name}` is replaced by a value, `{{` and `}}` are literal
braces, and anything else in braces (`{style.__class__}`, `{a[0]}`, `{}`) is an error.
We parse templates ourselves instead of using str.format, which would happily evaluate
attribute and index lookups.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Mapping

from batchgen.errors import TemplateError

DEFAULT_FILENAME = "{id}/{key}.mp4"
JOB_FIELDS = ("id", "index", "sample", "key", "slug", "model")  # filename placeholders every job has
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_UNSAFE = re.compile(r"[^\w.+=-]+")
_MAX_PART = 80
_SLUG_WORDS = 8


@dataclass(frozen=True)
class Template:  # not slotted: cached_property needs an instance dict
    """A parsed template: literal text and placeholder names, alternating."""

    text: str
    parts: tuple[str, ...]  # even positions literal text, odd positions placeholder names

    @property
    def names(self) -> tuple[str, ...]:
        return self.parts[1::2]

    @cached_property
    def _format(self) -> str:
        # A str.format string we build ourselves: the user's text is escaped, fields are
        # validated names, so format_map does plain substitution and nothing else.
        return "".join(p.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else "{" + p + "}"
                       for i, p in enumerate(self.parts))

    def render(self, values: Mapping[str, Any]) -> str:
        """Fill in every placeholder (each must be in `values`); booleans as true/false."""
        return self._format.format_map({name: plain(values[name]) for name in self.names})

    def renderer(self) -> Callable[[Mapping[str, str | int]], str]:
        """Like render, as one bound call taking values that are already text or whole
        numbers: the fast path, for loops that render a template per job."""
        return self._format.format_map


def parse(text: str) -> Template:
    """Parse a template, raising TemplateError with a sentence naming the bad part."""
    if "{" not in text and "}" not in text:
        return Template(text, (text,))
    parts: list[str] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "}":
            literal.append("}")
            i += 2 if text.startswith("}}", i) else 1
            continue
        if ch != "{":
            j = _next_brace(text, i)
            literal.append(text[i:j])
            i = j
            continue
        if text.startswith("{{", i):
            literal.append("{")
            i += 2
            continue
        end = text.find("}", i + 1)
        inner = text[i + 1:end] if end != -1 else None
        if inner is None or "{" in inner:
            fragment = text[i + 1:].split("{", 1)[0][:30]
            raise TemplateError(f"'{{{fragment}' has no closing brace; write {{{{ for a literal "
                                "brace or {name} for a variable")
        if not NAME.match(inner):
            raise TemplateError(f"'{{{inner}}}' is not a plain placeholder: write {{name}} with "
                                "letters, digits, _ or - only (no attribute or index access); "
                                "write {{ and }} for literal braces")
        parts.append("".join(literal))
        parts.append(inner)
        literal = []
        i = end + 1
    parts.append("".join(literal))
    return Template(text, tuple(parts))


def _next_brace(text: str, start: int) -> int:
    positions = [p for p in (text.find("{", start), text.find("}", start)) if p != -1]
    return min(positions) if positions else len(text)


def plain(value: Any) -> str:
    """A value as text: true/false for booleans, as written otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def safe(value: Any) -> str:
    """A value as one filesystem-safe path component, e.g. "16:9" -> "16-9"."""
    text = _UNSAFE.sub("-", unicodedata.normalize("NFC", plain(value))).strip(".-")
    return text[:_MAX_PART].rstrip(".-") or "_"


def slug(prompt: str) -> str:
    """A short form of a prompt for file names: its first words, lowercase, dash-joined."""
    words = re.findall(r"\w+", prompt.lower())[:_SLUG_WORDS]
    return safe("-".join(words))[:48].rstrip("-") or "_"


def filename_problem(template: Template) -> str | None:
    """Why files named by this template could land outside the output folder, or None.

    Placeholder values are made safe (no separators, no leading dots), so only the
    template's own text can escape; checking it once covers every job.
    """
    sample = template.render({name: "x" for name in template.names})
    if sample.startswith(("/", "~")) or "\\" in sample or re.match(r"[A-Za-z]:", sample):
        return (f"the filename template '{template.text}' would write outside the output folder; "
                "it must be a relative path such as {id}/{key}.mp4")
    parts = sample.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return (f"the filename template '{template.text}' would write outside the output folder "
                "or has an empty folder name; use plain folder names without . or ..")
    return None
