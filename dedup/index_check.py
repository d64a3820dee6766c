"""``Index.check``: recompute what the index derives (bands, clusters, story counts) and compare with what it stores.

Used after crashes (tests kill writers at random moments) and by ``dedup index check``.
Reads everything: O(index size).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .index_store import both_tiers, sig_from_blobs
from .minhash import EMPTY

if TYPE_CHECKING:
    from .index import Index


def check_index(ix: "Index") -> list[str]:
    """Problems found (empty list: consistent)."""
    db = ix.db
    problems = db.integrity()
    docs = db.rows("SELECT doc, id, sig, size, comp, ts FROM docs")
    keyset = {r[0] for r in docs}
    bad = [r[1] for r in docs if len(r[2]) != 4 * ix.num_perm]
    if bad:
        return problems + [f"signature of wrong length: {bad[:5]}"]
    sigs = sig_from_blobs([bytes(r[2]) for r in docs], ix.num_perm) if docs else np.empty((0, ix.num_perm))
    live = {r[0] for r, s in zip(docs, sigs) if not np.all(s == EMPTY)}
    problems += _check_bands(ix, docs, sigs, keyset, live)
    ids = {r[0]: r[1] for r in docs}
    pairs = db.rows("SELECT a, b FROM pairs")
    if any(a not in ids or b not in ids for a, b in pairs):
        return problems + ["pairs referring to missing documents"]
    if any(ids[a] >= ids[b] for a, b in pairs):
        problems.append("pairs not in id order")
    problems += _check_clusters(ix, docs, pairs, keyset)
    if ix.stories:
        problems += ix.stories.check({r[0]: (r[1], r[3]) for r in docs})
    return problems


def _check_bands(ix: "Index", docs: list, sigs: np.ndarray, keyset: set[int], live: set[int]) -> list[str]:
    db, problems = ix.db, []
    both = both_tiers("bands")
    counts = dict(db.rows(f"SELECT doc, count(*) FROM {both} GROUP BY doc"))
    if set(counts) - keyset:
        problems.append(f"orphan bands for doc keys {sorted(set(counts) - keyset)[:5]}")
    wrong = [r[1] for r in docs if counts.get(r[0], 0) != (ix.bands if r[0] in live else 0)]
    if wrong:
        problems.append(f"documents without all their bands: {wrong[:5]}")
    if docs and ix.bands and live:
        expect = set(ix._band_rows(sigs, np.array([r[0] for r in docs], np.int64)))
        stored = set(db.rows(f"SELECT band, key, doc FROM {both}"))
        if expect != stored:
            problems.append(f"{len(expect ^ stored)} band rows differ from the signatures")
    orphan = {r[0] for r in db.rows(f"SELECT DISTINCT doc FROM {both_tiers('pbands')}")} - keyset
    if orphan:
        problems.append(f"orphan paragraph bands for doc keys {sorted(orphan)[:5]}")
    if ix.store_sets:
        sets = dict(db.rows("SELECT doc, length(data) FROM sets"))
        if set(sets) - keyset:
            problems.append("orphan sets")
        miss = [r[1] for r in docs if r[3] >= 0 and sets.get(r[0]) != 8 * r[3]]
        if miss:
            problems.append(f"documents without their exact set: {miss[:5]}")
    return problems


def _check_clusters(ix: "Index", docs: list, pairs: list, keyset: set[int]) -> list[str]:
    """The stored labels and ``comps`` rows against the connected components recomputed from the pairs."""
    problems = []
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
    comps = {c: (rep, size) for c, rep, size in ix.db.rows("SELECT comp, rep, size FROM comps")}
    rank = {r[0]: (r[5], r[1]) for r in docs}
    for label, members in by_label.items():
        if len(members) > 1:
            expect = (min(members, key=lambda k: rank[k]), len(members))
            if comps.get(label) != expect or label not in members:
                problems.append(f"cluster {label}: stored {comps.get(label)}, expected {expect}")
    if set(comps) - {c for c, m in by_label.items() if len(m) > 1}:
        problems.append("stale cluster rows")
    return problems
