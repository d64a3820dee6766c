"""Sketching a corpus: signatures, exact sets and paragraph signatures, batch by batch."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import dedup.sketch as sketch_module
from dedup.minhash import SignatureSpec, document_signatures
from dedup.normalize import normalize
from dedup.params import MinHashParams, NormalizeParams, ShingleParams
from dedup.shingle import exact_sets, shingle, shingle_hash, shingle_strings
from dedup.sketch import MIN_PARAGRAPH_SHINGLES, paragraph_segments, sketch

SPEC = SignatureSpec(NormalizeParams(), ShingleParams(k=2), MinHashParams(num_perm=32, seed=3))


def corpus(n: int = 9, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(60)] + ["Straße", "één", "zo'n", "\u201cquote\u201d", "Müller-Lüdenscheidt"]
    docs = []
    for _ in range(n):
        paras = []
        for _ in range(int(rng.integers(0, 5))):
            paras.append(" ".join(rng.choice(vocab, int(rng.integers(0, 16)))))
        docs.append(rng.choice(["\n", "\r\n", "\n\n"]).join(paras))
    docs[0] = ""
    return docs


def test_document_signatures_and_sets():
    texts = corpus()
    sk = sketch(texts, SPEC)
    assert sk.spec == SPEC
    normalised = [normalize(t, SPEC.normalize) for t in texts]
    sh = shingle(normalised, SPEC.shingle)
    np.testing.assert_array_equal(sk.signatures, document_signatures(sh, SPEC.minhash))
    data, indptr = sk.sets
    for i, t in enumerate(normalised):
        want = sorted({shingle_hash(s) for s in shingle_strings(t, SPEC.shingle)})
        assert data[indptr[i]:indptr[i + 1]].tolist() == want
    assert sk.paragraph_signatures is None and sk.paragraph_document is None
    assert np.all(sk.signatures[0] == 0xFFFFFFFF)  # the empty document


def test_paragraph_signatures_are_signatures_of_the_long_paragraphs():
    texts = corpus(12, seed=4)
    sk = sketch(texts, SPEC, paragraphs=True)
    want_sigs, want_docs = [], []
    for i, t in enumerate(texts):
        for line in normalize(t, SPEC.normalize).split("\n"):
            if len(shingle_strings(line, SPEC.shingle)) >= MIN_PARAGRAPH_SHINGLES:
                want_sigs.append(document_signatures(shingle([line], SPEC.shingle), SPEC.minhash)[0])
                want_docs.append(i)
    assert len(want_docs) > 3  # the corpus has long and short paragraphs
    assert sk.paragraph_document.tolist() == want_docs
    np.testing.assert_array_equal(sk.paragraph_signatures, np.array(want_sigs).reshape(-1, 32))


def test_batches_give_the_same_result(monkeypatch):
    texts = corpus(11, seed=7)
    whole = sketch(texts, SPEC, paragraphs=True)
    monkeypatch.setattr(sketch_module, "BATCH", 2)
    seen = []
    parts = sketch(texts, SPEC, paragraphs=True, progress=seen.append)
    assert seen == [2, 2, 2, 2, 2, 1]
    np.testing.assert_array_equal(parts.signatures, whole.signatures)
    np.testing.assert_array_equal(parts.set_data, whole.set_data)
    np.testing.assert_array_equal(parts.set_indptr, whole.set_indptr)
    np.testing.assert_array_equal(parts.paragraph_signatures, whole.paragraph_signatures)
    np.testing.assert_array_equal(parts.paragraph_document, whole.paragraph_document)


def test_a_small_batch_is_sketched_on_one_thread_with_the_same_result(monkeypatch):
    texts = corpus(11, seed=5)
    threads, shingle_texts = [], sketch_module.shingle_texts
    monkeypatch.setattr(sketch_module, "shingle_texts",
                        lambda *a: threads.append(numba.get_num_threads()) or shingle_texts(*a))
    before = numba.get_num_threads()
    small = sketch(texts, SPEC, paragraphs=True)
    monkeypatch.setattr(sketch_module, "PARALLEL_CHARS", 0)
    large = sketch(texts, SPEC, paragraphs=True)
    assert threads == [1, before] and numba.get_num_threads() == before
    for field in ("signatures", "set_data", "set_indptr", "paragraph_signatures", "paragraph_document", "cleaned"):
        np.testing.assert_array_equal(getattr(small, field), getattr(large, field))


def test_empty_corpus():
    sk = sketch([], SPEC, paragraphs=True)
    assert sk.signatures.shape == (0, 32)
    assert sk.set_indptr.tolist() == [0] and len(sk.set_data) == 0
    assert sk.paragraph_signatures.shape == (0, 32) and len(sk.paragraph_document) == 0
    sk = sketch(["", "...", ""], SPEC, paragraphs=True)
    assert sk.set_indptr.tolist() == [0, 0, 0, 0]
    assert sk.paragraph_signatures.shape == (0, 32)


def test_paragraph_segments():
    p = ShingleParams(k=1)
    long_ = " ".join(f"x{i}" for i in range(MIN_PARAGRAPH_SHINGLES))
    short = "a b"
    sh = shingle([f"{short}\n{long_}\n\n{long_} y", long_, short], p)
    seg, doc = paragraph_segments(sh, MIN_PARAGRAPH_SHINGLES)
    m = MIN_PARAGRAPH_SHINGLES
    # doc 0: short (2 shingles) at 0..2, long at 2..2+m, long+1 at 2+m..3+2m; doc 1: long at 3+2m..3+3m
    assert seg.tolist() == [2, 2 + m, 2 + m, 3 + 2 * m, 3 + 2 * m, 3 + 3 * m]
    assert doc.tolist() == [0, 0, 1]
    # identical paragraphs in different documents are separate segments
    seg, doc = paragraph_segments(shingle([long_, long_], p), MIN_PARAGRAPH_SHINGLES)
    assert seg.tolist() == [0, m, m, 2 * m] and doc.tolist() == [0, 1]
    seg, doc = paragraph_segments(shingle([], p), 1)
    assert len(seg) == 0 and len(doc) == 0


@pytest.mark.parametrize("strip", [False, True])
def test_spec_normalisation_is_applied(strip):
    spec = SignatureSpec(NormalizeParams(strip_accents=strip), ShingleParams(k=1), MinHashParams(num_perm=16))
    sk = sketch(["Café", "cafe"], spec)
    same = np.array_equal(sk.signatures[0], sk.signatures[1])
    assert same == strip
    sets = exact_sets(shingle([normalize("Café", spec.normalize)], spec.shingle))
    np.testing.assert_array_equal(sk.set_data[: sk.set_indptr[1]], sets[0])
