"""What every storage backend of :mod:`dedup.index` shares: the format, its encodings, the backend protocol.

Two backends hold the same tables with the same meaning: :mod:`dedup.index_sqlite` (one
file, no server) and :mod:`dedup.index_postgres` (a PostgreSQL database, for archives
that outgrow a file or need many readers on other machines). The index logic
(:mod:`dedup.index`, :mod:`dedup.index_stories`) is written once, in SQL both accept;
a backend is the small :class:`Backend` protocol: run SQL, bulk-insert, transactions,
two lookups whose fastest form differs (band candidates, anchor postings), sizes.

Format (version 3)
------------------
Integers are 64-bit (SQLite INTEGER, PostgreSQL BIGINT), reals IEEE doubles, binary
values SQLite BLOB / PostgreSQL BYTEA; no pickle anywhere.

``meta(name TEXT PRIMARY KEY, value TEXT)``; every value is JSON:

- ``application``: ``"dedup-index"``; ``format_version``: ``3`` (a reader refuses newer;
  version 1 files, which predate stories, are read with stories off; version 1 and 2
  files, which predate the recent tier, get its empty tables when opened);
- ``params``: what stored data depends on, compared on open (a difference raises
  :class:`~dedup.errors.IncompatibleSignatures` naming the fields):
  ``SignatureSpec.as_dict()`` (hash_version, scheme, seed, num_perm, unit, k,
  strip_accents, clean_repeats), ``level``, ``threshold``, ``containment``,
  ``bands``, ``rows`` (resolved, not min_recall), ``store_sets``, the repeat
  parameters when ``clean_repeats`` is on, and ``stories``: the story parameters
  (:data:`dedup.index_stories.STORED_FIELDS` of ``StoryParams``) or null when stories
  are off;
- ``settings``: the rest of the Config the index was made with (``min_recall``,
  ``max_bucket``, ``cluster``, ``repeats``), used when opened without a Config;
  they change exports only, never stored data;
- ``recent_from``: the first doc key whose band rows may be in the recent tier (below),
  written when a merge round starts; absent before the first one (every key may then be);
  ``merge_next``: the next band a round under way moves (null or absent: none under way).

``docs``: ``doc`` (internal key, primary key), ``id TEXT UNIQUE``, ``digest`` (binary
BLAKE2b-128 of the UTF-8 text: re-adding an id is a no-op when equal, a reported conflict
otherwise), ``published TEXT`` (as given), ``ts`` (its epoch seconds, +inf when absent:
representative order), ``source``, ``lang``, ``title``, ``size`` (shingles in the exact
set; -1 for bulk-loaded signatures), ``cleaned`` (0/1: repeats were left out before
hashing), ``comp`` (cluster label, see ``comps``), ``sig`` (num_perm little-endian
uint32: 512 bytes at 128 permutations). Index ``docs_comp(comp)``.

``sets(doc PRIMARY KEY, data)``: the exact shingle set, sorted little-endian uint64 (8
bytes per shingle). Empty when the index was made with ``store_sets=False``:
verification then uses the MinHash estimate (and a containment estimated from it and
the set sizes); every result says so (``Match.exact``, ``AddReport.exact``,
``stats()['store_sets']``).

``bands(band, key, doc)``, ``PRIMARY KEY (band, key, doc)``: the B-tree a lookup ``WHERE
band=? AND key=?`` walks (SQLite: a WITHOUT ROWID table, the rows are the B-tree).
``key`` is ``dedup.lsh.band_keys`` (uint64) stored as the signed int64 with the same
bits. One row per band of every non-empty document (empty texts match nothing and have
no rows, as in ``find``).

``bands_recent`` and ``pbands_recent``: the same columns and keys as ``bands`` and
``pbands`` (the recent tier). A document's band rows are in one of the two tables. In
SQLite an add writes them to the recent tier, and when that holds more than
``dedup.index.RECENT_MIN`` documents and more than a ``RECENT_RATIO``-th of the keys below
``recent_from``, a merge round starts: each add batch from then on moves the rows of a few
bands (in proportion to its size) into the main table, in key order, inside its
transaction, until every band has moved. Lookups read both. PostgreSQL writes to the
main tables and its tier stays empty: there moving rows measured slower than writing
them in place. Band keys are
random, so a batch's rows land on every page of a large B-tree: at 1,000,000 indexed, a
batch of 5,000 articles rewrote nearly all 50,000 pages of ``bands`` (800 MB in the WAL and
again at the checkpoint), a cost the small recent table does not have and the merge pays
once per tens of thousands of articles.

``pbands(band, key, doc, para)``, primary key all four, index ``pbands_doc(doc)``: band
keys of each paragraph of >= 8 shingles (``para`` counts them within the document from
0); filled only when ``containment`` is set, as ``find`` then also takes candidates from
paragraph-level LSH.

``pairs(a, b, jaccard, estimated, c_ab, c_ba)``, ``PRIMARY KEY (a, b)``, index
``pairs_b(b)``: every verified pair, ``a`` being the doc whose id is smaller; ``c_ab`` =
containment of a in b.

``comps(comp PRIMARY KEY, rep, size)``: connected components (clusters) of ``pairs``
with two or more members. ``docs.comp`` is the label of each document's component,
always the key of one of its members (a singleton's is its own key and has no ``comps``
row); ``rep`` is the representative's key (earliest ``ts``, then smallest id, as in
``find``). Adding a pair merges two labels (the smaller component is relabelled, so
each document is relabelled O(log n) times); removing a document rebuilds only its
component.

Stories (empty when ``params.stories`` is null; see :mod:`dedup.index_stories`):

``story_docs(doc PRIMARY KEY, lang TEXT, ts, story TEXT, anchors TEXT, terms)``, index
``story_docs_story(story)``: the language used, the story time (``published``, else a
dateline near the start of the text; +inf when neither), the story (named by the id of
the document that started it), the anchors as a JSON object ``{key: kind letter}`` (``n``
name, ``a`` acronym, ``c`` code, ``p`` phrase, ``#`` number, ``%`` percent, ``d`` date),
and the word counts as little-endian uint32 term hashes (XXH32 of the UTF-8 of each
token, sorted) followed by as many uint16 counts.

``apost(key, doc)``, ``PRIMARY KEY (key, doc)``: anchor postings, ``key`` the XXH64 of
the anchor key as a signed int64. ``anchor_df(key PRIMARY KEY, df)``: how many documents
hold each anchor (the count of its postings, kept so that a frequent anchor costs one
row to look up). ``term_df(lang, term, df)``, ``PRIMARY KEY (lang, term)``: document
frequency of each word hash per language. ``lang_n(lang PRIMARY KEY, n)``: documents
per language.

``story_links(a, b, score, kind, anchor, word)``, ``PRIMARY KEY (a, b)``, index
``story_links_b(b)``: the scored pairs inside a story, from when the later one joined
(``a`` has the smaller id; ``kind`` 1 = copy, 0 = rewrite; ``anchor`` the anchor score,
``word`` the word similarity or null).
"""

