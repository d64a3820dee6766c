"""MinHash signatures: bit-compatible with datasketch (scheme affine32), and good Jaccard estimates."""

from __future__ import annotations

import dataclasses

import datasketch
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.errors import DedupError, IncompatibleSignatures
from dedup.minhash import (EMPTY, SignatureSpec, document_signatures, estimate_jaccard, from_datasketch, permutations,
                           signatures, to_datasketch)
from dedup.params import HASH_VERSION, MinHashParams, NormalizeParams, ShingleParams
from dedup.shingle import datasketch_hashfunc, shingle, shingle_hash, shingle_strings


pytestmark = pytest.mark.usefixtures("one_thread")


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

minhash_params = st.builds(MinHashParams, num_perm=st.sampled_from([1, 7, 32, 128]),
                           seed=st.integers(0, 2**32 - 1))
shingle_params = st.builds(ShingleParams, unit=st.sampled_from(["word", "char"]), k=st.integers(1, 4))
words = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=6)
texts = st.lists(st.sampled_from(["de", "het", "één", "straße", "news", "1", "中文", "😀", " ", "\n", ","]) | words,
                 max_size=40).map(" ".join)


def datasketch_signature(strings: list[str], mp: MinHashParams, sp: ShingleParams) -> np.ndarray:
    m = datasketch.MinHash(num_perm=mp.num_perm, seed=mp.seed, hashfunc=datasketch_hashfunc(sp))
    m.update_batch([s.encode("utf-8") for s in strings])
    return m.hashvalues


def csr(sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.zeros(len(sets) + 1, np.int64)
    indptr[1:] = np.cumsum([len(s) for s in sets])
    data = np.concatenate(sets).astype(np.uint64) if sets else np.empty(0, np.uint64)
    return data, indptr


# -- interop with datasketch -------------------------------------------------------------------


@SETTINGS
@given(st.lists(texts, min_size=1, max_size=4), shingle_params, minhash_params)
def test_document_signatures_equal_datasketch(batch, sp, mp):
    sigs = document_signatures(shingle(batch, sp), mp)
    assert sigs.shape == (len(batch), mp.num_perm) and sigs.dtype == np.uint32
    for text, sig in zip(batch, sigs):
        want = datasketch_signature(shingle_strings(text, sp), mp, sp)
        assert want.dtype == np.uint32
        np.testing.assert_array_equal(sig, want)


@SETTINGS
@given(st.lists(st.lists(st.lists(words, min_size=1, max_size=3).map(" ".join), max_size=30), min_size=1,
                max_size=4), minhash_params)
def test_signatures_of_shingle_sets_equal_datasketch(shingle_sets, mp):
    sp = ShingleParams()
    hashes = [np.array([shingle_hash(s) for s in strings], np.uint64) for strings in shingle_sets]
    sigs = signatures(*csr(hashes), mp)
    for strings, sig in zip(shingle_sets, sigs):
        np.testing.assert_array_equal(sig, datasketch_signature(strings, mp, sp))


@pytest.mark.parametrize("num_perm", [1, 2, 64, 128, 256])
@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 - 1])
def test_permutations_equal_datasketch(num_perm, seed):
    a, b = permutations(MinHashParams(num_perm=num_perm, seed=seed))
    ds_a, ds_b = datasketch.MinHash(num_perm=num_perm, seed=seed).permutations
    np.testing.assert_array_equal(a, ds_a)
    np.testing.assert_array_equal(b, ds_b)
    assert a.dtype == np.uint32 and b.dtype == np.uint32
    assert np.all(a % 2 == 1)  # odd multipliers: bijections of 32-bit values


