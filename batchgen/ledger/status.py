"""Where each job stands, from ledgers: the records behind `status`, `plan` and `report`.

A target is a manifest, an output folder or a ledger file. An output folder's jobs come
from its `batch.json` (written by `run` when it starts) and its ledger; a manifest's
jobs from the manifest itself. Shard sub-folders (`shard-I-of-N/`) of an output folder
are read too, and several targets are merged, so the shards of one batch show as one; a
shard folder's jobs take their states from every folder of its batch (`ledger.family`),
as a run there does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import msgspec

from batchgen.ledger.checkpoint import Brief, load_brief, load_state
from batchgen.errors import UsageError
from batchgen.durable import paused_gc, writing
from batchgen import inputfile
from batchgen.ledger.events import LEDGER_NAME, ledger_path
from batchgen.ledger.family import family_folders
from batchgen.ledger.state import FAILED, PENDING, RUNNING, STATES, SUCCEEDED, KeyState

# A manifest's batch -> (the jobs to show, the output folder to read): --out, --shard.
Scope = Callable[[Any], "tuple[Any, Path]"]

SNAPSHOT_NAME = "batch.json"
SHARD_GLOB = "shard-*-of-*"

# When several ledgers know a key (shards re-split, a copied folder), the most
# advanced state wins: a success anywhere means the job's files exist somewhere.
_RANK = {PENDING: 0, FAILED: 1, RUNNING: 2, SUCCEEDED: 3}


def write_batch_snapshot(batch: Any, output_dir: str | os.PathLike[str]) -> Path:
    """Write `<output>/batch.json`: the batch's name, model, axes and jobs, so `status`
    and `report` of the output folder alone know every job, not only those the ledger
    has reached. Written atomically (temporary file, then rename)."""
    document = {
        "name": batch.name,
        "model": batch.model,
        "axes": dict(batch.axes),
        "jobs": [_job_description(job) for job in batch.jobs],
    }
    path = Path(output_dir) / SNAPSHOT_NAME
    temporary = path.with_name(f".{SNAPSHOT_NAME}.{os.getpid()}.tmp")
    with writing(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(msgspec.json.encode(document))
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)  # only there when the write failed
    return path


def read_batch_snapshot(output_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The `batch.json` of an output folder, or None when there is none."""
    path = Path(output_dir) / SNAPSHOT_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        document = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc}); delete it and it will be "
                         "written again by the next run") from None
    if not isinstance(document, dict) or not isinstance(document.get("jobs", []), list):
        raise UsageError(f"{path} is not a batch snapshot; delete it and it will be written "
                         "again by the next run")
    return document


def output_folders(output_dir: str | os.PathLike[str]) -> list[Path]:
    """The folder itself and its shard sub-folders: every place a ledger of it may be."""
    base = Path(output_dir)
    return [base, *sorted(p for p in base.glob(SHARD_GLOB) if p.is_dir())]


def batch_folders(output_dir: str | os.PathLike[str]) -> list[Path]:
    """`output_folders`, then the other folders of its batch (`family_folders`: for a
    shard folder, the folder above and its other shards): every ledger a run there
    reads before it submits, so `plan` and `status` show what that run would do."""
    own = output_folders(output_dir)
    seen = {os.path.abspath(f) for f in own}
    return own + [f for f in family_folders(output_dir) if str(f) not in seen]


def ledger_states(output_dir: str | os.PathLike[str]) -> dict[str, tuple[KeyState | Brief, str]]:
    """Per key, the most advanced state the ledgers of an output folder (its shard
    sub-folders, and the other folders of its batch) record, with the absolute folder
    of that ledger: what `plan` shows, through `ledger_view`. Writes nothing (no replay
    checkpoint either)."""
    best: dict[str, tuple[KeyState | Brief, str]] = {}
    with paused_gc():
        for folder in batch_folders(output_dir):
            ledger = ledger_path(folder)
            # A checkpoint gives plan's fields without a full replay.
            brief = load_brief(ledger)
            known = brief if brief is not None else load_state(ledger, save=False).jobs.values()
            where = os.path.abspath(folder)
            if not best:  # the usual case, one ledger: nothing to rank against
                best = {ks.key: (ks, where) for ks in known}
                continue
            for ks in known:
                found = best.get(ks.key)
                if found is None or _better(ks, found[0]):
                    best[ks.key] = (ks, where)
    return best


