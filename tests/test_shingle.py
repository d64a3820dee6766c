"""Shingling: the compiled kernel agrees bit for bit with the pure-Python definition."""

from __future__ import annotations

import re

import numba
import numpy as np
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import _kernels
from dedup.normalize import normalize
from dedup.params import NormalizeParams, ShingleParams
from dedup.shingle import (datasketch_hashfunc, exact_sets, join, shingle, shingle_hash, shingle_strings, shingle_texts,
                           units, word_table)


pytestmark = pytest.mark.usefixtures("one_thread")


M64 = (1 << 64) - 1

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LETTERS = list("abcxyzABCXYZßäöüÄÖÜéëïèêçñøåæœĳŉ0123456789")
OTHER = list(" .,;:!?'\"-_/()[]@#%&*+=\t") + ["\n", "\n", "\n\n", "  "]
EXOTIC = ["😀", "👍🏽", "🇳🇱", "中", "文", "字", "の", "ー", "한", "국", "ع", "ب", "\u0301", "\u200b", "\u00a0",
          "½", "²", "Ⅳ", "\ufb01", "\U0001d400", "\U00010348",
          "\ud800", "\udfff"]  # lone surrogates: str allows them; unit hashes use surrogatepass
pieces = st.sampled_from(LETTERS + OTHER + EXOTIC) | st.characters(codec="utf-8")
texts = st.lists(pieces, max_size=50).map("".join)
params = st.builds(ShingleParams, unit=st.sampled_from(["word", "char"]), k=st.integers(1, 5))


def reference(text: str, p: ShingleParams) -> tuple[list[int], list[int]]:
    """Hashes and line numbers by the documented definition, in text order."""
    hashes, lines = [], []
    for n, line in enumerate(text.split("\n")):
        for s in shingle_strings(line, p):
            hashes.append(shingle_hash(s, p.unit))
            lines.append(n)
    return hashes, lines


def hashes_of(text: str, p: ShingleParams) -> list[int]:
    return shingle([text], p).of(0).tolist()


# -- kernel == reference ----------------------------------------------------------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, min_size=1, max_size=12), params, st.booleans())
def test_kernel_equals_reference(batch, p, normalise):
    # shingle() takes normalised text, which has "\n" as its only line break; the reference
    # splits lines on "\n" alone, so raw input is kept free of "\r" (the kernel also breaks on it)
    batch = [normalize(t) for t in batch] if normalise else [t.replace("\r", "") for t in batch]
    sh = shingle(batch, p)
    assert len(sh) == len(batch)
    assert sh.hashes.dtype == np.uint64 and sh.indptr[0] == 0 and sh.indptr[-1] == len(sh.hashes)
    for i, text in enumerate(batch):
        want_hashes, want_lines = reference(text, p)
        assert sh.of(i).tolist() == want_hashes
        assert sh.lines[sh.indptr[i]:sh.indptr[i + 1]].tolist() == want_lines
        # reference over the whole text == line by line
        assert [shingle_hash(s, p.unit) for s in shingle_strings(text, p)] == want_hashes


FOLD_PIECES = list("abcßäöüéİIıKΣσςǰΐẞᾳ\r\n ,.'\u00b4\u0301\u0308½²\ufb01\uff21\u2028\u00a0\u200b")
raw_texts = st.lists(st.sampled_from(FOLD_PIECES + ["\r\n", "\u1100\u1161", "\u3131"]) | pieces, max_size=50).map(
    "".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(raw_texts, min_size=1, max_size=8), params, st.booleans())
def test_shingle_texts_equals_shingle_of_normalised_texts(batch, p, strip_accents):
    """The fused path (case folding inside the kernel) is the documented composition."""

    norm = NormalizeParams(strip_accents=strip_accents)
    fused = shingle_texts(batch, p, norm)
    plain = shingle([normalize(t, norm) for t in batch], p)
    assert fused.indptr.tolist() == plain.indptr.tolist()
    assert fused.hashes.tolist() == plain.hashes.tolist()
    assert fused.lines.tolist() == plain.lines.tolist()


def test_batch_composition_does_not_matter():
    p = ShingleParams(k=2)
    docs = ["one two three", "", "four five\nsix", "seven"]
    together = shingle(docs, p)
    for i, d in enumerate(docs):
        alone = shingle([d], p)
        assert together.of(i).tolist() == alone.of(0).tolist()
    assert shingle([], p).indptr.tolist() == [0]


def test_densest_text_fits_the_kernel_scratch():
    """One-byte words with one-byte separators: the most shingles per byte a text can have,
    at every offset parity, so each document fills its whole scratch region (scratch_size)."""

    dense = ["a", "a b", "ab c", "a b c d e f g", "x\ny\nz", "", "ß ß ß", "1 2 3 4 5 6 7 8 9 0 a b c"]
    batch = [dense[i % len(dense)] * (1 + i % 3) for i in range(40)]
    for p in (ShingleParams("word", 1), ShingleParams("word", 2), ShingleParams("char", 1)):
        sh = shingle(batch, p)
        for i, text in enumerate(batch):
            assert sh.of(i).tolist() == reference(text, p)[0]
        folded = shingle([normalize(t) for t in batch], p)
        assert shingle_texts(batch, p).hashes.tolist() == folded.hashes.tolist()


