"""Before paying again for results that exist elsewhere: say so, and ask.

`run` without `--reuse` whose jobs to submit were already generated in other folders
(by the index, or `--reuse-from`) goes ahead only when the user agrees: `--yes`, or
"y" on a terminal. Without a terminal and without `--yes` it is refused before
any job is recorded or sent, like a large estimate (`run/budget.py`).
"""

from __future__ import annotations

import os
from typing import Callable, TextIO

from batchgen.errors import UsageError
from batchgen.reuse.sources import Found, per_folder


def generated_elsewhere(found: Found, output: str | os.PathLike[str] | None = None) -> str:
    """`3 of the jobs to submit were already generated elsewhere: ../a (2), ../b (1)`."""
    n = len(found)
    return (f"{n} of the jobs to submit {'was' if n == 1 else 'were'} already generated "
            f"elsewhere: {per_folder(found, output)}")


def confirm_again(found: Found, output: str | os.PathLike[str], *, yes: bool, stdin: TextIO,
                  stdout: TextIO, isatty: Callable[[], bool] | None = None) -> None:
    """Return when the run may pay for `found` again; UsageError (nothing sent) if not."""
    if not found:
        return
    what = generated_elsewhere(found, output)
    if yes:
        stdout.write(f"{what}; paying for them again (--yes; --reuse takes them at no cost)\n")
        return
    interactive = (isatty or (lambda: stdin.isatty() and stdout.isatty()))()
    if not interactive:
        raise UsageError(f"{what}; no terminal to ask on: pass --reuse to take those results "
                         "at no cost, or --yes to pay for them again. Nothing was submitted")
    stdout.write(f"{what}.\nPay for them again? (--reuse takes them at no cost) [y/N] ")
    stdout.flush()
    if stdin.readline().strip().lower() not in ("y", "yes"):
        raise UsageError("not confirmed: nothing was submitted; run with --reuse to take "
                         "those results at no cost")