def test_round_trip_through_datasketch():
    mp = MinHashParams(num_perm=64, seed=9)
    sp = ShingleParams()
    texts_ = ["the cat sat on the mat", "the cat sat on a mat today"]
    sigs = document_signatures(shingle(texts_, sp), mp)
    lean = [to_datasketch(s, mp) for s in sigs]
    assert isinstance(lean[0], datasketch.LeanMinHash)
    assert lean[0].seed == 9 and lean[0].scheme == "affine32" and len(lean[0]) == 64
    for s, lm in zip(sigs, lean):
        back = from_datasketch(lm, mp)
        np.testing.assert_array_equal(back, s)
        assert back.dtype == np.uint32
    assert lean[0].jaccard(lean[1]) == pytest.approx(float(estimate_jaccard(sigs[0], sigs[1])))
    # a full MinHash built by datasketch from the same shingles converts as well
    ds = datasketch.MinHash(num_perm=64, seed=9, hashfunc=datasketch_hashfunc(sp))
    ds.update_batch([s.encode() for s in shingle_strings(texts_[0], sp)])
    np.testing.assert_array_equal(from_datasketch(ds, mp), sigs[0])


def test_from_datasketch_returns_a_copy():
    mp = MinHashParams(num_perm=8)
    m = datasketch.MinHash(num_perm=8, seed=mp.seed)
    sig = from_datasketch(m, mp)
    sig[:] = 0
    assert np.all(m.hashvalues == EMPTY)


@pytest.mark.parametrize("make", [
    lambda: datasketch.MinHash(num_perm=128, seed=2),
    lambda: datasketch.MinHash(num_perm=64, seed=1),
    lambda: datasketch.MinHash(num_perm=128, seed=1, scheme="legacy"),
    lambda: datasketch.MinHash(num_perm=128, seed=1, scheme="affine64"),
])
def test_from_datasketch_refuses_other_parameters(make):
    with pytest.raises(IncompatibleSignatures) as info:
        from_datasketch(make(), MinHashParams(num_perm=128, seed=1))
    message = str(info.value)
    assert "expected scheme='affine32', seed=1, num_perm=128" in message
    assert isinstance(info.value, DedupError)


def test_to_datasketch_refuses_wrong_length():
    with pytest.raises(IncompatibleSignatures, match="64 values.*num_perm=128"):
        to_datasketch(np.zeros(64, np.uint32), MinHashParams(num_perm=128))


# -- SignatureSpec ----------------------------------------------------------------------------------

BASE = SignatureSpec(NormalizeParams(), ShingleParams(), MinHashParams())


@pytest.mark.parametrize("other, field, mine, theirs", [
    (dataclasses.replace(BASE, shingle=ShingleParams(k=3)), "k", 2, 3),
    (dataclasses.replace(BASE, shingle=ShingleParams(unit="char")), "unit", "'word'", "'char'"),
    (dataclasses.replace(BASE, minhash=MinHashParams(seed=2)), "seed", 1, 2),
    (dataclasses.replace(BASE, minhash=MinHashParams(num_perm=64)), "num_perm", 128, 64),
    (dataclasses.replace(BASE, normalize=NormalizeParams(strip_accents=True)), "strip_accents", False, True),
    (dataclasses.replace(BASE, clean_repeats=True), "clean_repeats", False, True),
    (dataclasses.replace(BASE, hash_version=HASH_VERSION + 1), "hash_version", HASH_VERSION, HASH_VERSION + 1),
])
def test_require_same_names_the_differing_field(other, field, mine, theirs):
    with pytest.raises(IncompatibleSignatures) as info:
        BASE.require_same(other)
    message = str(info.value)
    assert f"{field}: {mine} vs {theirs}" in message
    # only the differing field is named
    for name in BASE.as_dict():
        if name != field:
            assert f"{name}:" not in message


def test_require_same_accepts_equal_specs_and_lists_all_differences():
    BASE.require_same(SignatureSpec(NormalizeParams(), ShingleParams(), MinHashParams()))
    other = SignatureSpec(NormalizeParams(), ShingleParams(k=5), MinHashParams(seed=3))
    with pytest.raises(IncompatibleSignatures) as info:
        BASE.require_same(other)
    assert "k: 2 vs 5" in str(info.value) and "seed: 1 vs 3" in str(info.value)


