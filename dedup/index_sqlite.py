"""The SQLite backend of :mod:`dedup.index`: one file, no server.

WAL journal, so readers (other connections, threads with their own ``Index``, other
processes) query while one writer adds; writers queue (60 s busy timeout).
``synchronous=FULL`` by default: a commit returns after the WAL is fsynced, so a batch
reported committed survives an OS crash or power loss as well as the SIGKILL of the
process. For SIGKILL alone ``NORMAL`` would suffice (the committed WAL frames are in the
OS page cache when the process dies); with one fsync per batch of 1,000 documents, FULL
costs well under 1% of add time. The tables are those of :mod:`dedup.index_store`; the
band and posting tables are WITHOUT ROWID, so their primary key is the table.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .index_store import (APPLICATION, FORMAT_VERSION, LOCK_TIMEOUT_S, RECENT_VERSION, IndexFileError, check_meta,
                          meta_rows, plain, set_blob, set_from_blob, sig_blob, sig_from_blobs, signed)

__all__ = ["APPLICATION", "FORMAT_VERSION", "IndexFileError", "SQLiteBackend", "set_blob", "set_from_blob",
           "sig_blob", "sig_from_blobs", "signed"]

SQLITE_HEADER = b"SQLite format 3\x00"
PAGE_SIZE = 16384  # new files; 4 KiB pages hold one 2-5 KB set or story row each and waste the rest

RECENT_SCHEMA = """
CREATE TABLE bands_recent (band INTEGER NOT NULL, key INTEGER NOT NULL, doc INTEGER NOT NULL,
                           PRIMARY KEY (band, key, doc)) WITHOUT ROWID;
CREATE TABLE pbands_recent (band INTEGER NOT NULL, key INTEGER NOT NULL, doc INTEGER NOT NULL,
                            para INTEGER NOT NULL, PRIMARY KEY (band, key, doc, para)) WITHOUT ROWID;
CREATE INDEX pbands_recent_doc ON pbands_recent(doc);
"""

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
CREATE TABLE story_docs (doc INTEGER PRIMARY KEY, lang TEXT NOT NULL, ts REAL NOT NULL, story TEXT NOT NULL,
                         anchors TEXT NOT NULL, terms BLOB NOT NULL);
CREATE INDEX story_docs_story ON story_docs(story);
CREATE TABLE apost (key INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (key, doc)) WITHOUT ROWID;
CREATE TABLE anchor_df (key INTEGER PRIMARY KEY, df INTEGER NOT NULL);
CREATE TABLE term_df (lang TEXT NOT NULL, term INTEGER NOT NULL, df INTEGER NOT NULL,
                      PRIMARY KEY (lang, term)) WITHOUT ROWID;
CREATE TABLE lang_n (lang TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE story_links (a INTEGER NOT NULL, b INTEGER NOT NULL, score REAL NOT NULL, kind INTEGER NOT NULL,
                          anchor REAL NOT NULL, word REAL, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE INDEX story_links_b ON story_links(b);
""" + RECENT_SCHEMA


