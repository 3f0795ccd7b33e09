"""The team's ceiling on jobs in flight, read up front where the team id is known.

`GET /teams/{teamId}/limits` states `limits.parallelCustomJobs`
(`types/team_retrieve_limits_response.py`). Knowing it before the first call spares
the slow start and the 429s that would teach it. It is an aid, never a condition: a
key that may not read its team's limits (403), an unknown team (404) or an API error
leaves the limiter to learn the ceiling from 429s as it does without a team id.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from batchgen.errors import APIError

log = logging.getLogger(__name__)


async def team_ceiling(client: Any, team_id: str, say: Callable[[str], None]) -> int | None:
    """`parallelCustomJobs` of the team, or None if it cannot be read."""
    try:
        limits = await client.team_limits(team_id)
    except APIError as exc:
        log.info("the limits of team %s could not be read (%s): the ceiling is learnt from "
                 "429s instead", team_id, exc.message)
        say(f"the team's limits could not be read ({exc.message}); going on without them")
        return None
    value = limits.get("parallelCustomJobs") if isinstance(limits, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
        return None
    return int(value)
