"""The PostgreSQL backend of :mod:`dedup.index`: the same tables in a database on a server.

    dedup index add postgresql://user@127.0.0.1:5432/news examples/corpus.jsonl

Why PostgreSQL (rather than Redis) for archives that outgrow one file: an ``add``
batch is one transaction, so the crash guarantees are those of the SQLite file (a
batch reported committed survives the SIGKILL of the client and, with
``synchronous_commit=on``, a crash of the server; a killed client's open transaction
is rolled back whole); readers on any machine query while one writer adds (MVCC:
a reader never waits); band-key and posting lookups are B-tree index scans of the
primary keys; and the stored data keeps one documented relational format that any SQL
client can read. Redis would keep everything in memory (about 4 KB an article with
exact sets: 4 GB a million), offers no multi-key transactions with rollback, and needs
the format re-invented as keys.

The URL is libpq's (``postgresql://user:password@host:port/db?options=...``); tables
go in the connection's current schema (``public``, or another with
``?options=-csearch_path%3Dmyschema``), which must be empty or hold a dedup index.
Writers serialise on ``LOCK TABLE meta IN EXCLUSIVE MODE`` (readers are not blocked;
a writer waits up to 60 s for another, as SQLite's busy timeout). Requires ``psycopg``
3 (``pip install 'dedup[postgres]'``).
"""

from __future__ import annotations

from typing import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from .index_store import (FORMAT_VERSION, LOCK_TIMEOUT_S, RECENT_VERSION, TABLES, IndexFileError, check_meta,
                          meta_rows, plain)

RECENT_SCHEMA = """
CREATE TABLE bands_recent (band INTEGER NOT NULL, key BIGINT NOT NULL, doc BIGINT NOT NULL,
                           PRIMARY KEY (band, key, doc));
CREATE TABLE pbands_recent (band INTEGER NOT NULL, key BIGINT NOT NULL, doc BIGINT NOT NULL, para INTEGER NOT NULL,
                            PRIMARY KEY (band, key, doc, para));
CREATE INDEX pbands_recent_doc ON pbands_recent(doc);
"""

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE docs (
    doc BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    digest BYTEA NOT NULL,
    published TEXT,
    ts DOUBLE PRECISION NOT NULL,
    source TEXT,
    lang TEXT,
    title TEXT,
    size BIGINT NOT NULL,
    cleaned INTEGER NOT NULL,
    comp BIGINT NOT NULL,
    sig BYTEA NOT NULL
);
CREATE INDEX docs_comp ON docs(comp);
CREATE TABLE sets (doc BIGINT PRIMARY KEY, data BYTEA NOT NULL);
CREATE TABLE bands (band INTEGER NOT NULL, key BIGINT NOT NULL, doc BIGINT NOT NULL, PRIMARY KEY (band, key, doc));
CREATE TABLE pbands (band INTEGER NOT NULL, key BIGINT NOT NULL, doc BIGINT NOT NULL, para INTEGER NOT NULL,
                     PRIMARY KEY (band, key, doc, para));
CREATE INDEX pbands_doc ON pbands(doc);
CREATE TABLE pairs (a BIGINT NOT NULL, b BIGINT NOT NULL, jaccard DOUBLE PRECISION NOT NULL,
                    estimated DOUBLE PRECISION NOT NULL, c_ab DOUBLE PRECISION NOT NULL,
                    c_ba DOUBLE PRECISION NOT NULL, PRIMARY KEY (a, b));
CREATE INDEX pairs_b ON pairs(b);
CREATE TABLE comps (comp BIGINT PRIMARY KEY, rep BIGINT NOT NULL, size BIGINT NOT NULL);
CREATE TABLE story_docs (doc BIGINT PRIMARY KEY, lang TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,
                         story TEXT NOT NULL, anchors TEXT NOT NULL, terms BYTEA NOT NULL);