class SQLiteBackend:
    """One SQLite connection (autocommit; explicit ``BEGIN IMMEDIATE`` for writes)."""

    recent_tier = True  # a commit writes every page it dirtied: random band keys dirty all of a large table

    def __init__(self, con: sqlite3.Connection, path: Path) -> None:
        self.con, self.path, self.where = con, path, str(path)

    # the protocol --------------------------------------------------------------------------------------------

    def rows(self, sql: str, args: Sequence = ()) -> list[tuple]:
        try:
            return self.con.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as e:
            raise IndexFileError(f"{self.where}: {e}") from None

    def many(self, sql: str, rows: Iterable[Sequence]) -> None:
        try:
            self.con.executemany(sql, rows)
        except sqlite3.DatabaseError as e:
            raise IndexFileError(f"{self.where}: {e}") from None

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
        if rows:
            self.con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                 f"({', '.join('?' * len(columns))})", rows)

    def increment(self, table: str, keys: Sequence[str], column: str, rows: Sequence[Sequence]) -> None:
        self.many(f"INSERT INTO {table} ({', '.join(keys)}, {column}) VALUES ({', '.join('?' * (len(keys) + 1))}) "
                  f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {column} = {table}.{column} + excluded.{column}",
                  rows)

    def any(self, column: str, kind: str = "int") -> str:
        return f"{column} IN (SELECT value FROM json_each(?))"

    def arg(self, values: Iterable) -> str:
        return json.dumps(plain(values))

    def begin(self) -> None:
        self.con.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        if self.con.in_transaction:
            self.con.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self.con.in_transaction

    def candidates(self, tables: Sequence[str], rows: Sequence[tuple]) -> set[tuple[int, int]]:
        con = self.con
        con.execute("CREATE TEMP TABLE IF NOT EXISTS q (band INTEGER, key INTEGER, qdoc INTEGER)")
        con.execute("DELETE FROM temp.q")
        con.executemany("INSERT INTO temp.q (band, key, qdoc) VALUES (?, ?, ?)", rows)
        found = set()
        for table in tables:
            found.update(con.execute(f"SELECT DISTINCT q.qdoc, t.doc FROM temp.q AS q CROSS JOIN {table} AS t "
                                     "ON t.band = q.band AND t.key = q.key WHERE t.doc <> q.qdoc"))
        con.execute("DELETE FROM temp.q")
        return found

    def postings(self, keys: Sequence[int], limit: int) -> dict[int, np.ndarray]:
        if limit <= 0 or not keys:
            return {}
        # one statement for all keys (a statement per key cost ~3x more: ~10 us each, ~60 keys an article); per
        # key one descending range of at most ``limit`` rows, handed back as one string parsed by numpy. Rows
        # of (key, doc) from the ``limit``-th doc up (found by OFFSET, walked again) cost ~2x: at 1,000,000
        # indexed ~1,300 Python tuples a query, with the garbage collections they set off
        rows = self.con.execute(
            "SELECT j.value, (SELECT group_concat(doc) FROM (SELECT doc FROM apost WHERE key = j.value "
            "ORDER BY doc DESC LIMIT ?)) FROM json_each(?) AS j", (limit, self.arg(keys))).fetchall()
        # group_concat's order is not promised: sorted again (already in order, so cheap)
        return {key: -np.sort(-np.fromstring(docs, np.int64, sep=",")) for key, docs in rows if docs is not None}

    def integrity(self) -> list[str]:
        return [f"integrity_check: {r[0]}" for r in self.con.execute("PRAGMA integrity_check") if r[0] != "ok"]

    def size_bytes(self) -> int:
        """The database file plus its WAL (what a reader needs)."""
        return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())

    def table_bytes(self) -> dict[str, int]:
        """Bytes of pages used by each table and index (``dbstat``), or {} where SQLite lacks dbstat."""
        try:
            return {name: int(size) for name, size in self.con.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name")}
        except sqlite3.Error:
            return {}

    def checkpoint(self) -> None:
        """Move the WAL into the database file (benchmarks measure the file after this)."""
        self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.con.close()


# -- opening ---------------------------------------------------------------------------------------------------

def _fail(path: Path, what: str) -> IndexFileError:
    return IndexFileError(f"{path}: {what}")


def open_sqlite(path: str | os.PathLike, create: bool, synchronous: str, meta: dict[str, object]
                ) -> tuple[SQLiteBackend, dict]:
    """The open backend and the index's decoded meta; a new file gets the schema and ``meta``."""
    con, new = connect(path, create, synchronous)
    path = Path(path)
    try:
        if new:
            create_schema(con, meta)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        try:
            rows = con.execute("SELECT name, value FROM meta").fetchall()
        except sqlite3.DatabaseError as e:
            raise _fail(path, f"unreadable meta table ({e})") from None
        found = check_meta(rows, tables, str(path), "an SQLite database")
        if found["format_version"] < RECENT_VERSION:
            upgrade(con, path)
            found["format_version"] = FORMAT_VERSION
        return SQLiteBackend(con, path), found
    except BaseException:
        con.close()
        raise


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
        con = sqlite3.connect(str(path), timeout=LOCK_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as e:
        raise _fail(path, f"cannot open: {e}") from None
    try:
        con.execute(f"PRAGMA busy_timeout = {int(LOCK_TIMEOUT_S * 1000)}")
        if not exists:  # before anything is written: rows of a few KB (sets, story words) fill 16 KiB pages well
            con.execute(f"PRAGMA page_size = {PAGE_SIZE}")
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


def upgrade(con: sqlite3.Connection, path: Path) -> None:
    """Give a file of format 1 or 2 the recent tier's empty tables (format 3 reads the same otherwise)."""
    try:
        con.execute("BEGIN IMMEDIATE")
        if not con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'bands_recent'").fetchone()[0]:
            for statement in RECENT_SCHEMA.split(";"):
                if statement.strip():
                    con.execute(statement)
        con.execute("UPDATE meta SET value = ? WHERE name = 'format_version'", (str(FORMAT_VERSION),))
        con.execute("COMMIT")
    except sqlite3.Error as e:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise _fail(path, f"an index of format < {RECENT_VERSION} needs its recent band tables added, and they "
                          f"could not be ({e})") from None


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
        con.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", meta_rows(meta))
        con.execute("COMMIT")
        return True
    except BaseException:
        con.execute("ROLLBACK")
        raise
