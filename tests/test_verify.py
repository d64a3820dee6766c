"""Verification on exact shingle sets: Jaccard, both containments, the keep rule."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.minhash import estimate_jaccard, signatures
from dedup.params import MatchParams, MinHashParams
from dedup.verify import Pairs, overlap, verify


pytestmark = pytest.mark.usefixtures("one_thread")


def csr_sets(sets: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique CSR layout, as dedup.shingle.exact_sets makes it."""
    indptr = np.zeros(len(sets) + 1, np.int64)
    indptr[1:] = np.cumsum([len(s) for s in sets])
    data = np.array([x for s in sets for x in sorted(s)], np.uint64)
    return data, indptr


def run(sets: list[set[int]], match: MatchParams, pairs=None) -> Pairs:
    data, indptr = csr_sets(sets)
    if pairs is None:
        pairs = list(itertools.combinations(range(len(sets)), 2))
    pairs = np.array(pairs, np.int64).reshape(-1, 2)
    sig = signatures(data, indptr, MinHashParams(num_perm=32))
    return verify(pairs, (data, indptr), sig, match)


def figures(a: set, b: set) -> tuple[float, float, float]:
    inter, union = len(a & b), len(a | b)
    return (inter / union if union else 0.0, inter / len(a) if a else 0.0, inter / len(b) if b else 0.0)


small_sets = st.lists(st.sets(st.integers(0, 40), max_size=25), min_size=2, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_sets)
def test_overlap_and_figures_equal_set_math(sets):
    data, indptr = csr_sets(sets)
    pairs = list(itertools.combinations(range(len(sets)), 2))
    left = np.array([p[0] for p in pairs], np.int64)
    right = np.array([p[1] for p in pairs], np.int64)
    inter, size_l, size_r = overlap(data, indptr, left, right)
    for t, (i, j) in enumerate(pairs):
        assert (inter[t], size_l[t], size_r[t]) == (len(sets[i] & sets[j]), len(sets[i]), len(sets[j]))
    # with the lowest possible thresholds every pair with any overlap is kept, figures exact
    out = run(sets, MatchParams(threshold=1e-12, containment=1e-12))
    kept = {(i, j) for i, j in pairs if sets[i] & sets[j]}
    assert set(zip(out.left.tolist(), out.right.tolist())) == kept
    for t in range(len(out)):
        i, j = int(out.left[t]), int(out.right[t])
        jac, c_ij, c_ji = figures(sets[i], sets[j])
        assert out.jaccard[t] == pytest.approx(jac, abs=0, rel=1e-15)
        assert out.containment_left_in_right[t] == pytest.approx(c_ij, rel=1e-15)
        assert out.containment_right_in_left[t] == pytest.approx(c_ji, rel=1e-15)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_sets, st.sampled_from([0.1, 0.25, 0.5, 0.6, 0.75, 1.0]),
       st.none() | st.sampled_from([0.3, 0.5, 0.8, 1.0]))
def test_keep_rule_equals_set_math(sets, threshold, containment):
    match = MatchParams(threshold=threshold, containment=containment)
    out = run(sets, match)
    want = set()
    for i, j in itertools.combinations(range(len(sets)), 2):
        jac, c_ij, c_ji = figures(sets[i], sets[j])
        if jac >= threshold or (containment is not None and max(c_ij, c_ji) >= containment):
            want.add((i, j))
    assert set(zip(out.left.tolist(), out.right.tolist())) == want


def test_random_large_sets():
    rng = np.random.default_rng(8)
    sets = [set(rng.integers(0, 3000, int(rng.integers(0, 800))).tolist()) for _ in range(12)]
    out = run(sets, MatchParams(threshold=1e-12, containment=1e-12))
    got = {(int(a), int(b)): float(j) for a, b, j in zip(out.left, out.right, out.jaccard)}
    for i, j in itertools.combinations(range(len(sets)), 2):
        jac = figures(sets[i], sets[j])[0]
        if sets[i] & sets[j]:
            assert got[(i, j)] == pytest.approx(jac, rel=1e-15)
        else:
            assert (i, j) not in got


@pytest.mark.parametrize("inter, union, threshold", [(1, 2, 0.5), (7, 10, 0.7), (3, 4, 0.75), (9, 10, 0.9),
                                                     (4, 5, 0.8), (1, 3, 1 / 3), (6, 10, 0.6), (5, 5, 1.0)])
def test_jaccard_exactly_at_threshold_is_kept(inter, union, threshold):
    a = set(range(inter)) | set(range(100, 100 + (union - inter)))
    b = set(range(inter))
    assert len(a & b) / len(a | b) == threshold
    assert len(run([a, b], MatchParams(threshold=threshold))) == 1
    # one shared shingle fewer drops the pair
    a2, b2 = a, (b - {0}) | {500}
    assert len(run([a2, b2], MatchParams(threshold=threshold))) == 0


def test_containment_keeps_a_contained_short_doc():
    long = set(range(100))
    short = set(range(40, 50))
    assert figures(short, long) == (0.1, 1.0, 0.1)
    assert len(run([short, long], MatchParams(threshold=0.5))) == 0
    out = run([short, long], MatchParams(threshold=0.5, containment=0.9))
    assert len(out) == 1
    assert out.containment_left_in_right[0] == 1.0 and out.containment_right_in_left[0] == 0.1
    assert out.jaccard[0] == 0.1
    # the score that admitted it
    assert out.similarity(MatchParams(threshold=0.5, containment=0.9)).tolist() == [1.0]
    assert out.similarity(MatchParams(threshold=0.5)).tolist() == [0.1]
    # either direction counts
    out = run([long, short], MatchParams(threshold=0.5, containment=0.9))
    assert len(out) == 1 and out.containment_right_in_left[0] == 1.0


def test_empty_sets_never_match():
    out = run([set(), set(), {1, 2}], MatchParams(threshold=1e-12, containment=1e-12))
    assert len(out) == 0


def test_estimated_jaccard_is_of_the_kept_pairs():
    sets = [set(range(0, 100)), set(range(10, 110)), set(range(500, 600)), set(range(0, 100))]
    data, indptr = csr_sets(sets)
    sig = signatures(data, indptr, MinHashParams(num_perm=64))
    pairs = np.array([[0, 1], [0, 2], [0, 3], [1, 2]])
    out = verify(pairs, (data, indptr), sig, MatchParams(threshold=0.5))
    assert list(zip(out.left.tolist(), out.right.tolist())) == [(0, 1), (0, 3)]
    np.testing.assert_array_equal(out.estimated_jaccard, estimate_jaccard(sig[[0, 0]], sig[[1, 3]]))
    assert out.jaccard.tolist() == [90 / 110, 1.0]
