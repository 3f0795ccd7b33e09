"""Retry signals read as the official SDK reads them (`_base_client.py`): retry-after-ms,
then retry-after (seconds, fractional seconds or an HTTP date), x-should-retry, and a
429 body's remainingSeconds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import anyio
import httpx
import pytest

from batchgen.api import RetryPolicy, ScenarioClient
from batchgen.errors import JobRejected, RateLimited, ServerError
from simkit import KEY, SECRET


def failing_with(answers):
    """A client whose every answer comes from `answers` in turn; (client, calls seen)."""
    calls = []

    def handler(request):
        calls.append(request)
        return answers[min(len(calls), len(answers)) - 1]
    client = ScenarioClient("http://api.test/v1", KEY, SECRET, transport=httpx.MockTransport(handler),
                            retry=RetryPolicy(attempts=3, base=0.0, cap=0.0, max_retry_after=0.0))
    return client, calls


def error_of(answer):
    client, calls = failing_with([answer])

    async def go():
        async with client:
            with pytest.raises(Exception) as raised:
                await client.get_job("job_x")
            return raised.value
    return anyio.run(go), calls


@pytest.mark.parametrize("headers, wait", [
    ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
    ({"retry-after": "2.25"}, 2.25),
    ({"retry-after": "7"}, 7.0),
])
def test_the_wait_comes_from_retry_after_ms_then_retry_after(headers, wait):
    error, _ = error_of(httpx.Response(503, headers=headers, json={"reason": "busy"}))
    assert isinstance(error, ServerError) and error.retry_after == wait


def test_retry_after_as_an_http_date():
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    error, _ = error_of(httpx.Response(503, headers={"retry-after": format_datetime(when, usegmt=True)}))
    assert 25 <= error.retry_after <= 30


def test_a_429_body_remaining_seconds_is_the_wait_when_no_header_says_one():
    error, _ = error_of(httpx.Response(429, json={"reason": "Too many jobs", "remainingSeconds": 12}))
    assert isinstance(error, RateLimited) and error.retry_after == 12 and error.action_limit is None
    error, _ = error_of(httpx.Response(429, headers={"retry-after": "3"},
                                       json={"remainingSeconds": 12}))
    assert error.retry_after == 3


def test_x_should_retry_false_stops_the_retries_of_a_5xx():
    error, calls = error_of(httpx.Response(503, headers={"x-should-retry": "false"}))
    assert isinstance(error, ServerError) and len(calls) == 1


def test_x_should_retry_true_retries_a_4xx_that_would_not_be():
    error, calls = error_of(httpx.Response(400, headers={"x-should-retry": "true"},
                                           json={"reason": "try again"}))
    assert isinstance(error, ServerError) and len(calls) == 3
    error, calls = error_of(httpx.Response(400, json={"reason": "bad"}))
    assert isinstance(error, JobRejected) and len(calls) == 1


def test_without_x_should_retry_a_5xx_is_retried():
    _, calls = error_of(httpx.Response(503))
    assert len(calls) == 3
