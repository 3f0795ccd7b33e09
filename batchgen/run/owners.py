"""Which batch an output folder belongs to, checked before a run touches it.

A folder's ledger gives each file to a key; a second manifest run into the same folder
would mix its jobs and files with the first one's (and, with templates that lack
`{key}`, name the same files). So a run into a folder whose ledger another manifest
wrote is refused unless the user says so (`--allow-other-manifest`), and an `--out`
folder is checked as validation checks the manifest's own `output`: no job's file may
be a file the manifest reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from batchgen.errors import UsageError
from batchgen.manifest.owned import owned_problems


def check_same_manifest(events: Iterable[Mapping[str, Any]], source: str | os.PathLike[str],
                        output: Path) -> None:
    """Refuse when the ledger's latest run came from another manifest.

    The same manifest is the same file, or one at the same place relative to the output
    folder (a project folder moved or cloned elsewhere is still the same batch).
    """
    last = None
    for event in events:
        if event.get("event") == "run" and event.get("manifest"):
            last = event
    if last is None:
        return
    if os.path.realpath(last["manifest"]) == os.path.realpath(source):
        return
    relative = last.get("manifestFromOutput")
    if relative is not None and relative == os.path.relpath(source, output):
        return
    raise UsageError(
        f"{output} holds the ledger of another manifest ({last['manifest']}); running "
        f"{source} into it would mix the two batches' jobs and files. Use another output "
        "folder (--out DIR), or add --allow-other-manifest if this manifest carries on "
        "that batch (renamed or moved)")


def check_output_for(batch: Any, output: Path) -> None:
    """Refuse an output folder (--out) where a job's file would be a file the manifest reads."""
    problems = owned_problems(batch.jobs, output, getattr(batch, "inputs", ()) or (),
                              "--out", None, limit=1)
    if problems:
        raise UsageError(f"--out {output}: {problems[0].job}: {problems[0].message}")


def check_is_folder(output: Path, named: str) -> None:
    """Refuse an output that is (or lies under) something other than a folder, before
    anything is created: `named` says where it came from (`--out`, the manifest's `output`)."""
    for place in (output, *output.parents):
        if place.is_dir():
            return
        if os.path.lexists(place):
            what = ("exists and is not a folder" if place == output else
                    f"cannot be created: {place} is a file, not a folder")
            raise UsageError(f"{named} {output}: {what}; give a folder (created if missing), "
                             "nothing was sent")