def ledger_view(ks: KeyState | Brief, folder: str
                ) -> tuple[str, str | None, list[dict[str, Any]], str | None]:
    """(state, jobId, files, error) as `plan` shows a key: absolute file paths, and the
    error only of a failed job."""
    return (ks.state, ks.job_id, _files(ks.files, folder),
            ks.error if ks.state == FAILED else None)


@dataclass
class _Collection:
    """Job descriptions and their best ledger states, merged over every target."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> description
    states: dict[str, tuple[KeyState | Brief, str]] = field(default_factory=dict)  # key -> (state, output)
    axes: dict[str, list[Any]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def describe(self, descriptions: Iterable[dict[str, Any]]) -> None:
        for description in descriptions:
            self.jobs.setdefault(description["key"], description)

    def named(self, name: Any, axes: Any) -> None:
        if name and name not in self.names:
            self.names.append(str(name))
        for axis, values in (axes or {}).items():
            known = self.axes.setdefault(axis, [])
            known.extend(v for v in values if v not in known)


def collect_records(targets: list[str], *, scope: Scope | None = None
                    ) -> tuple[list[dict[str, Any]], dict[str, list[Any]], str]:
    """Job records of manifests, output folders or ledger files, merged.

    Returns (records, axes, name). Each record has the `status --json` job shape (key,
    id, sample, prompt, params, state, jobId, files, error) plus variables, cost,
    submittedAt, finishedAt, hint, output (the absolute folder its files are in;
    file paths are absolute) and reusedFrom (the folder whose result `run --reuse`
    took, at no cost in this batch; None when paid for here). A manifest contributes exactly its jobs; an output folder
    or ledger its snapshot's jobs and any other key its ledger records. Raises
    UsageError when a target holds nothing to show. `scope` turns a manifest's batch
    into the jobs and the output folder to read (`--out`, `--shard`).
    """
    found = _Collection()
    with paused_gc():
        for target in targets:
            _collect(found, target, scope)
        records = [_record(description, found.states.get(key))
                   for key, description in found.jobs.items()]
    return records, found.axes, " + ".join(found.names)


def count_states(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many records are in each state (every state listed, zeros included)."""
    counts = dict.fromkeys(STATES, 0)
    for record in records:
        counts[record["state"]] += 1
    return counts


def _collect(found: _Collection, target: str, scope: Scope | None) -> None:
    path = Path(target)
    if path.is_dir():
        folders = [f for f in output_folders(path) if _has_ledger_or_snapshot(f)]
        if not folders:
            raise UsageError(f"{target}: no {LEDGER_NAME} here or in its shard folders; give "
                             "a manifest, or the output folder of a run")
        for folder in folders:
            _collect_folder(found, folder, ledger_path(folder), from_ledger=True)
        for folder in family_folders(path):  # a shard folder's batch may be done above it
            if folder not in folders and ledger_path(folder).is_file():
                _collect_folder(found, folder, ledger_path(folder), from_ledger=False)
    elif path.is_file() and path.suffix == ".jsonl":
        _collect_folder(found, path.parent, path, from_ledger=True)
    elif path.is_file():
        from batchgen.manifest.load import load_batch  # the manifest stack is only needed here

        batch = load_batch(path)
        output = batch.output
        if scope is not None:
            batch, output = scope(batch)
        found.named(batch.name, batch.axes)
        found.describe(_job_description(job) for job in batch.jobs)
        for folder in batch_folders(output):
            _collect_folder(found, folder, ledger_path(folder), from_ledger=False)
    elif path.exists():  # a FIFO or a device: never opened, it could block or never end
        raise UsageError(f"{target}: this is {inputfile.kind(path)}, not a manifest, output "
                         "folder or ledger file")
    else:
        raise UsageError(f"{target}: no such manifest, output folder or ledger file")


