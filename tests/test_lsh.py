"""LSH banding: parameter choice (vs datasketch and by definition) and candidate generation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from datasketch.lsh import _false_negative_probability, _false_positive_probability, _optimal_param
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.errors import ParameterError
from dedup import lsh
from dedup.lsh import (band_key, band_keys, bands_for, candidate_probability, candidates, false_negative_area,
                       false_positive_area, optimal_bands, recall_bands, unique_pairs)
from dedup.minhash import EMPTY, signatures
from dedup.params import LSHParams, MinHashParams


pytestmark = pytest.mark.usefixtures("one_thread")


THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


# -- choosing bands and rows ----------------------------------------------------------------------


@pytest.mark.parametrize("num_perm", [32, 64, 128])
@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.2, 0.8), (0.8, 0.2)])
def test_optimal_bands_equals_datasketch(num_perm, weights):
    for t in THRESHOLDS:
        assert optimal_bands(t, num_perm, *weights) == _optimal_param(t, num_perm, *weights), t


@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.5, 0.8, 0.95, 1.0])
@pytest.mark.parametrize("bands, rows", [(1, 1), (1, 128), (128, 1), (9, 13), (20, 6), (32, 4), (5, 5), (2, 50)])
def test_areas_equal_datasketch_integrals(threshold, bands, rows):
    assert false_positive_area(threshold, bands, rows) == pytest.approx(
        _false_positive_probability(threshold, bands, rows), abs=1e-9)
    assert false_negative_area(threshold, bands, rows) == pytest.approx(
        _false_negative_probability(threshold, bands, rows), abs=1e-9)


def test_candidate_probability_by_definition():
    s = np.linspace(0, 1, 11)
    np.testing.assert_allclose(candidate_probability(s, 4, 3), 1 - (1 - s**3) ** 4)
    assert candidate_probability(1.0, 7, 9) == 1.0 and candidate_probability(0.0, 7, 9) == 0.0
    assert candidate_probability(0.5, 1, 1) == 0.5


@pytest.mark.parametrize("num_perm", [32, 64, 128])
@pytest.mark.parametrize("min_recall", [0.9, 0.995])
def test_recall_bands_reaches_min_recall_with_least_false_positive_area(num_perm, min_recall):
    for t in THRESHOLDS:
        b, r = recall_bands(t, num_perm, min_recall)
        assert 1 <= b and 1 <= r and b * r <= num_perm
        assert candidate_probability(t, b, r) >= min_recall
        chosen = false_positive_area(t, b, r)
        for bb in range(1, num_perm + 1):
            for rr in range(1, num_perm // bb + 1):
                if candidate_probability(t, bb, rr) >= min_recall:
                    assert false_positive_area(t, bb, rr) >= chosen - 1e-15, ((b, r), (bb, rr))


def test_recall_bands_out_of_reach_raises_parameter_error():
    with pytest.raises(ParameterError) as info:
        recall_bands(0.1, 4, 0.999)
    message = str(info.value)
    assert "min_recall=0.999" in message and "threshold=0.1" in message and "num_perm=4" in message
    assert "expected" in message


def test_bands_for_uses_explicit_bands_or_the_recall_rule():
    assert bands_for(0.5, 128, LSHParams(bands=16, rows=8)) == (16, 8)
    assert bands_for(0.5, 128, LSHParams(min_recall=0.99)) == recall_bands(0.5, 128, 0.99)


# -- candidates ---------------------------------------------------------------------------------------


def sigs_of(sets: list[np.ndarray], num_perm: int = 128, seed: int = 1) -> np.ndarray:
    indptr = np.zeros(len(sets) + 1, np.int64)
    indptr[1:] = np.cumsum([len(s) for s in sets])
    data = np.concatenate(sets).astype(np.uint64) if sets else np.empty(0, np.uint64)
    return signatures(data, indptr, MinHashParams(num_perm=num_perm, seed=seed))


def brute_force_pairs(sig: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    out = set()
    live = [i for i in range(len(sig)) if not np.all(sig[i] == EMPTY)]
    for i, j in itertools.combinations(live, 2):
        for band in range(bands):
            block = slice(band * rows, (band + 1) * rows)
            if np.array_equal(sig[i, block], sig[j, block]):
                out.add((i, j))
                break
    return out


def test_identical_signatures_are_candidates_and_empty_never():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**64, 50, dtype=np.uint64)
    other = rng.integers(0, 2**64, 50, dtype=np.uint64)
    empty = np.empty(0, np.uint64)
    sig = sigs_of([empty, base, other, empty, base.copy(), empty])
    c = candidates(sig, 16, 8, max_bucket=200)
    assert [tuple(p) for p in c.pairs.tolist()] == [(1, 4)]
    assert (c.bands, c.rows) == (16, 8) and c.oversized == ()
    assert c.pairs.dtype == np.int64 and c.pairs.shape == (1, 2)


def test_only_empty_or_no_signatures():
    empty = np.empty(0, np.uint64)
    assert candidates(sigs_of([empty, empty, empty]), 4, 4, 10).pairs.shape == (0, 2)
    assert candidates(np.empty((0, 16), np.uint32), 4, 4, 10).pairs.shape == (0, 2)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 5), min_size=0, max_size=25), st.sampled_from([(4, 1), (2, 2), (8, 2), (3, 5)]),
       st.integers(0, 2**16))
def test_candidates_are_the_pairs_sharing_a_band(groups, shape, seed):
    """Documents from a few small vocabularies: many exact band collisions, some empty ones."""
    rng = np.random.default_rng(seed)
    vocab = rng.integers(0, 2**64, 12, dtype=np.uint64)
    sets = [np.empty(0, np.uint64) if g == 0 else rng.choice(vocab[: 2 * g], size=g, replace=False)
            for g in groups]
    bands, rows = shape
    sig = sigs_of(sets, num_perm=16, seed=seed)
    c = candidates(sig, bands, rows, max_bucket=1000)
    got = [tuple(p) for p in c.pairs.tolist()]
    assert got == sorted(set(got))  # sorted and unique
    assert all(i < j for i, j in got)
    assert set(got) == brute_force_pairs(sig, bands, rows)


def test_oversized_buckets_give_linear_pair_counts():
    rng = np.random.default_rng(3)
    n, bands, rows, max_bucket = 60, 8, 4, 5
    same = rng.integers(0, 2**64, 30, dtype=np.uint64)
    sets = [same.copy() for _ in range(n)] + [rng.integers(0, 2**64, 30, dtype=np.uint64) for _ in range(3)]
    sig = sigs_of(sets, num_perm=32)
    c = candidates(sig, bands, rows, max_bucket)
    # each band links the n members of the big bucket to its first member only: n - 1 pairs,
    # the same n - 1 pairs in every band
    assert [tuple(p) for p in c.pairs.tolist()] == [(0, j) for j in range(1, n)]
    assert sorted(c.oversized) == [(band, n) for band in range(bands)]
    # a bucket of exactly max_bucket is enumerated in full
    c = candidates(sig[:max_bucket], bands, rows, max_bucket)
    assert len(c.pairs) == max_bucket * (max_bucket - 1) // 2 and c.oversized == ()


def test_band_keys_depend_on_all_rows_of_the_band_only():
    rng = np.random.default_rng(5)
    sig = rng.integers(0, 2**32, (2, 12), dtype=np.uint32)
    sig[1] = sig[0]
    sig[1, 5] ^= 1  # band 1 of (3 bands x 4 rows)
    sig[1, 11] ^= 1  # outside the 3x3 bands used below
    keys = band_keys(sig, 3, 4)
    assert keys.shape == (2, 3) and keys.dtype == np.uint64
    assert keys[0, 0] == keys[1, 0] and keys[0, 1] != keys[1, 1] and keys[0, 2] != keys[1, 2]
    keys = band_keys(sig, 3, 3)
    assert keys[0, 0] == keys[1, 0] and keys[0, 1] != keys[1, 1] and keys[0, 2] == keys[1, 2]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 40), st.sampled_from([(40, 3), (16, 8), (9, 13), (1, 128), (5, 2)]), st.integers(1, 7),
       st.integers(0, 2**32 - 1))
def test_band_keys_are_the_documented_hash_in_any_chunking(n, shape, chunk, seed):
    """Band keys are stored in indexes: pinned to the docstring's formula, whatever the chunk size."""
    bands, rows = shape
    sig = np.random.default_rng(seed).integers(0, 2**32, (n, 128), dtype=np.uint32)
    want = []
    for d in range(n):
        row = []
        for b in range(bands):
            k = 0
            for j in range(b * rows, (b + 1) * rows):
                k = (k * 0x9E3779B97F4A7C15 + int(sig[d, j])) % 2**64
            row.append(k ^ (k >> 29))
        want.append(row)
    before = lsh.KEY_CHUNK
    try:
        lsh.KEY_CHUNK = chunk  # several chunks even for a few documents
        got = band_keys(sig, bands, rows)
    finally:
        lsh.KEY_CHUNK = before
    assert got.shape == (n, bands) and got.tolist() == want
    assert all(band_key(sig, b, rows).tolist() == [r[b] for r in want] for b in (0, bands - 1))


