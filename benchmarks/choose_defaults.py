"""Measure which shingle size k and threshold separate copies from different stories.

On news_cluster (../shared/data) plus seeded edited copies of every article
(benchmarks/edits.py: 2-15% of words edited, outlet boilerplate, truncation),
for each shingle setting it prints:
  * recall: share of edited copies whose exact Jaccard with their original is >= t;
  * false: pairs of originals from *different* events with Jaccard >= t
    (never the same story, so any match is wrong).
Run: python benchmarks/choose_defaults.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).parent))
from edits import edited_corpus, load_news_cluster  # noqa: E402

from dedup.params import ShingleParams  # noqa: E402
from dedup.sketch import sketch  # noqa: E402
from dedup.minhash import SignatureSpec  # noqa: E402
from dedup.params import MinHashParams, NormalizeParams  # noqa: E402

THRESHOLDS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
SETTINGS = [("word", 1), ("word", 2), ("word", 3), ("word", 4), ("word", 5), ("char", 5), ("char", 9)]


def jaccard_matrix(data: np.ndarray, indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Exact Jaccard between all pairs of the given documents (dense; a few hundred rows)."""
    sets = [data[indptr[i]:indptr[i + 1]] for i in rows]
    vocab, inverse = np.unique(np.concatenate(sets), return_inverse=True)
    lens = np.array([len(s) for s in sets])
    m = sp.csr_matrix((np.ones(len(inverse)), inverse, np.r_[0, np.cumsum(lens)]), shape=(len(sets), len(vocab)))
    inter = (m @ m.T).toarray()
    union = lens[:, None] + lens[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def main() -> int:
    articles = load_news_cluster()
    if articles is None:
        print("news_cluster data not found (../shared/data); nothing to measure.")
        return 0
    corpus = edited_corpus(articles, seed=0)
    index = {d["id"]: i for i, d in enumerate(corpus)}
    originals = np.array([i for i, d in enumerate(corpus) if d["variant_of"] is None])
    events = np.array([corpus[i]["event"] for i in originals])
    variants = [(i, index[d["variant_of"]], d["kind"]) for i, d in enumerate(corpus) if d["variant_of"]]
    print(f"{len(originals)} originals, {len(variants)} edited copies\n")
    header = "setting   " + "".join(f"  t={t:<4}recall/false" for t in THRESHOLDS)
    print(header)
    for unit, k in SETTINGS:
        spec = SignatureSpec(NormalizeParams(), ShingleParams(unit, k), MinHashParams())
        sk = sketch([d["text"] for d in corpus], spec)
        jm = jaccard_matrix(sk.set_data, sk.set_indptr, originals)
        different = events[:, None] != events[None, :]
        cross = jm[np.triu(different, 1)]
        vjac = np.array([_pair_jaccard(sk, a, b) for a, b, _ in variants])
        cells = []
        for t in THRESHOLDS:
            cells.append(f"  {np.mean(vjac >= t):6.3f}/{int(np.sum(cross >= t)):<5d}")
        print(f"{unit}-{k:<6}" + "".join(cells))
        worst = {}
        for (a, b, kind), j in zip(variants, vjac):
            worst.setdefault(kind, []).append(j)
        detail = ", ".join(f"{kind} p5={np.percentile(v, 5):.2f}" for kind, v in sorted(worst.items()))
        print(f"          max cross-event J={cross.max():.3f}; {detail}")
    return 0


def _pair_jaccard(sk, a: int, b: int) -> float:
    sa = sk.set_data[sk.set_indptr[a]:sk.set_indptr[a + 1]]
    sb = sk.set_data[sk.set_indptr[b]:sk.set_indptr[b + 1]]
    inter = len(np.intersect1d(sa, sb, assume_unique=True))
    union = len(sa) + len(sb) - inter
    return inter / union if union else 0.0


if __name__ == "__main__":
    sys.exit(main())