CREATE INDEX story_docs_story ON story_docs(story);
CREATE TABLE apost (key BIGINT NOT NULL, doc BIGINT NOT NULL, PRIMARY KEY (key, doc));
CREATE TABLE anchor_df (key BIGINT PRIMARY KEY, df BIGINT NOT NULL);
CREATE TABLE term_df (lang TEXT NOT NULL, term BIGINT NOT NULL, df BIGINT NOT NULL, PRIMARY KEY (lang, term));
CREATE TABLE lang_n (lang TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE story_links (a BIGINT NOT NULL, b BIGINT NOT NULL, score DOUBLE PRECISION NOT NULL,
                          kind INTEGER NOT NULL, anchor DOUBLE PRECISION NOT NULL, word DOUBLE PRECISION,
                          PRIMARY KEY (a, b));
CREATE INDEX story_links_b ON story_links(b);
""" + RECENT_SCHEMA

# one advisory lock for creating the tables (two first adds at once); any constant not used elsewhere
CREATE_LOCK = 0x64656475_70


def is_url(target: object) -> bool:
    """A ``postgresql://`` / ``postgres://`` URL (anything else is a file path)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


class PostgresBackend:
    """One psycopg connection in autocommit mode; writes are explicit ``BEGIN ... COMMIT`` transactions."""

    # band rows go straight to the main tables: a commit writes the WAL's records, not the pages (written once
    # per checkpoint), and moving rows between tiers measured slower (50,000 added: 1,153-1,230 against
    # 1,447-1,704 articles/s, assign p99 79-91 against 15-22 ms)
    recent_tier = False

    def __init__(self, con, where: str) -> None:
        import psycopg

        self.con, self.where, self._error, self._tx = con, where, psycopg.Error, False

    def _fail(self, e: BaseException) -> IndexFileError:
        return IndexFileError(f"{self.where}: PostgreSQL: {_line(e)}")

    # the protocol --------------------------------------------------------------------------------------------

    def rows(self, sql: str, args: Sequence = ()) -> list[tuple]:
        try:
            cur = self.con.execute(sql.replace("?", "%s"), tuple(args) or None)
            return cur.fetchall() if cur.description else []
        except self._error as e:
            raise self._fail(e) from None

    def many(self, sql: str, rows: Iterable[Sequence]) -> None:
        rows = list(rows)
        if not rows:
            return
        try:
            with self.con.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)
        except self._error as e:
            raise self._fail(e) from None

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
        """COPY: about ten times the speed of INSERTs for the many band rows of a batch."""
        if not rows:
            return
        try:
            with self.con.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except self._error as e:
            raise self._fail(e) from None

    def increment(self, table: str, keys: Sequence[str], column: str, rows: Sequence[Sequence]) -> None:
        """One statement over unnested columns (executemany sends a thousand upserts for a batch's words)."""
        if not rows:
            return
        columns = [list(c) for c in zip(*rows)]
        types = ", ".join("?::text[]" if isinstance(c[0], str) else "?::bigint[]" for c in columns)
        self.rows(f"INSERT INTO {table} ({', '.join(keys)}, {column}) SELECT * FROM unnest({types}) "
                  f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {column} = {table}.{column} + excluded.{column}",
                  columns)

    def any(self, column: str, kind: str = "int") -> str:
        # planned with the array's values (no prepared statements, see open_postgres): PostgreSQL then hashes a
        # long array or probes the index per element, where a generic plan compares each row with every element
        return f"{column} = ANY(?::{'bigint' if kind == 'int' else 'text'}[])"

    def arg(self, values: Iterable) -> list:
        return plain(values)

    def begin(self) -> None:
        self.rows("BEGIN")
        self._tx = True
        self.rows("LOCK TABLE meta IN EXCLUSIVE MODE")

    def commit(self) -> None:
        self.rows("COMMIT")
        self._tx = False

    def rollback(self) -> None:
        if self._tx:
            self._tx = False
            try:
                self.con.execute("ROLLBACK")
            except self._error:
                pass  # a broken connection has rolled back on the server already

    @property
    def in_transaction(self) -> bool:
        return self._tx

    def candidates(self, tables: Sequence[str], rows: Sequence[tuple]) -> set[tuple[int, int]]:
        if not rows:
            return set()
        band, key, qdoc = (list(c) for c in zip(*rows))
        union = " UNION ALL ".join(f"SELECT band, key, doc FROM {t}" for t in tables)
        return set(self.rows(
            "SELECT DISTINCT q.qdoc, t.doc FROM unnest(?::integer[], ?::bigint[], ?::bigint[]) AS q(band, key, qdoc) "
            f"JOIN ({union}) AS t ON t.band = q.band AND t.key = q.key WHERE t.doc <> q.qdoc", (band, key, qdoc)))

    def postings(self, keys: Sequence[int], limit: int) -> dict[int, np.ndarray]:
        if not keys or limit <= 0:
            return {}
        return {key: np.array(docs, np.int64) for key, docs in self.rows(
            "SELECT k.key, array(SELECT doc FROM apost WHERE apost.key = k.key ORDER BY doc DESC LIMIT ?) "
            "FROM unnest(?::bigint[]) AS k(key)", (limit, plain(keys))) if docs}

    def integrity(self) -> list[str]:
        return []  # PostgreSQL checks pages itself (checksums where enabled); no cheap whole-database check

    def size_bytes(self) -> int:
        return sum(self.table_bytes().values())

    def table_bytes(self) -> dict[str, int]:
        """Bytes of each table (with TOAST) and index of the index's schema."""
        return {name: int(size) for name, size in self.rows(
            "SELECT c.relname, CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid) ELSE pg_table_size(c.oid) END "
            "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')")}

    def checkpoint(self) -> None:
        """Nothing to do: table sizes are current (benchmarks call this on SQLite to fold the WAL in)."""

    def close(self) -> None:
        self.con.close()


