"""Money: the `--max-cu` cap and the confirmation asked before a large batch.

Pure arithmetic and decisions, no I/O but the one prompt in `confirm()`.

The cap counts everything the output folder's ledger records as spent (earlier runs
included) plus this run's submissions. A job is only submitted when its estimated
cost still fits; the first job that does not fit stops all further submissions, so a
capped batch never skips an expensive job only to spend the rest on cheaper ones.
Costs of generate calls still in flight are reserved, so concurrent submissions can
never overshoot the cap together.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from typing import Callable, TextIO

from batchgen.errors import UsageError

# Rounding of costs the API reports (e.g. 12.5 CU) must not turn "exactly at the cap"
# into "past the cap".
_EPSILON = 1e-9

DEFAULT_CONFIRM_ABOVE_CU = 1000.0
CONFIRM_ENV = "BATCHGEN_CONFIRM_ABOVE_CU"


def fits(cost: float, committed: float, limit: float | None) -> bool:
    """True when spending `cost` on top of `committed` stays within `limit` (None: no cap)."""
    return limit is None or committed + cost <= limit + _EPSILON


@dataclass
class Budget:
    """The running account of one `run`: what earlier runs spent, what this one commits.

    `limit` is `--max-cu` (None: no cap); `spent_before` is the ledger's spend at start.
    """

    limit: float | None
    spent_before: float = 0.0
    spent: float = 0.0  # accepted by the API during this run
    reserved: float = 0.0  # estimated cost of generate calls not answered yet
    exhausted: bool = False  # a job did not fit: submit nothing more

    @property
    def committed(self) -> float:
        return self.spent_before + self.spent + self.reserved

    @property
    def total_spent(self) -> float:
        """Spent in this output folder, earlier runs included."""
        return self.spent_before + self.spent

    @property
    def left(self) -> float | None:
        """What the cap still allows once every in-flight call is settled (None: no cap)."""
        if self.limit is None:
            return None
        return max(0.0, self.limit - self.committed)

    def reserve(self, cost: float) -> bool:
        """Claim `cost` before a generate call; False (and no more submissions) if it does not fit."""
        if self.exhausted or not fits(cost, self.committed, self.limit):
            self.exhausted = True
            return False
        self.reserved += cost
        return True

    def hold(self, cost: float) -> None:
        """Claim `cost` whatever the cap: for a job an earlier run may already have had
        charged (its answer lost in a crash), which no cap can undo."""
        self.reserved += cost

    def settle(self, reserved: float, actual: float | None) -> None:
        """The API accepted the job: replace the reservation with what it says it costs."""
        self.reserved = max(0.0, self.reserved - reserved)
        self.spent += reserved if actual is None else actual

    def release(self, reserved: float) -> None:
        """The call provably created no job (rejected, or never sent): free the reservation."""
        self.reserved = max(0.0, self.reserved - reserved)

    def summary(self) -> str:
        """One sentence for the end of a capped run, e.g. `spent 96 of 100 CU; 4 CU left`."""
        if self.limit is None:
            return f"spent {format_cu(self.total_spent)} CU"
        left = max(0.0, self.limit - self.total_spent)
        return (f"spent {format_cu(self.total_spent)} of {format_cu(self.limit)} CU "
                f"(--max-cu); {format_cu(left)} CU left")


def format_cu(value: float) -> str:
    """A creative-unit amount without noise: 12, 12.5, 0.25."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


class Confirmation(enum.Enum):
    PROCEED = "proceed"  # small enough, or --yes
    ASK = "ask"  # ask on the terminal
    REFUSE = "refuse"  # past the threshold without a terminal and without --yes


def confirm_threshold(env: dict[str, str] | None = None) -> float:
    """The CU amount above which `run` asks first: BATCHGEN_CONFIRM_ABOVE_CU, else 1000."""
    raw = (os.environ if env is None else env).get(CONFIRM_ENV)
    if raw is None or raw == "":
        return DEFAULT_CONFIRM_ABOVE_CU
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{CONFIRM_ENV}={raw!r} is not a number of creative units") from None
    if not 0 <= value < float("inf"):  # nan fails both comparisons
        raise UsageError(f"{CONFIRM_ENV}={raw!r} must be a finite number of at least 0")
    return value


def at_stake(estimate: float, *, limit: float | None, spent_before: float) -> float:
    """What a run can spend at most: its estimate, or less when --max-cu caps it."""
    if limit is None:
        return estimate
    return max(0.0, min(estimate, limit - spent_before))


def decide_confirmation(amount: float, *, threshold: float, yes: bool,
                        interactive: bool) -> Confirmation:
    """Whether a run that may spend `amount` CU goes ahead, asks, or is refused."""
    if yes or amount <= threshold + _EPSILON:
        return Confirmation.PROCEED
    return Confirmation.ASK if interactive else Confirmation.REFUSE


def confirm(amount: float, *, threshold: float, yes: bool, stdin: TextIO, stdout: TextIO,
            isatty: Callable[[], bool] | None = None) -> None:
    """Return when the run may go on; raise UsageError (nothing is sent) when it may not.

    On a terminal the user is asked; without one, `--yes` is required past the threshold.
    """
    interactive = (isatty or (lambda: stdin.isatty() and stdout.isatty()))()
    decision = decide_confirmation(amount, threshold=threshold, yes=yes, interactive=interactive)
    if decision is Confirmation.PROCEED:
        return
    what = (f"this run may spend up to {format_cu(amount)} CU, above the confirmation "
            f"threshold of {format_cu(threshold)} CU ({CONFIRM_ENV})")
    if decision is Confirmation.REFUSE:
        raise UsageError(f"{what}; no terminal to ask on: pass --yes to run it, "
                         "or --max-cu N to cap it. Nothing was submitted")
    stdout.write(f"{what[0].upper()}{what[1:]}. Submit? [y/N] ")
    stdout.flush()
    answer = stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError("not confirmed: nothing was submitted")
