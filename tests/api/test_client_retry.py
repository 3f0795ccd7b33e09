"""The retry policy: capped exponential backoff, jitter, Retry-After as a floor."""

from __future__ import annotations

import random

import pytest

from batchgen.api import RetryPolicy


def test_backoff_doubles_until_the_cap_without_jitter():
    policy = RetryPolicy(base=0.5, cap=4, jitter=0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 4, 4]


def test_jitter_only_shortens_the_wait_and_by_at_most_its_share():
    policy = RetryPolicy(base=1, cap=100, jitter=0.5)
    rng = random.Random(1)
    waits = [policy.delay(3, rng=rng) for _ in range(200)]
    assert all(2 <= w <= 4 for w in waits) and len(set(waits)) > 100


def test_retry_after_is_a_floor_capped_by_max_retry_after():
    policy = RetryPolicy(base=0.1, cap=1, jitter=0, max_retry_after=10)
    assert policy.delay(1, retry_after=3) == 3
    assert policy.delay(1, retry_after=3600) == 10
    assert policy.delay(5, retry_after=0) == 1


def test_a_policy_needs_at_least_one_attempt():
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
