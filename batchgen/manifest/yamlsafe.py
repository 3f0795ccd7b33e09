"""Safe YAML with line numbers: plain data only, every key and item located.

PyYAML's composer gives a node graph with marks; we build the Python values ourselves so
that (1) only the standard scalar, list and mapping tags are accepted (no object
construction, no `!!python/...`, no custom `!tags`), (2) every mapping key and list item
keeps its line, (3) duplicate keys are errors instead of silently overwriting, and
(4) aliases cannot blow up: expanding them is budgeted, so a "billion laughs" document
is refused after a few thousand nodes instead of eating the machine.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from batchgen.errors import ManifestError, Problem

# Nodes that aliases may add on top of the document as written. Real manifests use
# anchors for a shared block or two; a bomb needs millions.
MAX_ALIAS_NODES = 10_000
MAX_DEPTH = 50

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null")}
# A plain scalar that looks like a date stays text: no manifest field is a date.
_TEXT_TAGS = {_STD + "timestamp"}

try:  # libyaml parses much faster; the pure-Python loader behaves the same
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader without YAML 1.1's base-60 numbers, so `16:9` stays the text "16:9"."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if not (tag in (_STD + "int", _STD + "float") and rx.match("16:9"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _STD + "int", re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"))
_Loader.add_implicit_resolver(
    _STD + "float", re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


class LineDict(dict):
    """A mapping read from YAML: `line` is where it starts, `lines[key]` where each key is."""

    line: int
    lines: dict[Any, int]


class LineList(list):
    """A list read from YAML: `line` is where it starts, `lines[i]` where item i is."""

    line: int
    lines: list[int]


def line_of(container: Any, key: Any = None) -> int | None:
    """The line of `key` in a LineDict/LineList, or of the container itself."""
    if key is not None:
        lines = getattr(container, "lines", None)
        if isinstance(lines, dict):
            return lines.get(key, getattr(container, "line", None))
        if isinstance(lines, list) and isinstance(key, int) and 0 <= key < len(lines):
            return lines[key]
    return getattr(container, "line", None)


def load_yaml(text: str, display: str) -> Any:
    """Parse one YAML document into plain dicts/lists/scalars, refusing anything unsafe.

    Raises ManifestError with every duplicate key, unknown tag and alias problem found,
    or with the syntax error that stopped the parser.
    """
    try:
        recursive = _scan_events(text, display)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ManifestError([Problem(display, mark.line + 1 if mark else None,
                                     _syntax_sentence(exc, _line_text(text, mark)))]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ManifestError([Problem(display, line, f"this is not valid YAML: the control "
                                     f"character U+{code:04X} is not allowed in a YAML file")]) from None
    except yaml.YAMLError as exc:
        raise ManifestError([Problem(display, None, f"this is not valid YAML: {exc}")]) from None
    if node is None:
        return None
    builder = _Builder(display)
    value = builder.build(node)
    problems = sorted(recursive + builder.problems, key=lambda p: p.line or 0)
    if problems:
        raise ManifestError(problems)
    return value


def _scan_events(text: str, display: str) -> list[Problem]:
    """Refuse absurd nesting before composing, and find recursive aliases.

    The composer recurses once per level, so depth is checked on the event stream. The
    composed graph no longer knows where an alias was written (an alias *is* its anchor's
    node there), so recursive aliases are found here too, to report the alias's own line.
    """
    problems: list[Problem] = []
    open_anchors: list[tuple[str | None, int]] = []  # one per open collection: anchor, line
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            open_anchors.append((event.anchor, event.start_mark.line + 1))
            if len(open_anchors) > MAX_DEPTH:
                raise ManifestError([Problem(
                    display, event.start_mark.line + 1,
                    f"values here are nested more than {MAX_DEPTH} levels deep; "
                    "a manifest needs only a few levels")])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            open_anchors.pop()
        elif isinstance(event, yaml.AliasEvent):
            anchor_line = next((line for anchor, line in reversed(open_anchors)
                                if anchor == event.anchor), None)
            if anchor_line is not None:
                problems.append(Problem(
                    display, event.start_mark.line + 1,
                    f"the alias *{event.anchor} refers to the value it is inside of (anchored as "
                    f"&{event.anchor} on line {anchor_line}); recursive YAML aliases are not "
                    "supported"))
    return problems


def _line_text(text: str, mark: yaml.Mark | None) -> str:
    if mark is None:
        return ""
    start = 0
    for _ in range(mark.line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    return text[start:end if end != -1 else len(text)][:200]


def _syntax_sentence(exc: yaml.MarkedYAMLError, line: str) -> str:
    problem = exc.problem or exc.context or "unreadable YAML"
    mark, context = exc.problem_mark, exc.context_mark
    if _tab_problem(exc, line):
        return ("this is not valid YAML: a tab character is used for indentation; YAML cannot "
                "be indented with tabs, use spaces instead")
    if "another document" in problem:
        return ("this file holds a second YAML document (after ---); a manifest is a single "
                "document")
    if "mapping values" in problem and mark is not None and mark.column > 1024:
        return ("this is not valid YAML: a key longer than 1024 characters (YAML's limit for "
                "keys written without quotes)")
    if "mapping values" in problem and ": " in line.strip().removeprefix("- "):
        return _colon_in_value(line)
    sentence = f"this is not valid YAML: {problem}"
    if exc.problem and exc.context and mark and context and context.line != mark.line:
        sentence += f" ({exc.context} on line {context.line + 1})"
    return sentence


def _colon_in_value(line: str) -> str:
    """`prompt: A knight: walks`: YAML reads the second `: ` as another key. Say so, and
    show the line as it should be written."""
    key, value = line.strip().removeprefix("- ").split(": ", 1)
    value = value.split(" #", 1)[0]  # a comment is not part of the value
    sentence = (f"the value of '{key[:40]}' contains ': ', which YAML reads as the start of "
                "another key; put the whole value in quotes")
    if len(line.strip()) <= 100:
        sentence += f": {key}: {json.dumps(value.strip(), ensure_ascii=False)}"
    return sentence


def _tab_problem(exc: yaml.MarkedYAMLError, line: str) -> bool:
    """Whether a tab caused this error: in the indentation, or where the parser stopped.

    libyaml reports a tab after `- ` or `? ` only as "found character that cannot start
    any token", so the character at the error's column is checked too.
    """
    mark, problem = exc.problem_mark, exc.problem or ""
    if ("\t" in line[:len(line) - len(line.lstrip())] or "'\\t'" in problem
            or re.search(r"\btab\b", problem)):
        return True
    return mark is not None and line[mark.column:mark.column + 1] == "\t"


class _Builder:
    def __init__(self, display: str):
        self.display = display
        self.problems: list[Problem] = []
        self.alias_nodes = 0
        self.seen: set[int] = set()  # nodes already built once: building them again is alias use
        self.sizes: dict[int, int] = {}
        self.scalars = yaml.constructor.SafeConstructor()

    def problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(self.display, node.start_mark.line + 1, message))

    def build(self, node: yaml.Node, path: tuple[int, ...] = ()) -> Any:
        if id(node) in path:  # a recursive alias: _scan_events reported it at the alias's line
            return None
        if id(node) in self.seen:
            self.alias_nodes += self._size(node, set())
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise ManifestError([Problem(
                    self.display, node.start_mark.line + 1,
                    f"aliases of the YAML anchor on this line expand to more than {MAX_ALIAS_NODES:,} "
                    "values; this looks like an alias bomb, so the file was refused")])
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path + (id(node),))
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path + (id(node),))
        return self._scalar(node)

    def _size(self, node: yaml.Node, stack: set[int]) -> int:
        if id(node) in self.sizes:
            return self.sizes[id(node)]
        if id(node) in stack:  # recursion is reported by build(); count it once here
            return 1
        stack.add(id(node))
        if isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._size(k, stack) + self._size(v, stack) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._size(v, stack) for v in node.value)
        else:
            size = 1
        stack.discard(id(node))
        self.sizes[id(node)] = size
        return size

    def _check_tag(self, node: yaml.Node, allowed: set[str]) -> bool:
        if node.tag in allowed:
            return True
        self.problem(node, f"the YAML tag {node.tag.replace(_STD, '!!')} is not allowed here; "
                     "manifests hold plain text, numbers, true/false, lists and mappings only")
        return False

    def _mapping(self, node: yaml.MappingNode, path: tuple[int, ...]) -> LineDict | None:
        if not self._check_tag(node, {_STD + "map"}):
            return None
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.lines = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STD + "merge":
                self.problem(key_node, "YAML merge keys (<<) are not supported; "
                             "write the keys out or use `defaults:`")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, "a mapping key must be plain text, not a list or mapping")
                continue
            if not self._check_tag(key_node, _SCALAR_TAGS | _TEXT_TAGS):
                continue
            key = key_node.value  # keys are names: `1:` or `yes:` mean the text as written
            if key in result.lines:
                self.problem(key_node, f"the key '{key}' appears twice in this mapping "
                             f"(first on line {result.lines[key]}); keep only one")
                continue
            result.lines[key] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, path)
        return result

    def _sequence(self, node: yaml.SequenceNode, path: tuple[int, ...]) -> LineList | None:
        if not self._check_tag(node, {_STD + "seq"}):
            return None
        result = LineList()
        result.line = node.start_mark.line + 1
        result.lines = []
        for item in node.value:
            result.lines.append(item.start_mark.line + 1)
            result.append(self.build(item, path))
        return result

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag in _TEXT_TAGS:
            return node.value
        if not self._check_tag(node, _SCALAR_TAGS):
            return None
        try:
            return self.scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.problem(node, f"cannot read the value '{node.value}': {exc}")
            return None