def test_unique_pairs():
    pairs = np.array([[3, 1], [1, 3], [2, 2], [0, 5], [1, 3], [5, 0], [4, 2]])
    assert unique_pairs(pairs).tolist() == [[0, 5], [1, 3], [2, 4]]
    assert unique_pairs(np.empty((0, 2), np.int64)).shape == (0, 2)


# -- recall ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0.5, 0.8])
def test_candidate_recall_at_the_threshold(threshold):
    """Pairs of random sets with Jaccard >= t are found with probability >= min_recall (0.995)."""
    rng = np.random.default_rng(11)
    num_perm = 128
    bands, rows = bands_for(threshold, num_perm, LSHParams())
    sets, pairs = [], 0
    for _ in range(400):
        union = int(rng.integers(50, 400))
        j = threshold + float(rng.uniform(0, 0.05))
        shared = int(np.ceil(j * union))
        only_a = (union - shared) // 2
        pool = rng.integers(0, 2**64, union, dtype=np.uint64)
        a, b = pool[: shared + only_a], np.concatenate([pool[:shared], pool[shared + only_a:]])
        assert shared / union >= threshold
        sets += [a, b]
        pairs += 1
    sig = sigs_of(sets, num_perm=num_perm, seed=7)
    found = {tuple(p) for p in candidates(sig, bands, rows, max_bucket=200).pairs.tolist()}
    recall = sum((2 * i, 2 * i + 1) in found for i in range(pairs)) / pairs
    assert recall >= 0.99, recall
