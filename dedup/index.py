"""A persistent, incremental near-duplicate index in one SQLite file.

    >>> from dedup.index import Index
    >>> with Index.open("news.dedup") as ix:          # created if missing, with Config() or the given one
    ...     report = ix.add(docs)                      # AddReport: added / present / conflicts / cleaned ...
    ...     matches = ix.query([doc])[0]               # [Match(id, jaccard, estimated_jaccard, ...)], nothing added
    ...     where = ix.assign(doc)                     # adds doc, returns its cluster (representative, members)
    ...     ix.export("out/")                          # pairs.jsonl, clusters.jsonl, cleaned.jsonl as `dedup find`

Adding a corpus in any number of parts and exporting gives the same bytes as
``dedup find`` on the whole corpus with the same parameters (see "Incremental
versus batch" below).

File format (version 1)
-----------------------
One SQLite database in WAL mode (``PATH``, ``PATH-wal`` and ``PATH-shm`` while
open). Integers are SQLite INTEGERs, reals are IEEE doubles; no pickle anywhere.

``meta(name TEXT PRIMARY KEY, value TEXT)`` WITHOUT ROWID; every value is JSON:

- ``application``: ``"dedup-index"``; ``format_version``: ``1`` (a reader refuses newer);
- ``params``: what stored data depends on, compared on open (a difference raises
  :class:`~dedup.errors.IncompatibleSignatures` naming the fields):
  ``SignatureSpec.as_dict()`` (hash_version, scheme, seed, num_perm, unit, k,
  strip_accents, clean_repeats), ``level``, ``threshold``, ``containment``,
  ``bands``, ``rows`` (resolved, not min_recall), ``store_sets``, and the repeat
  parameters when ``clean_repeats`` is on;
- ``settings``: the rest of the Config the file was made with (``min_recall``,
  ``max_bucket``, ``cluster``, ``repeats``), used when opened without a Config;
  they change exports only, never stored data.

``docs``: ``doc INTEGER PRIMARY KEY`` (internal key), ``id TEXT UNIQUE``,
``digest BLOB`` (BLAKE2b-128 of the UTF-8 text: re-adding an id is a no-op when
equal, a reported conflict otherwise), ``published TEXT`` (as given), ``ts REAL``
(its epoch seconds, +inf when absent: representative order), ``source``,
``lang``, ``title``, ``size`` (shingles in the exact set; -1 for bulk-loaded
signatures), ``cleaned`` (0/1: repeats were left out before hashing), ``comp``
(cluster label, see ``comps``), ``sig BLOB`` (num_perm little-endian uint32:
512 bytes at 128 permutations). Index ``docs_comp(comp)``.

``sets(doc INTEGER PRIMARY KEY, data BLOB)``: the exact shingle set, sorted
little-endian uint64 (8 bytes per shingle). Absent when the index was made with
``store_sets=False``: verification then uses the MinHash estimate (and a
containment estimated from it and the set sizes); every result says so
(``Match.exact``, ``AddReport.exact``, ``stats()['store_sets']``).

``bands(band, key, doc)`` WITHOUT ROWID, ``PRIMARY KEY (band, key, doc)``: the
clustered index a lookup ``WHERE band=? AND key=?`` walks. ``key`` is
``dedup.lsh.band_keys`` (uint64) stored as the signed int64 with the same bits.
One row per band of every non-empty document (empty texts match nothing and have
no rows, as in ``find``).

``pbands(band, key, doc, para)`` WITHOUT ROWID, index ``pbands_doc(doc)``: band
keys of each paragraph of >= 8 shingles (``para`` counts them within the
document from 0); filled only when ``containment`` is set, as ``find`` then
also takes candidates from paragraph-level LSH.

``pairs(a, b, jaccard, estimated, c_ab, c_ba)`` WITHOUT ROWID, ``PRIMARY KEY (a,
b)``, index ``pairs_b(b)``: every verified pair, ``a`` being the doc whose id is
smaller; ``c_ab`` = containment of a in b.

``comps(comp INTEGER PRIMARY KEY, rep, size)``: connected components (clusters)
of ``pairs`` with two or more members. ``docs.comp`` is the label of each
document's component, always the key of one of its members (a singleton's is
its own key and has no ``comps`` row); ``rep`` is the representative's key
(earliest ``ts``, then smallest id, as in ``find``). Adding a pair merges two
labels (the smaller component is relabelled, so each document is relabelled
O(log n) times); removing a document rebuilds only its component.

Durability and concurrency
--------------------------
``add`` commits one transaction per batch (``batch_size`` documents: docs, sets,
bands, pairs and cluster labels together), so a crash leaves whole batches
only. WAL mode: readers (other connections, threads with their own ``Index``,
other processes) query while one writer adds; writers queue (60 s busy
timeout). ``synchronous=FULL`` by default: a commit returns after the WAL is
fsynced, so a batch reported committed survives an OS crash or power loss as
well as the SIGKILL of the process. For SIGKILL alone ``NORMAL`` would suffice
(the committed WAL frames are in the OS page cache when the process dies); with
one fsync per batch of 1,000 documents, FULL costs well under 1% of add time.

Incremental versus batch
------------------------
``add`` and ``query`` take as candidates every indexed document that shares a
band (or, with containment, a paragraph band) with the new one: no cap. ``find``
caps an LSH bucket larger than ``max_bucket`` (default 200), linking its members
to its first one only. So the stored ``pairs``, ``stats()['pairs']`` and the
clusters of ``assign`` are a superset of ``find``'s when, and only when, some
bucket holds more than ``max_bucket`` documents (boilerplate pages): then pairs
inside that bucket that ``find`` never compares are verified and kept (they are
true matches). ``export`` (``cap=True``, the default) recomputes ``find``'s
capped candidate set from the stored band keys and keeps only those pairs, so
its files are byte-identical to ``find`` in every case; ``cap=False`` exports
every stored pair. A query against a huge bucket verifies all its members
(cost grows with the bucket). ``level="paragraph"`` is not supported.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .document import Document
from .errors import IncompatibleSignatures, ParameterError
from .index_sqlite import (FORMAT_VERSION, APPLICATION, IndexFileError, connect, create_schema, file_bytes,
                           id_list, read_meta, set_blob, set_from_blob, sig_blob, sig_from_blobs, signed,
                           table_bytes)
from .lsh import Candidates, band_keys, band_pairs, bands_for, unique_pairs
from .minhash import EMPTY, estimate_jaccard
from .params import (ClusterParams, Config, LSHParams, MatchParams, MinHashParams, NormalizeParams, RepeatParams,
                     ShingleParams)
from .pipeline import Result, make_clusters, spec_of, timestamp
from .report import write_report
from .sketch import Sketches, sketch
from .verify import Pairs, verify

__all__ = ["AddReport", "Assignment", "Index", "IndexFileError", "Match", "RemoveReport", "params_of"]

DEFAULT_BATCH = 1000


# -- results ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AddReport:
    """What one ``add`` call did. ``exact``: pairs were verified on exact shingle sets."""

    added: tuple[str, ...] = ()
    present: tuple[str, ...] = ()  # same id, same text: already indexed, nothing done
    conflicts: tuple[str, ...] = ()  # same id, different text: reported, the stored one is kept
    cleaned: tuple[str, ...] = ()  # added documents whose repeated body/paragraphs were not hashed
    empty: tuple[str, ...] = ()  # added documents with no shingles (they match nothing)
    pairs: int = 0  # new verified pairs
    batches: int = 0  # transactions committed
    exact: bool = True


@dataclass(frozen=True)
class Match:
    """An indexed document matching a query. ``jaccard`` is exact when ``exact``, else the MinHash estimate."""

    id: str
    jaccard: float
    estimated_jaccard: float
    containment_query_in_match: float
    containment_match_in_query: float
    exact: bool = True


@dataclass(frozen=True)
class Assignment:
    """The cluster of a document: connected component of verified pairs, named by its representative."""

    id: str
    status: str  # "added", "present" or "conflict" (the stored text was kept)
    representative: str
    members: tuple[str, ...]  # in id order; (id,) when it matches nothing


@dataclass(frozen=True)
class RemoveReport:
    removed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


# -- parameters ------------------------------------------------------------------------------------------------

def params_of(config: Config, store_sets: bool) -> dict:
    """Everything stored data depends on (``meta.params``)."""
    spec = spec_of(config)
    bands, rows = bands_for(config.match.threshold, config.minhash.num_perm, config.lsh)
    p = spec.as_dict()
    p.update(level=config.level, threshold=config.match.threshold, containment=config.match.containment,
             bands=bands, rows=rows, store_sets=store_sets)
    if spec.clean_repeats:
        r = config.repeats
        p["repeats"] = {"min_words": r.min_words, "max_gap": r.max_gap, "min_similarity": r.min_similarity,
                        "body_share": r.body_share}
    return p


def settings_of(config: Config) -> dict:
    r = config.repeats
    return {"min_recall": config.lsh.min_recall, "max_bucket": config.lsh.max_bucket,
            "cluster": config.cluster.method,
            "repeats": {"clean": r.clean, "min_words": r.min_words, "max_gap": r.max_gap,
                        "min_similarity": r.min_similarity, "body_share": r.body_share}}


def config_from(params: dict, settings: dict) -> Config:
    return Config(
        level=params["level"],
        normalize=NormalizeParams(strip_accents=params["strip_accents"]),
        shingle=ShingleParams(params["unit"], params["k"]),
        minhash=MinHashParams(params["num_perm"], params["seed"], params["scheme"]),
        lsh=LSHParams(min_recall=settings["min_recall"], max_bucket=settings["max_bucket"], bands=params["bands"],
                      rows=params["rows"]),
        match=MatchParams(params["threshold"], params["containment"]),
        cluster=ClusterParams(settings["cluster"]),
        repeats=RepeatParams(**settings["repeats"]),
    )


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


# -- the index -------------------------------------------------------------------------------------------------

class Index:
    """An open index file. One ``Index`` per thread (each holds its own SQLite connection)."""

    def __init__(self, path: Path, con: sqlite3.Connection, config: Config, params: dict) -> None:
        self.path, self.con, self.config, self.params = path, con, config, params
        self.spec = spec_of(config)
        self.bands, self.rows = params["bands"], params["rows"]
        self.num_perm = params["num_perm"]
        self.store_sets = bool(params["store_sets"])
        self.containment = params["containment"] is not None

    # opening -----------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, config: Config | None = None, create: bool = True,
             store_sets: bool | None = None, synchronous: str = "FULL") -> "Index":
        """Open (or, with ``create``, make) the index at ``path``.

        ``config=None`` uses the parameters stored in the file (``Config()`` for a new
        one). A ``config`` whose stored-data parameters differ from the file's raises
        ``IncompatibleSignatures`` naming each field; settings that only change
        exports (``max_bucket``, ``cluster``) are taken from ``config``.
        ``store_sets=False`` (new files only) keeps signatures only: verification then
        uses estimated Jaccard. Raises ``IndexFileError`` for a missing (without
        ``create``), corrupt, foreign or newer-format file.
        """
        path = Path(path)
        if config is not None and config.level != "article":
            raise ParameterError(f"level={config.level!r} is invalid for an index: expected 'article'")
        con, new = connect(path, create, synchronous)
        try:
            if new:
                cfg = config or Config()
                create_schema(con, {"application": APPLICATION, "format_version": FORMAT_VERSION,
                                    "params": params_of(cfg, True if store_sets is None else bool(store_sets)),
                                    "settings": settings_of(cfg)})
            meta = read_meta(con, path)
            stored = meta["params"]
            try:
                stored_config = config_from(stored, meta["settings"])
            except (KeyError, TypeError, ParameterError) as e:
                raise IndexFileError(f"{path}: unreadable parameters in meta ({e})") from None
            if store_sets is not None and bool(store_sets) != stored["store_sets"]:
                raise ParameterError(f"store_sets={store_sets!r} is invalid for {path}: the index was made with "
                                     f"store_sets={stored['store_sets']!r}")
            if config is not None:
                given = params_of(config, stored["store_sets"])
                diff = [f"{k}: {stored.get(k)!r} in the index vs {given.get(k)!r} given"
                        for k in sorted(set(stored) | set(given)) if stored.get(k) != given.get(k)]
                if diff:
                    raise IncompatibleSignatures(f"{path}: the index was made with different parameters ("
                                                 + "; ".join(diff) + ")")
            elif stored.get("hash_version") != spec_of(stored_config).hash_version:
                raise IncompatibleSignatures(
                    f"{path}: the index was made with hash_version {stored.get('hash_version')!r}; this dedup "
                    f"hashes with {spec_of(stored_config).hash_version}: rebuild the index")
            return cls(path, con, config or stored_config, stored)
        except BaseException:
            con.close()
            raise

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # adding ------------------------------------------------------------------------------------------------

    def add(self, documents: Iterable[Document], batch_size: int = DEFAULT_BATCH,
            on_commit: Callable[[AddReport], None] | None = None) -> AddReport:
        """Index ``documents`` (any order), ``batch_size`` per transaction.

        ``on_commit(report_of_that_batch)`` runs after each commit: from then on the
        batch survives a crash. An id already indexed is skipped: ``present`` if its
        text is the same, ``conflicts`` otherwise (the stored document is kept).
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ParameterError(f"batch_size={batch_size!r} is invalid: expected a positive integer")
        total = AddReport(exact=self.store_sets)
        seen: dict[str, bytes] = {}
        batch: list[Document] = []
        for d in documents:
            batch.append(d)
            if len(batch) >= batch_size:
                total = self._merge_reports(total, self._add_batch(batch, seen, on_commit))
                batch = []
        if batch:
            total = self._merge_reports(total, self._add_batch(batch, seen, on_commit))
        return total

    @staticmethod
    def _merge_reports(a: AddReport, b: AddReport) -> AddReport:
        return AddReport(a.added + b.added, a.present + b.present, a.conflicts + b.conflicts, a.cleaned + b.cleaned,
                         a.empty + b.empty, a.pairs + b.pairs, a.batches + b.batches, a.exact)

    def _stored_digests(self, ids: Sequence[str]) -> dict[str, bytes]:
        return dict(self.con.execute("SELECT id, digest FROM docs WHERE id IN (SELECT value FROM json_each(?))",
                                     (id_list(ids),)))

    def _split_new(self, docs: Sequence[Document], seen: dict[str, bytes]):
        """(new documents with digests, present ids, conflicting ids); also dedups inside the call."""
        stored = self._stored_digests([d.id for d in docs])
        new, present, conflicts = [], [], []
        for d in docs:
            h = digest(d.text)
            old = seen.get(d.id, stored.get(d.id))
            if old is None:
                seen[d.id] = h
                new.append((d, h))
            else:
                (present if old == h else conflicts).append(d.id)
        return new, present, conflicts

    def _sketch(self, texts: Sequence[str]) -> Sketches:
        return sketch(list(texts), self.spec, paragraphs=self.containment, repeats=self.config.repeats)

    def _add_batch(self, docs: Sequence[Document], seen: dict[str, bytes], on_commit) -> AddReport:
        new, present, conflicts = self._split_new(docs, seen)
        sk = self._sketch([d.text for d, _ in new]) if new else None
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            if new:  # another writer may have added some of these since the check above
                raced = self._stored_digests([d.id for d, _ in new])
                if raced:
                    for d, h in new:
                        if d.id in raced:
                            (present if raced[d.id] == h else conflicts).append(d.id)
                    keep = np.array([d.id not in raced for d, _ in new])
                    new = [x for x, k in zip(new, keep) if k]
                    sk = self._sketch([d.text for d, _ in new]) if new else None
            n_pairs, cleaned, empty = (self._insert(new, sk) if new else (0, [], []))
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        report = AddReport(tuple(d.id for d, _ in new), tuple(present), tuple(conflicts), tuple(cleaned),
                           tuple(empty), n_pairs, 1, self.store_sets)
        if on_commit is not None:
            on_commit(report)
        return report

    def _insert(self, new: list, sk: Sketches) -> tuple[int, list[str], list[str]]:
        con = self.con
        n = len(new)
        first = con.execute("SELECT coalesce(max(doc), 0) + 1 FROM docs").fetchone()[0]
        keys = np.arange(first, first + n, dtype=np.int64)
        sizes = np.diff(sk.set_indptr)
        cleaned = np.zeros(n, bool)
        cleaned[sk.cleaned] = True
        con.executemany(
            "INSERT INTO docs (doc, id, digest, published, ts, source, lang, title, size, cleaned, comp, sig) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(int(k), d.id, h, d.published, timestamp(d.published), d.source, d.lang, d.title, int(s), int(c),
              int(k), sig_blob(sig))
             for k, (d, h), s, c, sig in zip(keys, new, sizes, cleaned, sk.signatures)])
        if self.store_sets:
            ip = sk.set_indptr
            con.executemany("INSERT INTO sets (doc, data) VALUES (?, ?)",
                            [(int(keys[i]), set_blob(sk.set_data[ip[i]:ip[i + 1]])) for i in range(n)])
        rows = self._band_rows(sk.signatures, keys)
        con.executemany("INSERT INTO bands (band, key, doc) VALUES (?, ?, ?)", rows)
        prows = self._paragraph_rows(sk, keys) if self.containment else []
        if prows:
            con.executemany("INSERT INTO pbands (band, key, doc, para) VALUES (?, ?, ?, ?)", prows)
        cands = self._candidates(rows, [r[:3] for r in prows])
        mem = {int(keys[i]): (new[i][0].id, sk.signatures[i], self._set_of(sk, i), int(sizes[i]))
               for i in range(n)}
        found = self._verify(cands, mem, by_id=True)
        con.executemany("INSERT OR IGNORE INTO pairs (a, b, jaccard, estimated, c_ab, c_ba) VALUES (?, ?, ?, ?, ?, ?)",
                        found)
        if found:
            self._union([(a, b) for a, b, *_ in found])
        return (len(found), [new[i][0].id for i in np.flatnonzero(cleaned)],
                [new[i][0].id for i in np.flatnonzero(sizes == 0)])

    def _set_of(self, sk: Sketches, i: int):
        return sk.set_data[sk.set_indptr[i]:sk.set_indptr[i + 1]] if self.store_sets else None

    def _band_rows(self, sigs: np.ndarray, keys: np.ndarray) -> list[tuple[int, int, int]]:
        live = np.flatnonzero(~np.all(sigs == EMPTY, axis=1))
        if len(live) == 0:
            return []
        k = signed(band_keys(sigs[live], self.bands, self.rows)).ravel()
        band = np.tile(np.arange(self.bands, dtype=np.int64), len(live))
        doc = np.repeat(keys[live], self.bands)
        order = np.lexsort((doc, k, band))  # B-tree order: inserts and lookups touch neighbouring pages
        return list(zip(band[order].tolist(), k[order].tolist(), doc[order].tolist()))

    def _paragraph_rows(self, sk: Sketches, keys: np.ndarray) -> list[tuple[int, int, int, int]]:
        psigs, pdoc = sk.paragraph_signatures, sk.paragraph_document
        if psigs is None or len(psigs) == 0:
            return []
        starts = np.r_[0, np.flatnonzero(pdoc[1:] != pdoc[:-1]) + 1]
        para = np.arange(len(pdoc)) - np.repeat(starts, np.diff(np.r_[starts, len(pdoc)]))
        live = np.flatnonzero(~np.all(psigs == EMPTY, axis=1))
        k = signed(band_keys(psigs[live], self.bands, self.rows))
        band = np.tile(np.arange(self.bands, dtype=np.int64), len(live))
        return list(zip(band.tolist(), k.ravel().tolist(), np.repeat(keys[pdoc[live]], self.bands).tolist(),
                        np.repeat(para[live], self.bands).tolist()))

    def _candidates(self, rows: list, prows: list) -> list[tuple[int, int]]:
        """(query key, indexed key) for every indexed document sharing a band (or paragraph band)."""
        con = self.con
        con.execute("CREATE TEMP TABLE IF NOT EXISTS q (band INTEGER, key INTEGER, qdoc INTEGER)")
        out: set[tuple[int, int]] = set()
        for table, qrows in (("bands", rows), ("pbands", prows)):
            if not qrows:
                continue
            con.execute("DELETE FROM temp.q")
            con.executemany("INSERT INTO temp.q (band, key, qdoc) VALUES (?, ?, ?)", qrows)
            out.update(con.execute(
                f"SELECT DISTINCT q.qdoc, t.doc FROM temp.q AS q CROSS JOIN {table} AS t "
                "ON t.band = q.band AND t.key = q.key WHERE t.doc <> q.qdoc"))
        con.execute("DELETE FROM temp.q")
        return sorted(out)

    def _load(self, keys: Iterable[int]) -> dict:
        """key -> (id, signature, exact set or None, size) of stored documents."""
        keys = list(keys)
        if not keys:
            return {}
        got = self.con.execute(
            "SELECT d.doc, d.id, d.sig, d.size, s.data FROM docs AS d LEFT JOIN sets AS s ON s.doc = d.doc "
            "WHERE d.doc IN (SELECT value FROM json_each(?))", (id_list(keys),)).fetchall()
        sigs = sig_from_blobs([r[2] for r in got], self.num_perm)
        return {r[0]: (r[1], sigs[i], None if r[4] is None else set_from_blob(r[4]), r[3]) for i, r in enumerate(got)}

    def _verify(self, cands: list[tuple[int, int]], mem: dict, by_id: bool) -> list[tuple]:
        """Verified ``(a, b, jaccard, estimated, c_ab, c_ba)``; ``by_id``: a is the smaller id, else a = query."""
        if not cands:
            return []
        mem = {**self._load({y for x, y in cands if y not in mem} | {x for x, y in cands if x not in mem}), **mem}
        if by_id:
            cands = sorted({(x, y) if mem[x][0] < mem[y][0] else (y, x) for x, y in cands})
        order = sorted({k for c in cands for k in c})
        local = {k: i for i, k in enumerate(order)}
        sigs = np.stack([mem[k][1] for k in order])
        sets = [mem[k][2] for k in order]
        have = np.array([s is not None for s in sets])
        pl = np.array([[local[x], local[y]] for x, y in cands], np.int64)
        exact = have[pl[:, 0]] & have[pl[:, 1]]
        out = []
        if exact.any():
            data = np.concatenate([s if s is not None else np.empty(0, np.uint64) for s in sets])
            indptr = np.r_[0, np.cumsum([0 if s is None else len(s) for s in sets])].astype(np.int64)
            p = verify(pl[exact], (data, indptr), sigs, self.config.match)
            out += zip(p.left.tolist(), p.right.tolist(), p.jaccard.tolist(), p.estimated_jaccard.tolist(),
                       p.containment_left_in_right.tolist(), p.containment_right_in_left.tolist(),
                       [True] * len(p))
        if (~exact).any():
            out += self._verify_estimated(pl[~exact], sigs, np.array([mem[k][3] for k in order], float))
        return [(order[l], order[r], j, e, a, b, x) if not by_id else (order[l], order[r], j, e, a, b)
                for l, r, j, e, a, b, x in sorted(out)]

    def _verify_estimated(self, pl: np.ndarray, sigs: np.ndarray, sizes: np.ndarray) -> list[tuple]:
        left, right = pl[:, 0], pl[:, 1]
        est = estimate_jaccard(sigs[left], sigs[right])
        sl, sr = np.maximum(sizes[left], 0), np.maximum(sizes[right], 0)
        inter = est * (sl + sr) / (1 + est)
        with np.errstate(divide="ignore", invalid="ignore"):
            c_lr = np.where(sl > 0, np.minimum(1.0, inter / np.maximum(sl, 1)), 0.0)
            c_rl = np.where(sr > 0, np.minimum(1.0, inter / np.maximum(sr, 1)), 0.0)
        keep = est >= self.config.match.threshold
        if self.config.match.containment is not None:
            keep |= np.maximum(c_lr, c_rl) >= self.config.match.containment
        return list(zip(left[keep].tolist(), right[keep].tolist(), est[keep].tolist(), est[keep].tolist(),
                        c_lr[keep].tolist(), c_rl[keep].tolist(), [False] * int(keep.sum())))

    # clusters ----------------------------------------------------------------------------------------------

    def _rank(self, keys: Iterable[int]) -> dict[int, tuple[float, str]]:
        return {k: (ts, i) for k, ts, i in self.con.execute(
            "SELECT doc, ts, id FROM docs WHERE doc IN (SELECT value FROM json_each(?))", (id_list(keys),))}

    def _union(self, pairs: list[tuple[int, int]]) -> None:
        """Merge the components joined by new ``pairs`` (relabel the smaller of each merge)."""
        con = self.con
        docs = {k for p in pairs for k in p}
        label = dict(con.execute("SELECT doc, comp FROM docs WHERE doc IN (SELECT value FROM json_each(?))",
                                 (id_list(docs),)))
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in pairs:
            ra, rb = find(label[a]), find(label[b])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        groups: dict[int, list[int]] = {}
        for x in list(parent):
            groups.setdefault(find(x), []).append(x)
        groups = {g: m for g, m in groups.items() if len(m) > 1}
        if not groups:
            return
        labels = [x for m in groups.values() for x in m]
        info = {c: (rep, size) for c, rep, size in con.execute(
            "SELECT comp, rep, size FROM comps WHERE comp IN (SELECT value FROM json_each(?))", (id_list(labels),))}
        info = {c: info.get(c, (c, 1)) for c in labels}
        rank = self._rank({rep for rep, _ in info.values()})
        for members in groups.values():
            big = max(members, key=lambda c: (info[c][1], -c))
            others = [c for c in members if c != big]
            rep = min((info[c][0] for c in members), key=lambda k: rank[k])
            size = sum(info[c][1] for c in members)
            con.execute("UPDATE docs SET comp = ? WHERE comp IN (SELECT value FROM json_each(?))",
                        (big, id_list(others)))
            con.execute("DELETE FROM comps WHERE comp IN (SELECT value FROM json_each(?))", (id_list(others),))
            con.execute("INSERT OR REPLACE INTO comps (comp, rep, size) VALUES (?, ?, ?)", (big, rep, size))

    def _rebuild(self, comp: int) -> None:
        """Recompute the components of the documents labelled ``comp`` (after a removal)."""
        con = self.con
        members = [r[0] for r in con.execute("SELECT doc FROM docs WHERE comp = ?", (comp,))]
        con.execute("DELETE FROM comps WHERE comp = ?", (comp,))
        if not members:
            return
        pairs = con.execute("SELECT a, b FROM pairs WHERE a IN (SELECT value FROM json_each(?))",
                            (id_list(members),)).fetchall()
        con.execute("UPDATE docs SET comp = doc WHERE comp = ?", (comp,))
        if pairs:
            self._union(pairs)

    def cluster(self, id: str) -> Assignment | None:
        """The cluster (connected component) of an indexed id, or None when it is not indexed."""
        row = self.con.execute("SELECT doc, comp FROM docs WHERE id = ?", (id,)).fetchone()
        if row is None:
            return None
        info = self.con.execute("SELECT rep FROM comps WHERE comp = ?", (row[1],)).fetchone()
        if info is None:
            return Assignment(id, "present", id, (id,))
        rep = self.con.execute("SELECT id FROM docs WHERE doc = ?", (info[0],)).fetchone()[0]
        members = sorted(r[0] for r in self.con.execute("SELECT id FROM docs WHERE comp = ?", (row[1],)))
        return Assignment(id, "present", rep, tuple(members))

    def assign(self, document: Document) -> Assignment:
        """Add ``document`` (if new) and return its cluster: representative = earliest published, then smallest id."""
        r = self.add([document])
        status = "added" if r.added else "present" if r.present else "conflict"
        c = self.cluster(document.id)
        return Assignment(document.id, status, c.representative, c.members)

    # querying ----------------------------------------------------------------------------------------------

    def query(self, documents: Sequence[Document]) -> list[list[Match]]:
        """For each document, the indexed documents it matches (most similar first); nothing is added.

        A query is not compared with the other queries, nor with an indexed document of its own id.
        """
        documents = list(documents)
        if not documents:
            return []
        sk = self._sketch([d.text for d in documents])
        keys = -np.arange(1, len(documents) + 1, dtype=np.int64)
        prows = self._paragraph_rows(sk, keys) if self.containment else []
        cands = self._candidates(self._band_rows(sk.signatures, keys), [r[:3] for r in prows])
        sizes = np.diff(sk.set_indptr)
        mem = {int(keys[i]): (documents[i].id, sk.signatures[i],
                              sk.set_data[sk.set_indptr[i]:sk.set_indptr[i + 1]], int(sizes[i]))
               for i in range(len(documents))}
        found = self._verify(cands, mem, by_id=False)
        ids = {k: v[0] for k, v in self._load_ids({b for _, b, *_ in found}).items()}
        out: list[list[Match]] = [[] for _ in documents]
        for q, m, j, e, c_qm, c_mq, exact in found:
            if ids[m] != documents[-q - 1].id:
                out[-q - 1].append(Match(ids[m], j, e, c_qm, c_mq, exact))
        for ms in out:
            ms.sort(key=lambda x: (-x.jaccard, x.id))
        return out

    def _load_ids(self, keys: Iterable[int]) -> dict[int, tuple[str]]:
        return {k: (i,) for k, i in self.con.execute(
            "SELECT doc, id FROM docs WHERE doc IN (SELECT value FROM json_each(?))", (id_list(keys),))}

    # removing ----------------------------------------------------------------------------------------------

    def remove(self, ids: Iterable[str]) -> RemoveReport:
        """Remove documents with their bands, sets and pairs; their clusters are recomputed. One transaction."""
        ids = list(dict.fromkeys(ids))
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            rows = con.execute("SELECT doc, id, sig, comp FROM docs WHERE id IN (SELECT value FROM json_each(?))",
                               (id_list(ids),)).fetchall()
            keys = np.array([r[0] for r in rows], np.int64)
            if rows:
                sigs = sig_from_blobs([r[2] for r in rows], self.num_perm)
                con.executemany("DELETE FROM bands WHERE band = ? AND key = ? AND doc = ?",
                                self._band_rows(sigs, keys))
                doomed = id_list(keys)
                for sql in ("DELETE FROM pbands WHERE doc IN (SELECT value FROM json_each(?))",
                            "DELETE FROM pairs WHERE a IN (SELECT value FROM json_each(?))",
                            "DELETE FROM pairs WHERE b IN (SELECT value FROM json_each(?))",
                            "DELETE FROM sets WHERE doc IN (SELECT value FROM json_each(?))",
                            "DELETE FROM docs WHERE doc IN (SELECT value FROM json_each(?))"):
                    con.execute(sql, (doomed,))
                for comp in sorted({r[3] for r in rows}):
                    self._rebuild(comp)
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        found = {r[1] for r in rows}
        return RemoveReport(tuple(i for i in ids if i in found), tuple(i for i in ids if i not in found))

    # bulk path (benchmarks) --------------------------------------------------------------------------------

    def load_signatures(self, ids: Sequence[str], signatures: np.ndarray, batch_size: int = 100_000) -> int:
        """Bulk path for benchmarks and migrations: store signatures and band keys as they are.

        No shingle sets (``size`` -1: pairs with these documents are verified on the
        MinHash estimate), no pair search among them, no cluster update. The ids must be new.
        """
        signatures = np.asarray(signatures, np.uint32)
        if signatures.ndim != 2 or signatures.shape[1] != self.num_perm or len(ids) != len(signatures):
            raise ParameterError(f"signatures of shape {signatures.shape} are invalid: expected "
                                 f"({len(ids)}, {self.num_perm})")
        con = self.con
        for start in range(0, len(ids), batch_size):
            part, sigs = ids[start:start + batch_size], signatures[start:start + batch_size]
            con.execute("BEGIN IMMEDIATE")
            try:
                first = con.execute("SELECT coalesce(max(doc), 0) + 1 FROM docs").fetchone()[0]
                keys = np.arange(first, first + len(part), dtype=np.int64)
                con.executemany("INSERT INTO docs (doc, id, digest, published, ts, source, lang, title, size, "
                                "cleaned, comp, sig) VALUES (?, ?, x'', NULL, 9e999, NULL, NULL, NULL, -1, 0, ?, ?)",
                                [(int(k), i, int(k), sig_blob(s)) for k, i, s in zip(keys, part, sigs)])
                rows = self._band_rows(sigs, keys)
                rows.sort()
                con.executemany("INSERT INTO bands (band, key, doc) VALUES (?, ?, ?)", rows)
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
        return len(ids)

    # reading everything ------------------------------------------------------------------------------------

    def stats(self) -> dict:
        """Counts, file size and parameters."""
        one = lambda sql: self.con.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "documents": one("SELECT count(*) FROM docs"),
            "empty": one("SELECT count(*) FROM docs WHERE size = 0"),
            "pairs": one("SELECT count(*) FROM pairs"),
            "clusters": one("SELECT count(*) FROM comps"),
            "clustered_documents": one("SELECT coalesce(sum(size), 0) FROM comps"),
            "file_bytes": file_bytes(self.path),
            "format_version": FORMAT_VERSION,
            "store_sets": self.store_sets,
            "parameters": dict(self.params),
            "settings": settings_of(self.config),
        }

    def table_bytes(self) -> dict[str, int]:
        """Bytes of pages per table and index (SQLite ``dbstat``; {} when unavailable)."""
        return table_bytes(self.con)

    def result(self, cap: bool = True) -> Result:
        """The whole index as a :class:`dedup.Result`, as ``find`` would return it on the same documents.

        ``cap``: keep only the pairs ``find`` compares (its ``max_bucket`` cap), see the module docstring.
        """
        con = self.con
        rows = sorted(con.execute("SELECT id, doc, title, source, published, lang, cleaned FROM docs"))
        docs = [Document(i, "", title, source, None, published, lang) for i, _, title, source, published, lang, _
                in rows]
        index = {r[1]: n for n, r in enumerate(rows)}
        p = con.execute("SELECT a, b, jaccard, estimated, c_ab, c_ba FROM pairs").fetchall()
        left = np.array([index[r[0]] for r in p], np.int64)
        right = np.array([index[r[1]] for r in p], np.int64)
        cols = [np.array([r[c] for r in p], float) for c in range(2, 6)]
        order = np.lexsort((right, left))
        keep = order[self._capped(left[order], right[order], index)] if cap and len(p) else order
        pairs = Pairs(left[keep], right[keep], *(c[keep] for c in cols))
        clusters = make_clusters(docs, pairs, self.config)
        stats = {"documents": len(docs), "empty": con.execute("SELECT count(*) FROM docs WHERE size = 0").fetchone()[0],
                 "bands": self.bands, "rows": self.rows, "pairs": len(pairs), "clusters": len(clusters),
                 "duplicates": sum(len(c.members) - 1 for c in clusters),
                 "cleaned": sum(1 for r in rows if r[6])}
        cands = Candidates(np.empty((0, 2), np.int64), self.bands, self.rows, ())
        return Result(self.config, docs, pairs, clusters, cands, stats, tuple(r[0] for r in rows if r[6]))

    def export(self, out_dir: str | os.PathLike, cap: bool = True) -> dict[str, Path]:
        """Write pairs.jsonl, clusters.jsonl and cleaned.jsonl exactly as ``dedup find --out`` would."""
        return write_report(self.result(cap), out_dir)

    def _capped(self, left: np.ndarray, right: np.ndarray, index: dict[int, int]) -> np.ndarray:
        """Mask of the (sorted) pairs that ``find`` would have as candidates, given its max_bucket cap."""
        cap = self.config.lsh.max_bucket
        con = self.con
        big = any(con.execute(f"SELECT 1 FROM {t} GROUP BY band, key HAVING count(*) > ? LIMIT 1", (cap,)).fetchone()
                  for t in ("bands", "pbands"))
        if not big:
            return np.ones(len(left), bool)
        b = np.array(con.execute("SELECT band, key, doc FROM bands").fetchall(), np.int64).reshape(-1, 3)
        found = [_bucket_candidates(b[:, 0], b[:, 1], np.array([index[k] for k in b[:, 2].tolist()], np.int64),
                                    cap)]
        pb = np.array(con.execute("SELECT band, key, doc, para FROM pbands").fetchall(), np.int64).reshape(-1, 4)
        if len(pb):
            doc = np.array([index[k] for k in pb[:, 2].tolist()], np.int64)
            para_doc, pid = np.unique(np.stack([doc, pb[:, 3]], axis=1), axis=0, return_inverse=True)
            pp = _bucket_candidates(pb[:, 0], pb[:, 1], pid.reshape(-1).astype(np.int64), cap)
            found.append(para_doc[:, 0][pp])
        allowed = unique_pairs(np.concatenate(found))
        code = allowed[:, 0] << 32 | allowed[:, 1]
        return np.isin(left << 32 | right, code)

    # checking ----------------------------------------------------------------------------------------------

    def check(self) -> list[str]:
        """Problems found (empty list: consistent): SQLite integrity, signatures, sets, bands, pairs, clusters."""
        con = self.con
        problems = [f"integrity_check: {r[0]}" for r in con.execute("PRAGMA integrity_check") if r[0] != "ok"]
        docs = con.execute("SELECT doc, id, sig, size, comp, ts FROM docs").fetchall()
        keyset = {r[0] for r in docs}
        bad = [r[1] for r in docs if len(r[2]) != 4 * self.num_perm]
        if bad:
            return problems + [f"signature of wrong length: {bad[:5]}"]
        sigs = sig_from_blobs([r[2] for r in docs], self.num_perm) if docs else np.empty((0, self.num_perm))
        live = {r[0] for r, s in zip(docs, sigs) if not np.all(s == EMPTY)}
        counts = dict(con.execute("SELECT doc, count(*) FROM bands GROUP BY doc"))
        if set(counts) - keyset:
            problems.append(f"orphan bands for doc keys {sorted(set(counts) - keyset)[:5]}")
        wrong = [r[1] for r in docs if counts.get(r[0], 0) != (self.bands if r[0] in live else 0)]
        if wrong:
            problems.append(f"documents without all their bands: {wrong[:5]}")
        if docs and self.bands and len(live):
            k = np.array([r[0] for r in docs], np.int64)
            expect = set(self._band_rows(sigs, k))
            stored = set(con.execute("SELECT band, key, doc FROM bands"))
            if expect != stored:
                problems.append(f"{len(expect ^ stored)} band rows differ from the signatures")
        orphan = {r[0] for r in con.execute("SELECT DISTINCT doc FROM pbands")} - keyset
        if orphan:
            problems.append(f"orphan paragraph bands for doc keys {sorted(orphan)[:5]}")
        if self.store_sets:
            sets = dict(con.execute("SELECT doc, length(data) FROM sets"))
            if set(sets) - keyset:
                problems.append("orphan sets")
            miss = [r[1] for r in docs if r[3] >= 0 and sets.get(r[0]) != 8 * r[3]]
            if miss:
                problems.append(f"documents without their exact set: {miss[:5]}")
        ids = {r[0]: r[1] for r in docs}
        pairs = con.execute("SELECT a, b FROM pairs").fetchall()
        if any(a not in ids or b not in ids for a, b in pairs):
            problems.append("pairs referring to missing documents")
            return problems
        if any(ids[a] >= ids[b] for a, b in pairs):
            problems.append("pairs not in id order")
        # clusters: recompute the components from the pairs
        parent = {k: k for k in keyset}

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in pairs:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        by_root: dict[int, set[int]] = {}
        by_label: dict[int, set[int]] = {}
        for r in docs:
            by_root.setdefault(find(r[0]), set()).add(r[0])
            by_label.setdefault(r[4], set()).add(r[0])
        if sorted(map(sorted, by_root.values())) != sorted(map(sorted, by_label.values())):
            problems.append("cluster labels differ from the connected components of the pairs")
        comps = {c: (rep, size) for c, rep, size in con.execute("SELECT comp, rep, size FROM comps")}
        rank = {r[0]: (r[5], r[1]) for r in docs}
        for label, members in by_label.items():
            if len(members) > 1:
                expect = (min(members, key=lambda k: rank[k]), len(members))
                if comps.get(label) != expect or label not in members:
                    problems.append(f"cluster {label}: stored {comps.get(label)}, expected {expect}")
        if set(comps) - {c for c, m in by_label.items() if len(m) > 1}:
            problems.append("stale cluster rows")
        return problems


def _bucket_candidates(band: np.ndarray, key: np.ndarray, member: np.ndarray, max_bucket: int) -> np.ndarray:
    """``lsh.candidates``' pairs from stored keys: all pairs per bucket, oversized ones linked to their first."""
    found = [np.empty((0, 2), np.int64)]
    for j in np.unique(band).tolist():
        sel = band == j
        found.append(band_pairs(key[sel], member[sel], max_bucket)[0])
    return np.concatenate(found)