# -- estimates -----------------------------------------------------------------------------------


def random_pair(rng, shared: int, only_a: int, only_b: int):
    n = shared + only_a + only_b
    pool = rng.integers(0, 2**64, size=n, dtype=np.uint64, endpoint=False)
    assert len(np.unique(pool & np.uint64(0xFFFFFFFF))) == n  # distinct even in the 32 bits MinHash uses
    a = pool[: shared + only_a]
    b = np.concatenate([pool[:shared], pool[shared + only_a:]])
    return [a, b]


@pytest.mark.parametrize("num_perm", [64, 128])
def test_estimate_within_four_standard_errors_and_unbiased(num_perm):
    rng = np.random.default_rng(2024)
    mp = MinHashParams(num_perm=num_perm, seed=5)
    sets, truth = [], []
    for _ in range(300):
        shared = int(rng.integers(1, 300))
        only_a, only_b = (int(x) for x in rng.integers(1, 300, 2))
        sets += random_pair(rng, shared, only_a, only_b)
        truth.append(shared / (shared + only_a + only_b))
    sig = signatures(*csr(sets), mp)
    est = estimate_jaccard(sig[0::2], sig[1::2])
    j = np.array(truth)
    se = np.sqrt(j * (1 - j) / num_perm)
    assert np.all(np.abs(est - j) <= 4 * se), np.max(np.abs(est - j) / se)
    assert abs(np.mean(est - j)) < 0.01  # no visible bias
    assert 0.6 < np.std((est - j) / se) < 1.4  # the documented standard error is the right size


def test_estimate_of_identical_and_disjoint_sets():
    rng = np.random.default_rng(1)
    a, b = random_pair(rng, 0, 200, 200)
    sig = signatures(*csr([a, a[::-1].copy(), b]), MinHashParams())
    assert estimate_jaccard(sig[0], sig[1]) == 1.0
    assert estimate_jaccard(sig[0], sig[2]) == 0.0
    # row-wise on 2-d input
    assert estimate_jaccard(sig[[0, 0]], sig[[1, 2]]).tolist() == [1.0, 0.0]


def test_empty_documents():
    mp = MinHashParams(num_perm=32)
    sigs = document_signatures(shingle(["", "... !!", "some words here"], ShingleParams()), mp)
    assert np.all(sigs[0] == 0xFFFFFFFF) and np.all(sigs[1] == 0xFFFFFFFF)
    np.testing.assert_array_equal(sigs[0], datasketch.MinHash(num_perm=32, seed=mp.seed).hashvalues)
    assert estimate_jaccard(sigs[0], sigs[1]) == 0.0
    assert estimate_jaccard(sigs[0], sigs[2]) == 0.0
    assert estimate_jaccard(sigs[2], sigs[2]) == 1.0


# -- set semantics --------------------------------------------------------------------------------

hash_lists = st.lists(st.integers(0, 2**64 - 1), max_size=40)


@SETTINGS
@given(hash_lists, hash_lists, st.randoms(use_true_random=False))
def test_signature_depends_on_the_set_only_and_union_is_minimum(xs, ys, rnd):
    mp = MinHashParams(num_perm=16, seed=3)
    shuffled = xs + xs[: len(xs) // 2]
    rnd.shuffle(shuffled)
    sets = [np.array(v, np.uint64) for v in (xs, shuffled, ys, xs + ys)]
    sig = signatures(*csr(sets), mp)
    np.testing.assert_array_equal(sig[0], sig[1])
    np.testing.assert_array_equal(sig[3], np.minimum(sig[0], sig[2]))
    # only the low 32 bits of a shingle hash are used
    high = [np.array(xs, np.uint64) ^ np.uint64(0xABCD << 40)]
    np.testing.assert_array_equal(signatures(*csr(high), mp)[0], sig[0])
