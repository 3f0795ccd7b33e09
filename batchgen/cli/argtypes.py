"""argparse types shared by the commands: each turns a bad value into a usage error (exit 2).

Every number is finite: `inf` and `nan` parse as floats but would hang a sleep or
overflow a budget after money was spent, so they are refused with the rest.
"""

from __future__ import annotations

import argparse
import math

MAX_SECONDS = 86_400.0  # a day: no wait of a run is meant to be longer
MAX_CONCURRENCY = 1_000


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of at least 1")
    return value


def concurrency(text: str) -> int:
    """A whole number of jobs in flight, 1 to MAX_CONCURRENCY."""
    value = positive_int(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"{text} is more than {MAX_CONCURRENCY} jobs at once")
    return value


def seconds(text: str) -> float:
    """A duration above 0 and at most a day, in seconds."""
    value = positive_float(text)
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text} seconds is more than a day ({MAX_SECONDS:g})")
    return value


def seconds_or_zero(text: str) -> float:
    """A duration of 0 to a day, in seconds."""
    value = non_negative_float(text)
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text} seconds is more than a day ({MAX_SECONDS:g})")
    return value


def positive_float(text: str) -> float:
    """A number above 0."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number above 0")
    return value


def non_negative_float(text: str) -> float:
    """A number of at least 0."""
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of at least 0")
    return value


def rate(text: str) -> float:
    """A probability between 0 and 1."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def port(text: str) -> int:
    """A TCP port, 0 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0 to 65535)")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value
