"""The local index of paid results: which key was generated where, with its files.

One SQLite database in the user's cache folder (`BATCHGEN_CACHE_DIR`, else
`$XDG_CACHE_HOME/batchgen`, else `~/.cache/batchgen`), one row per (key, output
folder): model, request body hash, jobId, cost, date, the API it was made on and the
files (path within the folder, sha256, bytes, assetId) in asset order. Every run
records its folder's succeeded keys when it ends; `plan`, `estimate` and `run` look
the keys they would submit up in it.

The index is a convenience, never a record: the ledgers are. So every failure here (a
read-only cache, a full disk, a damaged or newer database) is turned into `problem`
and an empty answer, never an exception, and deleting the file loses nothing but
the reuse. Several runs may write at once: WAL mode lets readers go on while one
writes, writers wait their turn (the busy timeout), and each run's rows go in one
transaction.

Sized for 100,000-job batches (`benchmarks/bench_reuse.py`): folders are stored once
and rows refer to them by number, all but the key and date are one compact JSON value
per row (decoded only when read), a run's rows are written in key order, and a lookup
sends every key in one query (a JSON array SQLite reads with `json_each`).
"""

from __future__ import annotations

import gc
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

import msgspec

CACHE_ENV = "BATCHGEN_CACHE_DIR"
INDEX_NAME = "index.sqlite3"
SCHEMA_VERSION = 2  # 1: one row of columns per result, without the API it was made on
BUSY_TIMEOUT_MS = 30_000  # a 100,000-row write takes about a second; wait well past it
CACHE_KIB = 128 << 10
MMAP_BYTES = 256 << 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE
);
-- A rowid table: a run's rows are appended together, and only the small index on
-- (key, folder) interleaves with other folders' (a 100,000-row batch rewrites a few MB,
-- not every page of the table).
CREATE TABLE IF NOT EXISTS results (
    key TEXT NOT NULL,
    folder INTEGER NOT NULL REFERENCES folders (id),
    t TEXT,
    entry BLOB NOT NULL  -- JSON: files, jobId, cost, t, model, bodyHash, api (`_Entry`)
);
CREATE UNIQUE INDEX IF NOT EXISTS results_by_key ON results (key, folder);
"""
_UPSERT = ("INSERT INTO results (key, folder, t, entry) VALUES (?, ?, ?, ?) "
           "ON CONFLICT (key, folder) DO UPDATE SET t = excluded.t, entry = excluded.entry")
# Three columns: a 100,000-key lookup spends its time making Python values of them.
_LOOKUP = ("SELECT r.key, f.path, r.entry FROM results r JOIN folders f ON f.id = r.folder "
           "WHERE r.key IN (SELECT value FROM json_each(?)) "
           "AND f.path NOT IN (SELECT value FROM json_each(?))")


class _Entry(msgspec.Struct, omit_defaults=True):
    files: list[dict[str, Any]]  # {assetId, path (in the folder), bytes, sha256}, asset order
    jobId: str | None = None
    cost: float | None = None
    t: str | None = None  # when it finished
    model: str | None = None
    bodyHash: str | None = None
    api: str | None = None  # the run's `api` label: a result is taken only by runs on that API


_encode = msgspec.json.Encoder().encode
_decode_entry = msgspec.json.Decoder(_Entry).decode


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """batchgen's cache folder: BATCHGEN_CACHE_DIR, else XDG_CACHE_HOME/batchgen, else
    ~/.cache/batchgen."""
    env = os.environ if env is None else env
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser()
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "batchgen"


class Result(NamedTuple):  # a tuple: 100,000 of them are made in a fraction of a second
    """One paid result: a key succeeded in an output folder, with its files there.

    The rest is kept as the index stores it (`entry`, JSON) and decoded when read: a
    lookup of 100,000 keys makes 100,000 results, few of which are examined.
    """

    key: str
    output: str  # absolute folder
    entry: bytes

    @classmethod
    def of(cls, key: str, output: str, files: Iterable[Mapping[str, Any]], *,
           job_id: str | None = None, cost: float | None = None, t: str | None = None,
           model: str | None = None, body_hash: str | None = None,
           api: str | None = None) -> Result:
        return cls(key, output, _encode(_Entry(list(files), job_id, cost, t, model, body_hash,
                                               api)))

    @property
    def files(self) -> list[dict[str, Any]]:
        """{assetId, path (in `output`), bytes, sha256} of each file, in asset order."""
        return _decode_entry(self.entry).files

    @property
    def job_id(self) -> str | None:
        return _decode_entry(self.entry).jobId

    @property
    def cost(self) -> float | None:
        return _decode_entry(self.entry).cost

    @property
    def t(self) -> str | None:
        return _decode_entry(self.entry).t

    @property
    def model(self) -> str | None:
        return _decode_entry(self.entry).model

    @property
    def body_hash(self) -> str | None:
        return _decode_entry(self.entry).bodyHash

    @property
    def api(self) -> str | None:
        return _decode_entry(self.entry).api

    def paths(self) -> list[str]:
        """The absolute path of each file."""
        return [os.path.join(self.output, f["path"]) for f in self.files]


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
        try:
            db = self._open()
            folders: dict[str, int] = {}
            count = 0
            with db:  # BEGIN ... COMMIT, or ROLLBACK on an error
                db.execute("BEGIN IMMEDIATE")  # take the write lock now, not mid-way

                def rows():
                    nonlocal count
                    for r in results:
                        folder = folders.get(r.output)
                        if folder is None:
                            folder = folders[r.output] = self._folder_id(db, r.output)
                        count += 1
                        yield r.key, folder, r.t, r.entry

                # In key order, each page of the tree is visited once, not once per row.
                db.executemany(_UPSERT, sorted(rows()))
        except (sqlite3.Error, OSError) as exc:
            self._failed("not updated", exc)
            return 0
        return count

    def lookup(self, keys: Iterable[str], *, exclude: Iterable[str | os.PathLike[str]] = ()
               ) -> dict[str, list[Result]]:
        """Every recorded result of these keys, newest first, but those of the folders in
        `exclude` (absolute). A key nothing was recorded for is absent."""
        wanted = sorted(set(keys))  # in the tree's order: each page read once
        if not wanted or not self.path.exists():
            return {}
        skip = sorted({os.path.abspath(folder) for folder in exclude})
        found: dict[str, list[Result]] = {}
        # 100,000 new lists set off the cyclic collector again and again, each full pass
        # walking every object of the run (its 100,000-job state too): a third of a run's
        # lookup. What is built here holds no cycles, so it waits until the end.
        collecting = gc.isenabled()
        gc.disable()
        try:
            cursor = self._open().execute(_LOOKUP, (_encode(wanted).decode(),
                                                    _encode(skip).decode()))
            several = []
            for result in map(Result._make, cursor):
                known = found.get(result.key)
                if known is None:
                    found[result.key] = [result]
                else:
                    if len(known) == 1:
                        several.append(known)
                    known.append(result)
            for known in several:  # newest first (sorting in SQL would cost every lookup)
                known.sort(key=lambda result: result.t or "", reverse=True)
        except (sqlite3.Error, OSError, msgspec.DecodeError) as exc:
            self._failed("not read", exc)
            return {}
        finally:
            if collecting:
                gc.enable()
        return found

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @staticmethod
    def _folder_id(db: sqlite3.Connection, path: str) -> int:
        db.execute("INSERT INTO folders (path) VALUES (?) ON CONFLICT (path) DO NOTHING", (path,))
        return db.execute("SELECT id FROM folders WHERE path = ?", (path,)).fetchone()[0]

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
            # A 100,000-row batch touches pages all over the tree (keys are hashes): a cache
            # that holds them (used only as needed) and reads by mmap, not read() calls.
            db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"written by a newer batchgen (schema {version})")
            if version < SCHEMA_VERSION:
                self._create(db)
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        # Under a write lock, reading the version again: two runs opening an old index at
        # once must not both drop the tables the first has just made.
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if 0 < version < SCHEMA_VERSION:
                # Schema 1's rows name no API, so no run could take them: dropped, not migrated.
                db.execute("DROP TABLE IF EXISTS results")
                db.execute("DROP TABLE IF EXISTS folders")
            if version < SCHEMA_VERSION:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _failed(self, what: str, exc: BaseException) -> None:
        self.close()
        self.problem = (f"the index of paid results {self.path} was {what} ({exc}); nothing "
                        "but reuse depends on it: delete it to start a new one")