def test_scratch_reused_across_batches_of_any_size():
    p = ShingleParams(k=2)
    big = [f"w{i} " * 300 for i in range(50)]
    small = ["one two three", "four"]
    first = shingle(small, p).hashes.tolist()
    shingle(big, p)  # leaves scratch full of another batch's hashes
    assert shingle(small, p).hashes.tolist() == first
    together = shingle(big, p)
    assert all(together.of(i).tolist() == shingle([d], p).of(0).tolist() for i, d in enumerate(big))


# -- the definition itself ----------------------------------------------------------------------


def fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & M64
    return h ^ (h >> 33)


@SETTINGS
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=8),
                min_size=1, max_size=5))
def test_shingle_hash_matches_documented_formula(words):
    h = 0
    for w in words:
        h = (h * 11400714785074694791 + xxhash.xxh64_intdigest(w.encode("utf-8"))) & M64
    assert shingle_hash(" ".join(words), "word") == fmix64(h)
    assert shingle_hash(" ".join(words).encode("utf-8"), "word") == fmix64(h)
    chars = "".join(words)
    h = 0
    for c in chars:
        h = (h * 11400714785074694791 + xxhash.xxh64_intdigest(c.encode("utf-8"))) & M64
    assert shingle_hash(chars, "char") == fmix64(h)


def test_datasketch_hashfunc_is_low_32_bits_of_shingle_hash():
    for unit in ("word", "char"):
        f = datasketch_hashfunc(ShingleParams(unit=unit))
        for s in ["a b", "straße één", "x", "中文 字"]:
            assert f(s.encode("utf-8")) == shingle_hash(s, unit) & 0xFFFFFFFF
            assert 0 <= f(s.encode("utf-8")) < 2**32


def test_word_table_is_isalnum():
    table = word_table()
    assert table.shape == (0x110000,)
    rng = np.random.default_rng(0)
    for cp in list(rng.integers(0, 0x110000, 3000)) + [ord(c) for c in "aZ09_ ß-'é中😀\u0301½²"]:
        assert bool(table[cp]) == chr(cp).isalnum(), hex(cp)


# -- xxh64 ---------------------------------------------------------------------------------------


@numba.njit
def _xxh64(buf, start, length):
    return _kernels.xxh64(buf, start, length)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=100), st.binary(max_size=7))
def test_xxh64_kernel_equals_xxhash(data, prefix):
    buf = np.frombuffer(prefix + data + b"tail", np.uint8).copy()  # writable: one compiled signature
    assert int(_xxh64(buf, len(prefix), len(data))) == xxhash.xxh64_intdigest(data)


def test_xxh64_every_length_up_to_100():
    rng = np.random.default_rng(42)
    for n in range(101):
        data = rng.integers(0, 256, n, dtype=np.uint8)
        assert int(_xxh64(data, 0, n)) == xxhash.xxh64_intdigest(data.tobytes())


# -- word boundaries and lines ----------------------------------------------------------------------


@pytest.mark.parametrize("raw, words", [
    ("Straße", ["strasse"]),
    ("één", ["één"]),
    ("zo'n", ["zo", "n"]),
    ("Müller-Lüdenscheidt", ["müller", "lüdenscheidt"]),
    ("snake_case x2", ["snake", "case", "x2"]),
    ("3,5 mln.", ["3", "5", "mln"]),
    ("co\u00f6peratie", ["coöperatie"]),
    ("中文字 日本", ["中文字", "日本"]),
    ("a😀b", ["a", "b"]),
])
def test_word_boundaries(raw, words):
    text = normalize(raw)
    p1 = ShingleParams(k=1)
    assert units(text, p1) == words
    assert re.findall(r"[^\W_]+", text) == words
    assert hashes_of(text, p1) == [shingle_hash(w) for w in words]
    # a line of fewer than k words is one shingle of all of them
    assert hashes_of(text, ShingleParams(k=5)) == [shingle_hash(" ".join(words))]


def test_shingles_never_cross_lines():
    p = ShingleParams(k=2)
    text = "a b c\nd e\n\nf"
    sh = shingle([text], p)
    assert shingle_strings(text, p) == ["a b", "b c", "d e", "f"]
    assert sh.of(0).tolist() == [shingle_hash(s) for s in ["a b", "b c", "d e", "f"]]
    assert shingle_hash("c d") not in sh.of(0).tolist()
    assert sh.lines.tolist() == [0, 0, 1, 3]
    pc = ShingleParams(unit="char", k=3)
    assert shingle_strings("abcd\nef", pc) == ["abc", "bcd", "ef"]
    assert hashes_of("abcd\nef", pc) == [shingle_hash(s, "char") for s in ["abc", "bcd", "ef"]]


