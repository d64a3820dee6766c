"""Group verified pairs into clusters.

``connected``: connected components (union-find); transitive, so a chain of
matches A~B~C groups A with C even when they do not match each other.
``star``: no chaining. Documents are visited in representative order (earliest
published, then smallest id); each one not yet taken becomes a centre and takes
every untaken document it matches, so every member matches its representative.
"""

from __future__ import annotations

import numpy as np


class UnionFind:
    """Disjoint sets over 0..n-1; the root of a set is always its smallest rank."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return int(x)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def labels(self) -> np.ndarray:
        """Root of every element, by pointer jumping over the whole array at once."""
        p = self.parent
        while True:
            q = p[p]
            if np.array_equal(q, p):
                return q.copy()
            p = q


def connected_components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Label of each node: the smallest node of its component."""
    uf = UnionFind(n)
    for a, b in zip(left.tolist(), right.tolist()):
        uf.union(a, b)
    return uf.labels()


def star_clusters(rank: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Label of each node: its centre. ``rank[i]`` orders candidates for centre (lower first)."""
    n = len(rank)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(left.tolist(), right.tolist()):
        neighbours[a].append(b)
        neighbours[b].append(a)
    label = np.full(n, -1, dtype=np.int64)
    for centre in np.argsort(rank, kind="stable").tolist():
        if label[centre] >= 0:
            continue
        label[centre] = centre
        for other in neighbours[centre]:
            if label[other] < 0:
                label[other] = centre
    return label


def cluster_labels(method: str, rank: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cluster label per node. For ``connected``, nodes are relabelled so ``rank`` decides nothing but order."""
    if method == "star":
        return star_clusters(rank, left, right)
    return connected_components(len(rank), left, right)
