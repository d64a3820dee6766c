"""Storage layer of :mod:`dedup.index`: one SQLite file, its schema, settings and encodings.

See the docstring of :mod:`dedup.index` for the file format. This module knows
SQL and bytes; it knows nothing about shingles or clusters.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .errors import DedupError

APPLICATION = "dedup-index"
FORMAT_VERSION = 1
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 60.0

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE docs (
    doc INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    digest BLOB NOT NULL,
    published TEXT,
    ts REAL NOT NULL,
    source TEXT,
    lang TEXT,
    title TEXT,
    size INTEGER NOT NULL,
    cleaned INTEGER NOT NULL,
    comp INTEGER NOT NULL,
    sig BLOB NOT NULL
);
CREATE INDEX docs_comp ON docs(comp);
CREATE TABLE sets (doc INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE bands (band INTEGER NOT NULL, key INTEGER NOT NULL, doc INTEGER NOT NULL,
                    PRIMARY KEY (band, key, doc)) WITHOUT ROWID;
CREATE TABLE pbands (band INTEGER NOT NULL, key INTEGER NOT NULL, doc INTEGER NOT NULL, para INTEGER NOT NULL,
                     PRIMARY KEY (band, key, doc, para)) WITHOUT ROWID;
CREATE INDEX pbands_doc ON pbands(doc);
CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, jaccard REAL NOT NULL, estimated REAL NOT NULL,
                    c_ab REAL NOT NULL, c_ba REAL NOT NULL, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE INDEX pairs_b ON pairs(b);
CREATE TABLE comps (comp INTEGER PRIMARY KEY, rep INTEGER NOT NULL, size INTEGER NOT NULL);
"""

TABLES = ("meta", "docs", "sets", "bands", "pbands", "pairs", "comps")


class IndexFileError(DedupError):
    """An index file is missing, corrupt, not an SQLite database, not a dedup index, or too new."""


# -- encodings -------------------------------------------------------------------------------------------------

def sig_blob(sig: np.ndarray) -> bytes:
    """A signature as raw little-endian uint32 (num_perm * 4 bytes)."""
    return np.ascontiguousarray(sig, dtype="<u4").tobytes()


def sig_from_blobs(blobs: Sequence[bytes], num_perm: int) -> np.ndarray:
    """Rows of uint32 from signature BLOBs; refuses a BLOB of the wrong length."""
    raw = b"".join(blobs)
    if len(raw) != 4 * num_perm * len(blobs):
        raise IndexFileError(f"stored signatures are not {num_perm} little-endian uint32 values each")
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32).reshape(len(blobs), num_perm)


def set_blob(values: np.ndarray) -> bytes:
    """An exact shingle set as sorted little-endian uint64 (8 bytes per shingle)."""
    return np.ascontiguousarray(values, dtype="<u8").tobytes()


def set_from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


def signed(keys: np.ndarray) -> np.ndarray:
    """uint64 band keys as SQLite INTEGERs: the same 64 bits read as signed int64."""
    return np.ascontiguousarray(keys, dtype=np.uint64).view(np.int64)


# -- opening ---------------------------------------------------------------------------------------------------

def _fail(path: Path, what: str) -> IndexFileError:
    return IndexFileError(f"{path}: {what}")


def connect(path: str | os.PathLike, create: bool, synchronous: str) -> tuple[sqlite3.Connection, bool]:
    """An open connection (WAL, busy timeout) and whether the file is new (schema still to create)."""
    path = Path(path)
    if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
        raise IndexFileError(f"synchronous={synchronous!r} is invalid: expected 'NORMAL', 'FULL' or 'EXTRA'")
    exists = path.exists()
    if not exists and not create:
        raise _fail(path, "no such index file (open it with create=True to make one)")
    if exists:
        if path.is_dir():
            raise _fail(path, "is a directory, not an index file")
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
        if head and head != SQLITE_HEADER:
            raise _fail(path, "not a dedup index: not an SQLite database (wrong file header)")
    try:
        con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as e:
        raise _fail(path, f"cannot open: {e}") from None
    try:
        con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise _fail(path, f"cannot switch to WAL journal mode (got {mode!r})")
        con.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        con.execute("PRAGMA temp_store = MEMORY")
        con.execute("PRAGMA cache_size = -65536")  # 64 MiB
        con.execute("PRAGMA mmap_size = 1073741824")
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        con.close()
        raise _fail(path, f"not a readable dedup index ({e})") from None
    except IndexFileError:
        con.close()
        raise
    if not names:
        if not create:
            con.close()
            raise _fail(path, "empty SQLite database, not a dedup index")
        return con, True
    if "meta" not in names:
        con.close()
        raise _fail(path, "an SQLite database but not a dedup index (no meta table)")
    return con, False


def create_schema(con: sqlite3.Connection, meta: dict[str, object]) -> bool:
    """Create the tables and write ``meta`` in one transaction; False if another process did it first."""
    con.execute("BEGIN IMMEDIATE")
    try:
        if con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'meta'").fetchone()[0]:
            con.execute("ROLLBACK")
            return False
        for statement in SCHEMA.split(";"):
            if statement.strip():
                con.execute(statement)
        con.executemany("INSERT INTO meta (name, value) VALUES (?, ?)",
                        [(k, json.dumps(v, sort_keys=True)) for k, v in meta.items()])
        con.execute("COMMIT")
        return True
    except BaseException:
        con.execute("ROLLBACK")
        raise


def read_meta(con: sqlite3.Connection, path: Path) -> dict:
    try:
        rows = con.execute("SELECT name, value FROM meta").fetchall()
        meta = {k: json.loads(v) for k, v in rows}
    except (sqlite3.DatabaseError, ValueError, TypeError) as e:
        raise _fail(path, f"unreadable meta table ({e})") from None
    if meta.get("application") != APPLICATION:
        raise _fail(path, f"an SQLite database but not a dedup index (meta application={meta.get('application')!r})")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise _fail(path, f"meta has no integer format_version (got {version!r})")
    if version > FORMAT_VERSION:
        raise _fail(path, f"index format {version} was written by a newer dedup; this one reads format "
                          f"<= {FORMAT_VERSION}")
    missing = [t for t in TABLES if not con.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (t,)).fetchone()[0]]
    if missing or "params" not in meta or "settings" not in meta:
        raise _fail(path, f"incomplete dedup index (missing: {', '.join(missing) or 'params in meta'})")
    return meta


# -- small helpers -----------------------------------------------------------------------------------------------

def id_list(values: Iterable) -> str:
    """A JSON array, for ``IN (SELECT value FROM json_each(?))`` with any number of values."""
    return json.dumps([v.item() if hasattr(v, "item") else v for v in values])


def file_bytes(path: Path) -> int:
    """The database file plus its WAL (what a reader needs)."""
    return sum(p.stat().st_size for p in (path, Path(str(path) + "-wal")) if p.exists())


def table_bytes(con: sqlite3.Connection) -> dict[str, int]:
    """Bytes of pages used by each table and index (``dbstat``), or {} where SQLite lacks dbstat."""
    try:
        return {name: int(size) for name, size in con.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name")}
    except sqlite3.Error:
        return {}