@pytest.mark.parametrize("unit, k, line, expected", [
    ("word", 3, "one two", "one two"),
    ("word", 64, "just a few words here", "just a few words here"),
    ("char", 5, "abc", "abc"),
    ("char", 2, "x", "x"),
])
def test_short_line_gives_one_shingle(unit, k, line, expected):
    p = ShingleParams(unit=unit, k=k)
    assert shingle_strings(line, p) == [expected]
    assert hashes_of(line, p) == [shingle_hash(expected, unit)]


def test_line_of_exactly_k_units_gives_one_shingle_and_longer_lines_k_windows():
    p = ShingleParams(k=3)
    assert len(hashes_of("a b c", p)) == 1
    assert len(hashes_of("a b c d e", p)) == 3
    assert hashes_of("a b c", p) == [shingle_hash("a b c")]


def test_no_units_no_shingles():
    for p in (ShingleParams(k=2), ShingleParams(unit="char", k=2)):
        assert hashes_of("", p) == []
        assert hashes_of("\n\n", p) == []
    assert hashes_of("... -- !!", ShingleParams(k=2)) == []


def test_order_and_multiplicity_matter_to_shingles_not_to_sets():
    p = ShingleParams(k=1)
    sh = shingle(["b a b", "a b", "x"], p)
    assert len(sh.of(0)) == 3
    data, indptr = exact_sets(sh)
    for i in range(3):
        want = sorted(set(sh.of(i).tolist()))
        assert data[indptr[i]:indptr[i + 1]].tolist() == want
    assert data[indptr[0]:indptr[1]].tolist() == data[indptr[1]:indptr[2]].tolist()


@settings(max_examples=25, deadline=None)  # each call of the parallel set kernel costs ~10 ms
@given(st.lists(texts, max_size=5), params)
def test_exact_sets_are_sorted_unique_shingles(batch, p):
    sh = shingle(batch, p)
    data, indptr = exact_sets(sh)
    assert len(indptr) == len(batch) + 1
    for i in range(len(batch)):
        assert data[indptr[i]:indptr[i + 1]].tolist() == sorted(set(sh.of(i).tolist()))


def test_join_offsets_count_code_points():
    text, offsets = join(["ab", "", "é中", "😀x"])
    assert offsets.tolist() == [0, 2, 2, 4, 6]
    assert text == "abé中😀x"


def test_results_do_not_depend_on_thread_count(monkeypatch):
    from dedup import verify
    from dedup.minhash import signatures
    from dedup.params import MinHashParams

    monkeypatch.setattr(verify, "PARALLEL_ELEMENTS", 0)  # overlap() on every thread, however small

    rng = np.random.default_rng(3)
    vocab = ["alpha", "beta", "gamma", "één", "straße", "中文", "x1", "\n"]
    batch = [" ".join(rng.choice(vocab, int(rng.integers(0, 80)))) for _ in range(300)]
    p = ShingleParams(k=2)

    def run():
        sh = shingle(batch, p)
        data, indptr = exact_sets(sh)
        sig = signatures(sh.hashes, sh.indptr, MinHashParams(num_perm=32))
        pairs = np.random.default_rng(4).integers(0, len(batch), (2, 500))
        inter = verify.overlap(data, indptr, pairs[0], pairs[1])[0]
        return sh.hashes.copy(), sh.lines.copy(), sh.indptr.copy(), data, indptr, sig, inter

    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = run()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = run()
    finally:
        numba.set_num_threads(before)
    for a, b in zip(single, many):
        np.testing.assert_array_equal(a, b)
    for i, text in enumerate(batch):
        assert single[0][single[2][i]:single[2][i + 1]].tolist() == reference(text, p)[0]


def test_threads_for_runs_small_work_on_one_thread_and_restores_the_count():
    before = numba.get_num_threads()
    with _kernels.threads_for(99, 100):
        small = numba.get_num_threads()
    with _kernels.threads_for(100, 100):
        large = numba.get_num_threads()
    with pytest.raises(KeyError):
        with _kernels.threads_for(0, 100):
            raise KeyError
    assert (small, large, numba.get_num_threads()) == (1, before, before)


@pytest.mark.parametrize("raw", [True, False])
def test_a_document_hashes_alike_whatever_the_widest_character_of_its_batch(raw):
    """The batch is one str, stored 1, 2 or 4 bytes a character by its widest character (one compiled kernel
    per width): a document's shingles must not depend on its neighbours."""
    doc = "Straße und Zürich: the Port of Rotterdam\nreopened on Monday, officials said."
    p = ShingleParams(k=2)
    run = (lambda batch: shingle_texts(batch, p)) if raw else (lambda batch: shingle(batch, p))
    alone = run([doc]).of(0)
    for neighbour in ("plain ascii", "latin-1 é", "curly “quotes”", "emoji 😀", "lone \ud800 surrogate"):
        for batch in ([doc, neighbour], [neighbour, doc]):
            got = run(batch)
            assert np.array_equal(got.of(batch.index(doc)), alone), neighbour
    assert len(alone) > 5
