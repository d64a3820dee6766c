"""One article as the index's stories see it (dedup/index_story_items.py): tokens, prepared items, stored forms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup import Document
from dedup.index_story_items import Item, anchor_hash, prepare, terms_blob, tokens
from dedup.index_story_items import _terms_from_blob as terms_from_blob

REPO = Path(__file__).resolve().parent.parent


def example_docs() -> list[Document]:
    return dedup.read_all([str(REPO / "examples" / "corpus.jsonl")])[0]


def test_tokens_are_scikit_learns():
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = TfidfVectorizer(strip_accents="unicode", token_pattern=r"(?u)\b[^\W\d_]{2,}\b").build_analyzer()
    odd = Document("x", "Ærøskøbing ŞİŞLİ İstanbul ﬁnance Straße naïve café ÉCOLE l'été x² ½")
    # accents stripped run by run (dedup.index_story_items._stripped): combining marks after ASCII letters, out of
    # canonical order, at the start; compatibility forms that split or join words; other scripts
    runs = Document("y", "cafe\u0301 a\u0316\u0301b e\u0301\u0316\u0301x \u0301start ™ ℡ᴬ ﬀ ǅungla x²y ½a "
                         "ΟΔΥΣΣΕΥΣ ὈΔΥΣΣΕΎΣ 한국어 Ｆｕｌｌ ｗｉｄｔｈ Ⅻ ㎏ ﬆar Å\u030a")
    for d in example_docs() + [odd, runs]:
        assert tokens(d.text) == analyzer(d.text)


def test_prepare_keeps_anchor_hashes_sorted_and_aligned_with_their_kinds():
    for doc in example_docs()[:10]:
        item = prepare(7, doc)
        assert item.key == 7 and item.id == doc.id and len(item.hashes) == len(item.anchors) > 0
        assert np.all(np.diff(item.hashes) > 0)
        by_hash = {anchor_hash(k): (k, v) for k, v in item.anchors.items()}
        for h, key_flag, kind_flag in zip(item.hashes.tolist(), item.phrase_key, item.phrase_kind):
            k, v = by_hash[h]
            assert kind_flag == (v == "p") and key_flag == (" " in k and not k.startswith("date:"))
        assert np.all(np.diff(item.terms.astype(np.int64)) > 0) and item.counts.min() >= 1


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(0, 2**32 - 1), st.integers(1, 2**16 - 1), max_size=300))
def test_word_counts_round_trip_through_their_stored_form(counts):
    terms = np.array(sorted(counts), np.uint32)
    item = Item(1, "x", "en", 0.0, {}, terms, np.array([counts[t] for t in sorted(counts)], np.uint16))
    got_terms, got_counts = terms_from_blob(terms_blob(item))
    assert got_terms.tolist() == item.terms.tolist() and got_counts.tolist() == item.counts.tolist()
