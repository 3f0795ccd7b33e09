"""Whether a listed job's echoed `metadata.input` is the body batchgen sent.

That the API echoes the body unchanged is not documented, and a job wrongly proved
never sent is paid for twice. So an echo matches on the prompt and on each parameter
it carries: a field it adds (a default, a parameter batchgen does not know) or leaves
out is no mismatch; a field both carry with different values is one.
"""

from __future__ import annotations

from typing import Any

from batchgen.jobs import canonical_json


def echo_match(body: dict[str, Any], echoed: Any) -> int | None:
    """None if `echoed` cannot be `body`'s; else how many of the body's fields it
    confirms (the more, the stronger the match; all of them and nothing else: exact)."""
    if not isinstance(echoed, dict) or "prompt" not in echoed or "prompt" not in body:
        return None
    confirmed = 0
    for name, value in echoed.items():
        if name in body:
            if canonical_json(body[name]) != canonical_json(value):
                return None
            confirmed += 1
    return confirmed