from __future__ import annotations

import json
from typing import Iterable, Protocol, Sequence

import numpy as np

from .errors import DedupError

APPLICATION = "dedup-index"
FORMAT_VERSION = 3
RECENT_VERSION = 3  # the first format with the recent tier
LOCK_TIMEOUT_S = 60.0

TIERS = {"bands": "bands_recent", "pbands": "pbands_recent"}  # main table -> its recent tier
CORE_TABLES = ("meta", "docs", "sets", "bands", "bands_recent", "pbands", "pbands_recent", "pairs", "comps")
STORY_TABLES = ("story_docs", "apost", "anchor_df", "term_df", "lang_n", "story_links")
TABLES = CORE_TABLES + STORY_TABLES


def both_tiers(main: str) -> str:
    """A FROM clause of the rows of band table ``main`` and of its recent tier (a document's rows are in one)."""
    return f"(SELECT * FROM {main} UNION ALL SELECT * FROM {TIERS[main]}) AS t"


class IndexFileError(DedupError):
    """An index is missing, corrupt, not a database, not a dedup index, or too new."""


class Backend(Protocol):
    """A connection to one index. SQL uses ``?`` placeholders; lists go through :meth:`any`/:meth:`arg`."""

    where: str  # the file or the URL (without password), for messages
    recent_tier: bool  # whether adds write band rows to the recent tier (else to the main tables)

    def rows(self, sql: str, args: Sequence = ()) -> list[tuple]:
        """Run one statement; its rows ([] for statements returning none)."""

    def many(self, sql: str, rows: Iterable[Sequence]) -> None:
        """Run one statement for each row of parameters."""

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
        """Insert new rows (no conflicts expected) as fast as the backend can."""

    def increment(self, table: str, keys: Sequence[str], column: str, rows: Sequence[Sequence]) -> None:
        """Add ``rows`` (key values..., amount) to ``column`` of ``table``, inserting missing keys."""

    def any(self, column: str, kind: str = "int") -> str:
        """SQL true when ``column`` is in the list passed as ``arg(values)``; kind ``int`` or ``text``."""

    def arg(self, values: Iterable) -> object:
        """The parameter for :meth:`any`."""

    def begin(self) -> None:
        """Start the one write transaction (writers queue, readers go on)."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    @property
    def in_transaction(self) -> bool: ...

    def candidates(self, tables: Sequence[str], rows: Sequence[tuple]) -> set[tuple[int, int]]:
        """``(qdoc, doc)`` of every stored row of ``tables`` (a band table and its recent tier) with a (band,
        key) of ``rows`` (``(band, key, qdoc)``), doc != qdoc."""

    def postings(self, keys: Sequence[int], limit: int) -> dict[int, np.ndarray]:
        """Per anchor key held by any document, the ``limit`` largest doc keys (the latest) holding it, in
        descending order (int64)."""

    def integrity(self) -> list[str]:
        """Problems the database engine itself finds (SQLite integrity_check; [] where it has none)."""

    def size_bytes(self) -> int:
        """Bytes the index occupies (file + WAL, or relations)."""

    def table_bytes(self) -> dict[str, int]:
        """Bytes per table and index ({} when unknown)."""

    def close(self) -> None: ...


# -- encodings -------------------------------------------------------------------------------------------------

def sig_blob(sig: np.ndarray) -> bytes:
    """A signature as raw little-endian uint32 (num_perm * 4 bytes)."""
    return np.ascontiguousarray(sig, dtype="<u4").tobytes()


def sig_from_blobs(blobs: Sequence[bytes], num_perm: int) -> np.ndarray:
    """Rows of uint32 from signature blobs; refuses a blob of the wrong length."""
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
    """uint64 keys as 64-bit SQL integers: the same 64 bits read as signed int64."""
    return np.ascontiguousarray(keys, dtype=np.uint64).view(np.int64)


def plain(values: Iterable) -> list:
    """Python ints/strs from numpy scalars (drivers want plain values)."""
    return [v.item() if hasattr(v, "item") else v for v in values]


# -- meta --------------------------------------------------------------------------------------------------------

def meta_rows(meta: dict[str, object]) -> list[tuple[str, str]]:
    return [(k, json.dumps(v, sort_keys=True)) for k, v in meta.items()]


def check_meta(rows: Sequence[tuple[str, str]], tables: set[str], where: str, kind: str) -> dict:
    """The decoded meta table, after checking it is a dedup index this version can read.

    ``tables``: the tables present; ``kind``: "an SQLite database" / "a PostgreSQL database", for messages.
    """
    try:
        meta = {k: json.loads(v) for k, v in rows}
    except (ValueError, TypeError) as e:
        raise IndexFileError(f"{where}: unreadable meta table ({e})") from None
    if meta.get("application") != APPLICATION:
        raise IndexFileError(f"{where}: {kind} but not a dedup index (meta application="
                             f"{meta.get('application')!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise IndexFileError(f"{where}: meta has no integer format_version (got {version!r})")
    if version > FORMAT_VERSION:
        raise IndexFileError(f"{where}: index format {version} was written by a newer dedup; this one reads "
                             f"format <= {FORMAT_VERSION}")
    if "params" not in meta or "settings" not in meta or not isinstance(meta["params"], dict):
        raise IndexFileError(f"{where}: incomplete dedup index (missing: params in meta)")
    need = CORE_TABLES + (STORY_TABLES if meta["params"].get("stories") else ())
    if version < RECENT_VERSION:  # created when opened (see the backends' ``upgrade``)
        need = tuple(t for t in need if t not in TIERS.values())
    missing = [t for t in need if t not in tables]
    if missing:
        raise IndexFileError(f"{where}: incomplete dedup index (missing: {', '.join(missing)})")
    return meta
