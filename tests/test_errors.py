"""One error tree: every exception batchgen defines lives in errors.py, derives from
BatchgenError, and appears in the hierarchy drawn at the top of that module."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import batchgen
from batchgen import errors

# Defined elsewhere on purpose: the simulator's injected fault must be what httpx raises,
# and download.py's private signals never leave the module that raises them.
ALLOWED_ELSEWHERE = {"batchgen.simulator.faults.DroppedConnection",
                     "batchgen.run.download._Retry", "batchgen.run.download._Expired"}


def _modules():
    for info in pkgutil.walk_packages(batchgen.__path__, "batchgen."):
        if info.name.endswith("__main__"):
            continue
        yield importlib.import_module(info.name)


def test_every_exception_class_is_defined_in_errors_py():
    strays = set()
    for module in _modules():
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__ and module is not errors):
                strays.add(f"{module.__name__}.{name}")
    assert strays == ALLOWED_ELSEWHERE


def test_every_error_derives_from_batchgen_error_and_is_public():
    defined = {name for name, value in vars(errors).items()
               if inspect.isclass(value) and issubclass(value, BaseException)
               and value.__module__ == errors.__name__}
    assert all(issubclass(getattr(errors, name), errors.BatchgenError) for name in defined)
    assert defined <= set(batchgen.__all__)


def test_the_drawn_hierarchy_matches_the_classes():
    """Each line of the tree in the docstring names a class and, by its indentation, its parent."""
    parents: list[tuple[int, str]] = []
    seen = set()
    for line in errors.__doc__.splitlines():
        match = re.match(r"^(\s*(?:[│ ]   |[├└]── )*)([A-Z]\w+)\s", line)
        if not match or not hasattr(errors, match.group(2)):
            continue
        depth, name = len(match.group(1)), match.group(2)
        while parents and parents[-1][0] >= depth:
            parents.pop()
        cls = getattr(errors, name)
        if parents:
            assert cls.__bases__[0] is getattr(errors, parents[-1][1]), name
        parents.append((depth, name))
        seen.add(name)
    defined = {name for name, value in vars(errors).items()
               if inspect.isclass(value) and issubclass(value, BaseException)
               and value.__module__ == errors.__name__}
    assert seen == defined
