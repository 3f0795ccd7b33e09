"""argparse types shared by the commands: each turns a bad value into a usage error (exit 2).

Every number is finite: `inf` and `nan` parse as floats but would hang a sleep or
overflow a budget after money was spent, so they are refused with the rest.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable, TypeVar

MAX_SECONDS = 86_400.0  # a day: no wait of a run is meant to be longer
MAX_CONCURRENCY = 1_000

N = TypeVar("N", int, float)


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    value = _parsed(int, text, "a whole number")
    return _checked(value, value >= 1, f"{text} is not a whole number of at least 1")


def concurrency(text: str) -> int:
    """A whole number of jobs in flight, 1 to MAX_CONCURRENCY."""
    value = positive_int(text)
    return _checked(value, value <= MAX_CONCURRENCY,
                    f"{text} is more than {MAX_CONCURRENCY} jobs at once")


def seconds(text: str) -> float:
    """A duration above 0 and at most a day, in seconds."""
    return _at_most_a_day(text, positive_float(text))


def seconds_or_zero(text: str) -> float:
    """A duration of 0 to a day, in seconds."""
    return _at_most_a_day(text, non_negative_float(text))


def positive_float(text: str) -> float:
    """A number above 0."""
    value = _number(text)
    return _checked(value, value > 0, f"{text} is not a number above 0")


def non_negative_float(text: str) -> float:
    """A number of at least 0."""
    value = _number(text)
    return _checked(value, value >= 0, f"{text} is not a number of at least 0")


def _at_most_a_day(text: str, value: float) -> float:
    return _checked(value, value <= MAX_SECONDS,
                    f"{text} seconds is more than a day ({MAX_SECONDS:g})")


def _checked(value: N, ok: bool, refusal: str) -> N:
    """`value` if it keeps the rule, else the usage error `refusal`."""
    if not ok:
        raise argparse.ArgumentTypeError(refusal)
    return value


def rate(text: str) -> float:
    """A probability between 0 and 1."""
    value = _number(text)
    return _checked(value, 0.0 <= value <= 1.0, f"{text} is not between 0 and 1")


def port(text: str) -> int:
    """A TCP port, 0 to 65535."""
    value = _parsed(int, text, "a port number")
    return _checked(value, 0 <= value <= 65535, f"{value} is not a port number (0 to 65535)")


def _number(text: str) -> float:
    value = _parsed(float, text, "a number")
    return _checked(value, math.isfinite(value), f"{text!r} is not a finite number")


def _parsed(kind: Callable[[str], N], text: str, what: str) -> N:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
