"""Where earlier results of a run's keys are: the index, or named folders' ledgers.

A `Result` is only a claim: its files may have been moved, deleted or edited since.
`present` (the files are there, at their recorded size: cheap enough for `plan` over
100,000 keys) is what `plan`, `estimate` and `run` count as "generated elsewhere";
`take.intact` (each file's sha256 read again) is what `run --reuse` takes.
"""

from __future__ import annotations

import json
import os
from itertools import chain, repeat
from operator import attrgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from batchgen.errors import UsageError
from batchgen.ledger.checkpoint import load_state
from batchgen.ledger.events import LEDGER_NAME, iter_events, ledger_path
from batchgen.ledger.family import family_folders
from batchgen.ledger.state import SUCCEEDED, LedgerState
from batchgen.ledger.status import output_folders
from batchgen.reuse.index import Index, Result

Found = dict[str, Result]  # key -> the result a run may take (or would pay for again)


def ledger_results(state: LedgerState, output: str | os.PathLike[str],
                   jobs: Mapping[str, Any] | None = None, *,
                   keys: Iterable[str] | None = None, api: str | None = None) -> list[Result]:
    """The succeeded keys of a folder's ledger state (only `keys`, if given) as index
    rows, files in asset order; `jobs` (key -> Job) gives each its model and body hash,
    `api` the API the folder's runs talked to."""
    folder = os.path.abspath(output)
    jobs = jobs or {}
    wanted = None if keys is None else set(keys)
    results = []
    for key, ks in state.jobs.items():
        if ks.state != SUCCEEDED or (wanted is not None and key not in wanted):
            continue
        files = ks.files
        if [f["assetId"] for f in files] != ks.asset_ids:  # downloaded again, or out of order
            latest = {f["assetId"]: f for f in files}
            files = [latest[asset_id] for asset_id in ks.asset_ids]
        job = jobs.get(key)
        results.append(Result.of(key, folder, files, job_id=ks.job_id, cost=ks.cost,
                                 t=ks.finished_t, model=job.model if job else None,
                                 body_hash=job.request_hash() if job else None, api=api))
    return results


def from_folders(folders: Iterable[str | os.PathLike[str]], keys: Iterable[str]
                 ) -> dict[str, list[Result]]:
    """The results of `keys` that the ledgers of `folders` (and of their shard folders)
    record: `--reuse-from`, without the index."""
    wanted = set(keys)
    found: dict[str, list[Result]] = {}
    for given in check_reuse_from(folders):
        for ledger in [ledger_path(f) for f in output_folders(given) if ledger_path(f).is_file()]:
            for result in ledger_results(load_state(ledger, save=False), ledger.parent,
                                         keys=wanted, api=ledger_api(ledger)):
                found.setdefault(result.key, []).append(result)
    return found


def ledger_api(ledger: Path) -> str | None:
    """The API a folder's results come from: its first `run` event's `api`."""
    for event in iter_events(ledger):
        if event.get("event") == "run":
            return event.get("api")
    return None


def on_api(candidates: Mapping[str, list[Result]], api: str | None
           ) -> dict[str, list[Result]]:
    """Only the results made on `api` (None: any): a jobId and its videos belong to the
    API that made them, and a simulated video is no result of Scenario's."""
    if api is None:
        return dict(candidates)
    from batchgen.run.origin import same_api

    # A row recorded with this very label holds these bytes (a `"` inside a JSON string
    # is escaped, so only the `api` field can): 100,000 rows are kept without decoding
    # one. Only the others are decoded and compared as labels (trailing slash, ...); a
    # row without a label (recorded before labels were) is offered to no API's run.
    exact = b'"api":' + json.dumps(api).encode()
    entries = map(attrgetter("entry"), chain.from_iterable(candidates.values()))
    if all(map(bytes.__contains__, entries, repeat(exact))):  # the usual case: no Python loop
        return dict(candidates)
    kept = {key: [r for r in results
                  if exact in r.entry or (r.api is not None and same_api(r.api, api))]
            for key, results in candidates.items()}
    return {key: results for key, results in kept.items() if results}


def from_index(index: Index, keys: Iterable[str], output: str | os.PathLike[str]
               ) -> dict[str, list[Result]]:
    """The index's results of `keys` outside `output`'s batch (whose ledgers the run
    reads itself)."""
    return index.lookup(keys, exclude=family_folders(output))


def present(result: Result) -> bool:
    """Every file of the result is where it was recorded, at its recorded size."""
    try:
        return bool(result.files) and all(os.stat(path).st_size == f["bytes"]
                                          for path, f in zip(result.paths(), result.files))
    except (OSError, KeyError, TypeError):
        return False


def first_of(candidates: Mapping[str, list[Result]], check: Callable[[Result], bool]) -> Found:
    """Per key, the first (newest) candidate that passes `check`; keys without one left out."""
    found: Found = {}
    for key, results in candidates.items():
        for result in results:
            if check(result):
                found[key] = result
                break
    return found


def per_folder(found: Found, relative_to: str | os.PathLike[str] | None = None) -> str:
    """How many keys each folder holds, e.g. `../other (8), /mnt/share/out (2)`."""
    counts: dict[str, int] = {}
    for result in found.values():
        shown = result.output if relative_to is None else os.path.relpath(result.output,
                                                                          relative_to)
        counts[shown] = counts.get(shown, 0) + 1
    return ", ".join(f"{folder} ({n})" for folder, n in counts.items())


def check_reuse_from(folders: Iterable[str | os.PathLike[str]]) -> tuple[Path, ...]:
    """The `--reuse-from` folders, absolute; UsageError for one without a ledger (in it
    or its shard folders), before a run writes anything."""
    checked = []
    for given in folders:
        if not any(ledger_path(f).is_file() for f in output_folders(Path(given))):
            raise UsageError(f"--reuse-from {given}: no {LEDGER_NAME} there or in its shard "
                             "folders; give the output folder of a run")
        checked.append(Path(os.path.abspath(given)))
    return tuple(checked)


def look_elsewhere(keys: Iterable[str], output: str | os.PathLike[str],
                   index: Index | None = None, *, api: str | None = None
                   ) -> tuple[Found, str | None]:
    """For `plan` and `estimate`: which of `keys` (those a run in `output` would submit)
    the index knows from outside `output`'s batch with their files still there (made on
    `api`; None: any); and the index's problem, if it could not be read."""
    own = index is None
    index = index or Index()
    try:
        found = first_of(on_api(from_index(index, keys, output), api), present)
    finally:
        if own:
            index.close()
    return found, index.problem