def open_postgres(url: str, create: bool, synchronous: str, meta: dict[str, object]) -> tuple[PostgresBackend, dict]:
    """The open backend and the index's decoded meta; an empty schema gets the tables and ``meta``."""
    where = redact(url)
    if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
        raise IndexFileError(f"synchronous={synchronous!r} is invalid: expected 'NORMAL', 'FULL' or 'EXTRA'")
    try:
        import psycopg
    except ImportError:
        raise IndexFileError(f"{where}: a PostgreSQL index needs psycopg 3: pip install 'dedup[postgres]'") from None
    try:
        # prepare_threshold=None: every statement is planned with its parameters (the lists of keys vary in
        # length from 1 to 10,000; a generic plan suits none of them)
        con = psycopg.connect(url, autocommit=True, connect_timeout=10, prepare_threshold=None)
    except psycopg.Error as e:
        raise IndexFileError(f"{where}: cannot connect to PostgreSQL ({_line(e)})") from None
    db = PostgresBackend(con, where)
    try:
        # durable commits (FULL) whatever the server default; NORMAL: survives the client's death, not the server's
        db.rows(f"SET synchronous_commit = {'off' if synchronous.upper() == 'NORMAL' else 'on'}")
        db.rows(f"SET lock_timeout = '{int(LOCK_TIMEOUT_S)}s'")
        db.rows("SET jit = off")  # short queries: compiling them costs more than it saves
        schema = db.rows("SELECT current_schema()")[0][0]
        if schema is None:
            raise IndexFileError(f"{where}: no schema to hold the index (the search_path names none that exists)")
        tables = _tables(db)
        if not tables:
            if not create:
                raise IndexFileError(f"{where}: empty database (schema {schema}), not a dedup index")
            _create(db, meta)
            tables = _tables(db)
        if "meta" not in tables:
            raise IndexFileError(f"{where}: a PostgreSQL database but not a dedup index (schema {schema} has "
                                 f"{len(tables)} tables and no meta table)")
        got = check_meta(db.rows("SELECT name, value FROM meta"), tables, where, "a PostgreSQL database")
        if got["format_version"] < RECENT_VERSION:
            _upgrade(db)
            got["format_version"] = FORMAT_VERSION
        return db, got
    except BaseException:
        db.close()
        raise


def _tables(db: PostgresBackend) -> set[str]:
    return {r[0] for r in db.rows("SELECT table_name FROM information_schema.tables "
                                  "WHERE table_schema = current_schema()")}


def _upgrade(db: PostgresBackend) -> None:
    """Give an index of format 1 or 2 the recent tier's empty tables (format 3 reads the same otherwise)."""
    db.begin()
    try:
        if "bands_recent" not in _tables(db):
            for statement in RECENT_SCHEMA.split(";"):
                if statement.strip():
                    db.rows(statement)
        db.rows("UPDATE meta SET value = ? WHERE name = 'format_version'", (str(FORMAT_VERSION),))
        db.commit()
    except BaseException:
        db.rollback()
        raise


def _create(db: PostgresBackend, meta: dict[str, object]) -> None:
    """Create the tables and write ``meta`` in one transaction, unless another client did it first."""
    db.rows("BEGIN")
    db._tx = True
    try:
        db.rows("SELECT pg_advisory_xact_lock(?)", (CREATE_LOCK,))
        if not _tables(db) & set(TABLES):
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.rows(statement)
            db.many("INSERT INTO meta (name, value) VALUES (?, ?)", meta_rows(meta))
        db.commit()
    except BaseException:
        db.rollback()
        raise
