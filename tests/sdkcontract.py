"""The request contract of the official SDK (scenario-sdk 2.4.0), read from its sources.

Endpoints (method and path) come from the resource classes in `scenario_sdk/resources/`:
each public method's source names its path (`"/jobs"`, `path_template("/jobs/{job_id}")`)
and its `*_params.*Params` TypedDict. Parameter names (aliases), required keys and
literal values come from those TypedDicts by introspection (`get_type_hints`), never
from a hand-copied list. The job list's combination rules are checked as the SDK's
docstrings state them, and `rule_texts_present` proves those sentences are still there.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Literal, Union, get_args, get_origin

import scenario_sdk.resources
import scenario_sdk.types.job_list_params as job_list_params

_CALL = re.compile(r'self\._(get|post|put|patch|delete|get_api_list)\(\s*(?:path_template\(\s*)?"(/[^"]*)"')
_PARAMS = re.compile(r"\b(\w+_params)\.(\w+Params)\b")
SORTED_BY_UPDATE = ("status", "type", "types", "workflowId")
# What the SDK documents of those rules (types/job_list_params.py), quoted to prove it still does.
RULE_TEXTS = ('Only allowed without "status", "type", "types" and "workflowId"',
              'Only allowed with "status", "type", "types" or "workflowId"')


@dataclass(frozen=True)
class Field:
    alias: str
    required: bool
    literals: frozenset[str] | None  # allowed values, when the type is a Literal
    is_list: bool  # a list, sent comma separated
    free: bool  # typed `object`: any JSON (generate's model inputs)


@dataclass(frozen=True)
class Endpoint:
    method: str
    pattern: str  # as the SDK writes it: /jobs/{job_id}
    fields: tuple[Field, ...]

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(self.pattern)) + "$")


def _unwrap(tp: Any) -> tuple[Any, bool, str | None]:
    """(bare type, required, alias) of a TypedDict field annotation."""
    required, alias = False, None
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            for meta in tp.__metadata__:
                alias = getattr(meta, "alias", None) or alias
            tp = get_args(tp)[0]
        elif origin in (typing.Required, typing.NotRequired) or str(origin).endswith(
                ("Required", "NotRequired")):
            required = required or "NotRequired" not in str(origin)
            tp = get_args(tp)[0]
        else:
            return tp, required, alias


def _literals(tp: Any) -> frozenset[str] | None:
    if get_origin(tp) is Literal:
        return frozenset(str(v) for v in get_args(tp))
    if get_origin(tp) is Union:
        found = [_literals(arg) for arg in get_args(tp)]
        if found and all(f is not None for f in found):
            return frozenset().union(*found)
    return None


def fields_of(params: type) -> tuple[Field, ...]:
    """The fields of a `*Params` TypedDict, by introspection."""
    hints = typing.get_type_hints(params, include_extras=True)
    out = []
    for name, annotation in hints.items():
        tp, required, alias = _unwrap(annotation)
        required = required or name in getattr(params, "__required_keys__", ())
        is_list = get_origin(tp) in (list, typing.List) or "Sequence" in str(get_origin(tp))
        inner = get_args(tp)[0] if is_list and get_args(tp) else tp
        out.append(Field(alias or name, required, _literals(inner), is_list, tp is object))
    return tuple(out)


@lru_cache(maxsize=1)
def endpoints() -> tuple[Endpoint, ...]:
    """Every endpoint the SDK's synchronous resource classes call."""
    found: dict[tuple[str, str], Endpoint] = {}
    for info in pkgutil.walk_packages(scenario_sdk.resources.__path__, "scenario_sdk.resources."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or cls.__name__.startswith("Async") \
                    or not cls.__name__.endswith("Resource"):
                continue
            for _, fn in inspect.getmembers(cls, inspect.isfunction):
                source = inspect.getsource(fn)
                call = _CALL.search(source)
                if call is None:
                    continue
                verb = "GET" if call.group(1) == "get_api_list" else call.group(1).upper()
                fields: list[Field] = []
                for mod_name, cls_name in dict.fromkeys(_PARAMS.findall(source)):
                    params = getattr(fn.__globals__[mod_name], cls_name)
                    fields += [f for f in fields_of(params) if f not in fields]
                found[(verb, call.group(2))] = Endpoint(verb, call.group(2), tuple(fields))
    return tuple(found.values())


def endpoint_for(method: str, path: str) -> Endpoint | None:
    """The SDK endpoint a request addresses; literal segments win over placeholders."""
    matches = [e for e in endpoints() if e.method == method and e.regex.match(path)]
    return min(matches, key=lambda e: e.pattern.count("{"), default=None)


def rule_texts_present() -> bool:
    source = inspect.getsource(job_list_params)
    return all(text in source for text in RULE_TEXTS)


def _value_problem(field: Field, value: Any) -> str | None:
    if field.literals is None:
        return None
    values = str(value).split(",") if field.is_list and isinstance(value, str) else (
        value if isinstance(value, list) else [value])
    bad = [str(v) for v in values if str(v) not in field.literals]
    return f"{field.alias}={','.join(bad)} is none of the SDK's values" if bad else None


def _field_problems(where: str, kind: str, values: dict[str, Any], by_alias: dict[str, Any]
                    ) -> list[str]:
    """Names the SDK does not define, and values it does not allow, of one query or body."""
    out = []
    for name, value in values.items():
        field = by_alias.get(name)
        if field is None:
            out.append(f"{where}: {kind} {name!r} is not in the SDK's params")
        elif problem := _value_problem(field, value):
            out.append(f"{where}: {problem}")
    return out


def problems(method: str, path: str, query: dict[str, str], body: Any,
             api_prefix: str = "/v1") -> list[str]:
    """What is wrong with one request by the SDK's definitions (empty: nothing)."""
    if not path.startswith(api_prefix + "/"):
        return [f"{method} {path} is not under the API's base URL"]
    endpoint = endpoint_for(method, path[len(api_prefix):])
    where = f"{method} {path}"
    if endpoint is None:
        return [f"{where}: no such endpoint in scenario_sdk/resources"]
    by_alias = {f.alias: f for f in endpoint.fields}
    out = _field_problems(where, "query parameter", query, by_alias)
    if isinstance(body, dict) and not any(f.free and f.alias == "body" for f in endpoint.fields):
        out += _field_problems(where, "body field", body, by_alias)
        for field in endpoint.fields:
            if field.required and field.alias not in body and field.alias not in query:
                out.append(f"{where}: the required {field.alias!r} is missing")
    if endpoint.pattern == "/jobs" and method == "GET":
        narrowing = [n for n in SORTED_BY_UPDATE if n in query]
        if "createdAfter" in query and narrowing:
            out.append(f"{where}: createdAfter is only allowed without {'/'.join(SORTED_BY_UPDATE)}")
        if "updatedAfter" in query and not narrowing:
            out.append(f"{where}: updatedAfter is only allowed with {'/'.join(SORTED_BY_UPDATE)}")
    return out


def check_all(requests: Iterable[Any], *, outside_api: tuple[str, ...] = ("/cdn/", "/upload-parts/")
              ) -> list[str]:
    """Problems of every recorded API request; CDN and upload-part URLs are not API calls."""
    out: list[str] = []
    for r in requests:
        if r.path.startswith(outside_api):
            continue
        out += problems(r.method, r.path, r.query, r.body)
    return out
