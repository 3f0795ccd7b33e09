"""The local index of paid results: which key was generated where, with its files.

One SQLite database in the user's cache folder (`BATCHGEN_CACHE_DIR`, else
`$XDG_CACHE_HOME/batchgen`, else `~/.cache/batchgen`), one row per (key, output
folder): model, request body hash, jobId, cost, date and the files (absolute path,
sha256, bytes, assetId) in asset order. Every run records its folder's succeeded keys
when it ends; `plan`, `estimate` and `run` look the keys they would submit up in it.

The index is a convenience, never a record: the ledgers are. So every failure here (a
read-only cache, a full disk, a damaged or newer database) is turned into `problem`
and an empty answer, never an exception, and deleting the file loses nothing but
the reuse. Several runs may write at once: WAL mode lets readers go on while one
writes, writers wait their turn (the busy timeout), and each run's rows go in one
transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

CACHE_ENV = "BATCHGEN_CACHE_DIR"
INDEX_NAME = "index.sqlite3"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000  # a 100,000-row write takes about a second; wait well past it
_CHUNK = 900  # keys per query: under SQLite's oldest limit of 999 parameters

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT NOT NULL,
    output TEXT NOT NULL,
    model TEXT,
    body_hash TEXT,
    job_id TEXT,
    cost REAL,
    t TEXT,
    files TEXT NOT NULL,
    PRIMARY KEY (key, output)
) WITHOUT ROWID
"""


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """batchgen's cache folder: BATCHGEN_CACHE_DIR, else XDG_CACHE_HOME/batchgen, else
    ~/.cache/batchgen."""
    env = os.environ if env is None else env
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser()
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "batchgen"


@dataclass(frozen=True, slots=True)
class Result:
    """One paid result: a key succeeded in an output folder, with its files there."""

    key: str
    output: str  # absolute folder
    files: tuple[dict[str, Any], ...]  # {path (absolute), sha256, bytes, assetId}, asset order
    job_id: str | None = None
    cost: float | None = None
    t: str | None = None  # when it finished
    model: str | None = None
    body_hash: str | None = None


class Index:
    """The index at `path` (default: `cache_dir()/index.sqlite3`); opened on first use.

    `record` and `lookup` never raise: a failure sets `problem` (a sentence) and gives
    an empty answer.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else cache_dir() / INDEX_NAME
        self.problem: str | None = None
        self._db: sqlite3.Connection | None = None

    def record(self, results: Iterable[Result]) -> int:
        """Add or replace these rows, in one transaction; how many (0 after a failure)."""
        rows = [(r.key, r.output, r.model, r.body_hash, r.job_id, r.cost, r.t,
                 json.dumps(list(r.files), separators=(",", ":"))) for r in results]
        if not rows:
            return 0
        try:
            db = self._open()
            with db:  # BEGIN ... COMMIT, or ROLLBACK on an error
                db.execute("BEGIN IMMEDIATE")  # take the write lock now, not mid-way
                db.executemany(
                    "INSERT INTO results (key, output, model, body_hash, job_id, cost, t, files) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key, output) DO UPDATE SET "
                    "model = excluded.model, body_hash = excluded.body_hash, "
                    "job_id = excluded.job_id, cost = excluded.cost, t = excluded.t, "
                    "files = excluded.files", rows)
        except (sqlite3.Error, OSError) as exc:
            self._failed("not updated", exc)
            return 0
        return len(rows)

    def lookup(self, keys: Iterable[str], *, exclude: Iterable[str | os.PathLike[str]] = ()
               ) -> dict[str, list[Result]]:
        """Every recorded result of these keys, newest first, but those of the folders in
        `exclude` (absolute). A key nothing was recorded for is absent."""
        wanted = list(dict.fromkeys(keys))
        if not wanted or not self.path.exists():
            return {}
        skip = {os.path.abspath(folder) for folder in exclude}
        found: dict[str, list[Result]] = {}
        try:
            db = self._open()
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for key, output, model, body, job_id, cost, t, files in db.execute(
                        "SELECT key, output, model, body_hash, job_id, cost, t, files FROM "
                        f"results WHERE key IN ({marks}) ORDER BY t DESC", chunk):
                    if output not in skip:
                        found.setdefault(key, []).append(Result(
                            key, output, tuple(json.loads(files)), job_id, cost, t, model, body))
        except (sqlite3.Error, OSError, ValueError) as exc:
            self._failed("not read", exc)
            return {}
        return found

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _open(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are the explicit BEGINs above.
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                             check_same_thread=False)
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: durable enough for a cache
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"written by a newer batchgen (schema {version})")
            db.execute(_SCHEMA)
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    def _failed(self, what: str, exc: BaseException) -> None:
        self.close()
        self.problem = (f"the index of paid results {self.path} was {what} ({exc}); nothing "
                        "but reuse depends on it: delete it to start a new one")
