"""Clustering: union-find components and star clusters (no chaining)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.cluster import UnionFind, cluster_labels, connected_components, star_clusters


@st.composite
def graphs(draw, max_nodes=25):
    n = draw(st.integers(1, max_nodes))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    edges = [(a, b) if a < b else (b, a) for a, b in edges if a != b]
    return n, edges


@st.composite
def graphs_with_rank(draw):
    n, edges = draw(graphs())
    rank = np.array(draw(st.permutations(range(n))), np.int64)
    return n, edges, rank


def arrays(edges):
    left = np.array([a for a, _ in edges], np.int64)
    right = np.array([b for _, b in edges], np.int64)
    return left, right


def bfs_components(n: int, edges) -> list[int]:
    """Reference: label = smallest node of the component, by breadth-first search."""
    adj = [[] for _ in range(n)]
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    label = [-1] * n
    for start in range(n):
        if label[start] >= 0:
            continue
        label[start] = start
        queue = deque([start])
        while queue:
            x = queue.popleft()
            for y in adj[x]:
                if label[y] < 0:
                    label[y] = start
                    queue.append(y)
    return label


# -- UnionFind ------------------------------------------------------------------------------------


def test_union_find_basics():
    uf = UnionFind(6)
    assert [uf.find(i) for i in range(6)] == list(range(6))
    uf.union(4, 2)
    uf.union(2, 5)
    uf.union(1, 3)
    assert uf.find(5) == uf.find(4) == uf.find(2) == 2
    assert uf.find(3) == 1 and uf.find(0) == 0
    uf.union(5, 3)
    assert uf.labels().tolist() == [0, 1, 1, 1, 1, 1]
    uf.union(3, 3)  # self-union is harmless
    assert uf.labels().tolist() == [0, 1, 1, 1, 1, 1]


def test_union_find_long_chain():
    n = 2000
    uf = UnionFind(n)
    for i in range(n - 1, 0, -1):
        uf.union(i, i - 1)
    assert uf.find(n - 1) == 0
    assert np.all(uf.labels() == 0)


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_union_find_roots_are_the_smallest_member(graph):
    n, edges = graph
    uf = UnionFind(n)
    for a, b in edges:
        uf.union(b, a)
    want = bfs_components(n, edges)
    assert [uf.find(i) for i in range(n)] == want
    assert uf.labels().tolist() == want


# -- connected components -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_connected_components_equal_bfs(graph):
    n, edges = graph
    labels = connected_components(n, *arrays(edges))
    assert labels.tolist() == bfs_components(n, edges)


def test_connected_components_chain():
    labels = connected_components(4, np.array([0, 1]), np.array([1, 2]))
    assert labels.tolist() == [0, 0, 0, 3]
    assert connected_components(3, np.array([], np.int64), np.array([], np.int64)).tolist() == [0, 1, 2]


# -- star clusters --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(graphs_with_rank())
def test_star_clusters_properties(graph):
    n, edges, rank = graph
    left, right = arrays(edges)
    label = star_clusters(rank, left, right)
    adjacent = {(a, b) for a, b in edges} | {(b, a) for a, b in edges}
    centres = {int(c) for c in label}
    for i, c in enumerate(label.tolist()):
        assert label[c] == c  # a centre is its own label
        if i != c:
            assert (i, c) in adjacent  # every member matches its centre
            assert rank[c] < rank[i]  # and the centre is the better-ranked one
    # no two centres match: else the better-ranked centre would have taken the other
    for a, b in edges:
        assert not (a in centres and b in centres)
    # centres by rank: reproduce the greedy rule
    expected = [-1] * n
    for c in np.argsort(rank).tolist():
        if expected[c] < 0:
            expected[c] = c
            for a, b in edges:
                other = b if a == c else a if b == c else None
                if other is not None and expected[other] < 0:
                    expected[other] = c
    assert label.tolist() == expected


def test_star_does_not_chain_on_a_path():
    # a - b - c, a and c do not match
    left, right = np.array([0, 1]), np.array([1, 2])
    # a ranks first: a takes b, c is left alone
    assert star_clusters(np.array([0, 1, 2]), left, right).tolist() == [0, 0, 2]
    # c ranks first: c takes b, a is left alone
    assert star_clusters(np.array([2, 1, 0]), left, right).tolist() == [0, 2, 2]
    # b ranks first: b matches both, so all three are its members
    assert star_clusters(np.array([1, 0, 2]), left, right).tolist() == [1, 1, 1]
    # connected components chain them regardless
    assert cluster_labels("connected", np.array([0, 1, 2]), left, right).tolist() == [0, 0, 0]
    assert cluster_labels("star", np.array([0, 1, 2]), left, right).tolist() == [0, 0, 2]


@settings(max_examples=100, deadline=None)
@given(graphs_with_rank(), st.randoms(use_true_random=False), st.sampled_from(["connected", "star"]))
def test_labels_do_not_depend_on_edge_order_or_direction(graph, rnd, method):
    n, edges, rank = graph
    shuffled = [(b, a) if rnd.random() < 0.5 else (a, b) for a, b in edges]
    shuffled += shuffled[: len(shuffled) // 3]  # duplicates too
    rnd.shuffle(shuffled)
    first = cluster_labels(method, rank, *arrays(edges))
    again = cluster_labels(method, rank, *arrays(shuffled))
    assert first.tolist() == again.tolist()


@pytest.mark.parametrize("method", ["connected", "star"])
def test_isolated_nodes_are_their_own_cluster(method):
    labels = cluster_labels(method, np.array([3, 2, 1, 0]), np.array([], np.int64), np.array([], np.int64))
    assert labels.tolist() == [0, 1, 2, 3]
