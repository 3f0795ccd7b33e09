"""What a simulator is told to do: the knobs `Simulator(**knobs)` takes, and their rules.

Every duration knob is in simulated seconds; `time_scale` says how many simulated
seconds pass per real second.
"""

from __future__ import annotations

from typing import Iterable

from batchgen.simulator.faults import FaultRates

ERROR_FIELDS = ("reason", "message", "error", "detail")
RATE_LIMIT_STYLES = ("details", "bare", "remaining")


class Knobs:
    """How a simulator behaves, read by its routes; a value it cannot honour is a ValueError.

    `duration_range` (simulated seconds a job takes), `time_scale`, `ceiling` (jobs in
    flight before generate answers 429; `GET /teams/{OWNER_ID}/limits` states it as
    `parallelCustomJobs`), `url_lifetime` (simulated seconds a signed URL lives),
    `retry_after` (simulated seconds advised on 429), the fault rates (`faults`)
    `server_error_rate`, `drop_rate`, `truncate_rate`, `failure_rate` (and
    `after_create_rate`, the share of generate faults that strike once the job
    exists), `rate_limit_rate` (API requests answered 429 with Retry-After whatever
    the load, as a busy API does; never after a job was created) and `expire_rate`
    (downloads refused as expired however young the URL, as when the CDN's clock runs
    ahead), `access_denied` (generate answers 403).

    Timeline knobs (simulated seconds, off by default): `queue_range` draws, for each job
    and independently of its duration, how long it waits before `in-progress`;
    `stall_range` adds a drawn stall in `queued` on top of the duration. Either one
    moves status changes off the fixed shares of a job's duration (`state.phases`).

    The API's documented contract, on by default: `error_field` names the body field
    error answers carry their text in (`reason`, as Scenario's own client reads first;
    or `message`, `error`, `detail`); `short_page_rate` is the share of job-list pages
    cut short (or empty) while more follow; the list rules of `listing` are enforced.
    What the API does not promise, off by default: `unreadable_for` (simulated seconds
    a new job is absent from `GET /jobs/{id}` and the list), `asset_pending_for`
    (simulated seconds a video stays `pending`, without URL, after its job succeeded)
    and `rate_limit_style` (`details`: a 429 over the ceiling names it in `details` with
    Retry-After; `bare`: it states nothing; `remaining`: only a body `remainingSeconds`).
    How a job's `metadata.input` echoes the body, exact by default: `echo_defaults` adds
    the model's default for each input the body left out, `echo_omits` names fields the
    echo leaves out (the prompt never is).
    """

    def __init__(self, *, duration_range: tuple[float, float] = (40.0, 120.0),
                 time_scale: float = 1.0, ceiling: int = 10, url_lifetime: float = 3600.0,
                 retry_after: float = 5.0, server_error_rate: float = 0.0, drop_rate: float = 0.0,
                 truncate_rate: float = 0.0, failure_rate: float = 0.0,
                 after_create_rate: float = 0.5, rate_limit_rate: float = 0.0,
                 expire_rate: float = 0.0, access_denied: bool = False,
                 queue_range: tuple[float, float] | None = None,
                 stall_range: tuple[float, float] | None = None,
                 error_field: str = "reason", short_page_rate: float = 0.3,
                 unreadable_for: float = 0.0, asset_pending_for: float = 0.0,
                 rate_limit_style: str = "details", echo_defaults: bool = False,
                 echo_omits: Iterable[str] = ()) -> None:
        _check(duration_range, time_scale, ceiling, url_lifetime, retry_after,
               (queue_range, stall_range), error_field, rate_limit_style, unreadable_for,
               asset_pending_for, short_page_rate)
        low, high = duration_range
        self.duration_range = (float(low), float(high))
        self.queue_range, self.stall_range = queue_range, stall_range
        self.time_scale = float(time_scale)
        self.ceiling = int(ceiling)
        self.url_lifetime = float(url_lifetime)
        self.retry_after = float(retry_after)
        self.faults = FaultRates(server_error=server_error_rate, drop=drop_rate,
                                 truncate=truncate_rate, job_failure=failure_rate,
                                 after_create=after_create_rate, rate_limit=rate_limit_rate,
                                 expire=expire_rate)
        self.access_denied = access_denied
        self.error_field = error_field
        self.short_page_rate = float(short_page_rate)
        self.unreadable_for = float(unreadable_for)
        self.asset_pending_for = float(asset_pending_for)
        self.rate_limit_style = rate_limit_style
        self.echo_defaults, self.echo_omits = bool(echo_defaults), frozenset(echo_omits)


def _check(duration_range: tuple[float, float], time_scale: float, ceiling: int,
           url_lifetime: float, retry_after: float,
           ranges: tuple[tuple[float, float] | None, ...], error_field: str,
           rate_limit_style: str, unreadable_for: float, asset_pending_for: float,
           short_page_rate: float) -> None:
    """Refuse knob values the simulator cannot honour (a ValueError naming the rule)."""
    low, high = duration_range
    if not 0 < low <= high:
        raise ValueError(f"duration range must satisfy 0 < low <= high, got {duration_range}")
    if time_scale <= 0 or ceiling < 1 or url_lifetime <= 0 or retry_after < 0:
        raise ValueError("time_scale and url_lifetime must be > 0, ceiling >= 1, retry_after >= 0")
    for knob in ranges:
        if knob is not None and not 0 <= knob[0] <= knob[1]:
            raise ValueError(f"queue and stall ranges must satisfy 0 <= low <= high, got {knob}")
    if error_field not in ERROR_FIELDS or rate_limit_style not in RATE_LIMIT_STYLES:
        raise ValueError(f"error_field must be one of {ERROR_FIELDS}, rate_limit_style one of "
                         f"{RATE_LIMIT_STYLES}")
    if unreadable_for < 0 or asset_pending_for < 0 or not 0 <= short_page_rate <= 1:
        raise ValueError("unreadable_for and asset_pending_for must be >= 0, "
                         "short_page_rate between 0 and 1")
