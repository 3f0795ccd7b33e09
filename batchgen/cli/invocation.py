"""The commands batchgen prints for the user to paste (resume, retry, ...).

They name the program that is actually running, as the user can run it again from the
same folder: `batchgen` when that is what the shell's PATH finds, else the script's
path as it was typed (`.venv/bin/batchgen` after the Quick start, where nothing is on
PATH), else `python -m batchgen` with the running interpreter's full path. Every word
is quoted for a POSIX shell, so paths with spaces or `$` paste as they are.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from typing import Sequence

PROGRAM = "batchgen"


def program(argv0: str | None = None) -> list[str]:
    """The words that run this batchgen again (`argv0`: default sys.argv[0])."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    name = os.path.basename(argv0)
    if name in (PROGRAM, f"{PROGRAM}.exe"):
        if _same_file(shutil.which(name), argv0):
            return [name]
        if os.sep in argv0 and os.path.isfile(argv0):
            return [argv0]
    # `python -m batchgen`, or batchgen's main() called from another program.
    return [sys.executable or "python3", "-m", PROGRAM]


def command(*words: str, argv0: str | None = None) -> str:
    """A command line that runs batchgen with `words`, quoted for the shell."""
    return shlex.join([*program(argv0), *words])



def _same_file(found: str | None, argv0: str) -> bool:
    if found is None:
        return False
    if os.sep not in argv0:  # run through PATH, by the name alone
        return True
    try:
        return os.path.samefile(found, argv0)
    except OSError:
        return False
