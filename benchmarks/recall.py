"""Recall of `dedup find` against brute force, on news_cluster plus edited copies.

Brute force computes the exact shingle Jaccard of every pair (sparse matrix
product) with the same shingles as dedup. The claim checked: at least 99% of
the pairs at or above the threshold are reported, and none below it.

Run: python benchmarks/recall.py [--thresholds 0.3,0.5,0.8] [--seed 0]
Exit status 1 when a claim fails; 0 (with a message) when the data is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).parent))
from edits import edited_corpus, load_news_cluster  # noqa: E402

from dedup import Config, Document, MatchParams, find  # noqa: E402
from dedup.pipeline import spec_of  # noqa: E402
from dedup.sketch import sketch  # noqa: E402


def brute_force_pairs(data: np.ndarray, indptr: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    """Every pair (i < j) whose exact Jaccard is >= threshold."""
    vocab, inverse = np.unique(data, return_inverse=True)
    n = len(indptr) - 1
    m = sp.csr_matrix((np.ones(len(data), np.float32), inverse, indptr), shape=(n, len(vocab)))
    inter = (m @ m.T).tocoo()
    sizes = np.diff(indptr)
    keep = inter.row < inter.col
    i, j, x = inter.row[keep], inter.col[keep], inter.data[keep]
    jac = x / (sizes[i] + sizes[j] - x)
    ok = jac >= threshold
    return set(zip(i[ok].tolist(), j[ok].tolist()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--thresholds", default="0.3,0.5,0.7,0.8")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    articles = load_news_cluster()
    if articles is None:
        print("news_cluster data not found (../shared/data); skipped.")
        return 0
    corpus = edited_corpus(articles, seed=args.seed)
    docs = sorted((Document(d["id"], d["text"], published=d["published"]) for d in corpus), key=lambda d: d.id)
    print(f"{len(docs)} documents ({len(articles)} originals + edited copies)")
    print(f"{'threshold':>9} {'bands x rows':>12} {'truth':>7} {'found':>7} {'recall':>8} {'below t':>8} {'seconds':>8}")
    failed = False
    for t in (float(x) for x in args.thresholds.split(",")):
        config = Config(match=MatchParams(threshold=t))
        sk = sketch([d.text for d in docs], spec_of(config))
        truth = brute_force_pairs(sk.set_data, sk.set_indptr, t)
        start = time.perf_counter()
        result = find(docs, config)
        seconds = time.perf_counter() - start
        found = set(zip(result.pairs.left.tolist(), result.pairs.right.tolist()))
        recall = len(found & truth) / len(truth) if truth else 1.0
        below = int(np.sum(result.pairs.jaccard < t))
        failed |= recall < 0.99 or below > 0 or not found <= truth
        print(f"{t:>9.2f} {result.stats['bands']:>5} x {result.stats['rows']:<4} {len(truth):>7} {len(found):>7} "
              f"{recall:>8.4f} {below:>8} {seconds:>8.2f}")
    print("FAILED" if failed else "ok: recall >= 0.99 and nothing below the threshold at every threshold")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