def _collect_folder(found: _Collection, folder: Path, ledger: Path, *, from_ledger: bool) -> None:
    """Merge one ledger's states; `from_ledger` also adds the jobs it (and its snapshot) knows."""
    output = os.path.abspath(folder)
    if from_ledger:
        snapshot = read_batch_snapshot(folder)
        if snapshot is not None:
            found.named(snapshot.get("name"), snapshot.get("axes"))
            found.describe(snapshot.get("jobs") or ())
    jobs, states = found.jobs, found.states
    for ks in _key_states(ledger, jobs if from_ledger else None):
        key = ks.key
        if from_ledger and key not in jobs:
            jobs[key] = _description_from_ledger(ks)
        known = states.get(key)
        if known is None or _better(ks, known[0]):
            states[key] = (ks, output)


def _key_states(ledger: Path, described: dict[str, Any] | None) -> Iterable[KeyState | Brief]:
    """Each key's state: from the checkpoint's briefs (a third of the time) unless a key
    needs describing from its intent's body (`described` lacks it), which only whole
    KeyStates hold."""
    briefs = load_brief(ledger)
    if briefs is not None and (described is None or all(b.key in described for b in briefs)):
        return briefs
    return load_state(ledger).jobs.values()


def _better(candidate: KeyState | Brief, known: KeyState | Brief) -> bool:
    """Whether `candidate` replaces `known` (ties go to the later ledger)."""
    return _RANK[candidate.state] >= _RANK[known.state]


def _has_ledger_or_snapshot(folder: Path) -> bool:
    return (folder / LEDGER_NAME).is_file() or (folder / SNAPSHOT_NAME).is_file()


def _job_description(job: Any) -> dict[str, Any]:
    return {"key": job.key, "id": job.id, "sample": job.sample, "model": job.model,
            "prompt": job.prompt, "params": dict(job.params), "variables": dict(job.variables),
            "filename": job.filename}


def _description_from_ledger(ks: KeyState) -> dict[str, Any]:
    """A job no manifest or snapshot describes (an older version of the manifest): what
    its intent recorded."""
    body = dict(ks.body or {})
    prompt = body.pop("prompt", None)
    return {"key": ks.key, "id": ks.id, "sample": ks.sample, "prompt": prompt, "params": body,
            "variables": {}, "filename": None}


def _record(description: dict[str, Any], found: tuple[KeyState | Brief, str] | None
            ) -> dict[str, Any]:
    get = description.get
    if found is None:
        return {"key": description["key"], "id": get("id"), "sample": get("sample"),
                "prompt": get("prompt"), "params": get("params") or {}, "state": PENDING,
                "jobId": None, "files": [], "error": None, "model": get("model"),
                "variables": get("variables") or {},
                "cost": None, "submittedAt": None, "finishedAt": None, "hint": None,
                "output": None, "reusedFrom": None}
    ks, output = found
    failed = ks.state == FAILED
    return {
        "key": description["key"], "id": get("id"), "sample": get("sample"),
        "prompt": get("prompt"), "params": get("params") or {}, "state": ks.state,
        "jobId": ks.job_id, "files": _files(ks.files, output),
        "error": ks.error if failed else None, "model": get("model"),
        "variables": get("variables") or {},
        "cost": ks.cost, "submittedAt": ks.submitted_t,
        "finishedAt": ks.finished_t if failed or ks.state == SUCCEEDED else None,
        "hint": ks.hint if failed else None, "output": output,
        "reusedFrom": ks.reused_from,  # the folder whose result was taken (cost 0 here)
    }


def _files(files: list[dict[str, Any]], output: str) -> list[dict[str, Any]]:
    """File records with absolute paths: unambiguous when several folders are merged."""
    if not files:
        return []
    prefix = output + os.sep
    return [{"path": f["path"] if os.path.isabs(f["path"]) else prefix + f["path"],
             "sha256": f["sha256"], "bytes": f["bytes"]} for f in files]
