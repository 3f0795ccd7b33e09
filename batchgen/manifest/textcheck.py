"""Characters a manifest's text may hold: what it says is what a terminal shows.

A YAML escape (`"\\e[31m"`) or a CSV cell can carry control characters that a terminal
acts on when batchgen echoes a prompt or id (colours, a changed window title, a cleared
screen). So every string of a manifest or CSV file (keys, values, names of files) may
hold visible text, spaces, newlines and tabs only. (A prompt of only invisible characters
is the model's check: models/model.py, on the prompt as rendered.)
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterator

from batchgen.errors import Problem
from batchgen.manifest.yamlsafe import line_of

# C0 but tab and newline, DEL, C1, and the bidirectional overrides/isolates that reorder
# what a terminal shows (a prompt could read differently from what is sent).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMES = {"\t": "TAB", "\x1b": "ESC", "\x07": "BEL", "\r": "CR", "\x7f": "DEL"}


def character_problems(doc: Any, display: str) -> list[Problem]:
    """A problem for each string of `doc` (a LineDict tree) holding a control character."""
    problems = []
    for text, line, where in _strings(doc, getattr(doc, "line", None), ""):
        found = _CONTROL.search(text)
        if found:
            problems.append(Problem(display, line, f"{where} contains the control character "
                                    f"{_name(found.group())}; a manifest holds visible text, "
                                    "spaces, tabs and newlines only (a terminal would act on it)"))
    return problems


def _name(char: str) -> str:
    code = f"U+{ord(char):04X}"
    name = _NAMES.get(char) or unicodedata.name(char, "")
    return f"{code} ({name})" if name else code


def _strings(node: Any, line: int | None, key: Any = None, in_list: bool = False
             ) -> Iterator[tuple[str, int | None, str]]:
    """Every string of the tree with its line and what it is, as a message names it: a
    prompt is a `prompt:` value or a plain item of `prompts:`."""
    if isinstance(node, str):
        prompt = key == "prompt" or (key == "prompts" and in_list)
        yield node, line, "the prompt" if prompt else (f"'{key}'" if key else "this value")
    elif isinstance(node, dict):
        for name, value in node.items():
            at = line_of(node, name) or line
            if isinstance(name, str):
                yield name, at, f"the key '{name[:40]}'"
            yield from _strings(value, at, name)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, line_of(node, i) or line, key, True)
