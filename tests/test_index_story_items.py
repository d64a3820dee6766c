"""One article as the index's stories see it (dedup/index_story_items.py): tokens, prepared items, stored forms."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup import Document
from dedup.index_story_items import (_TOKEN, Item, anchor_hash, anchors_json, items_from_rows, prepare, terms_blob,
                                     tokens)
from dedup.index_story_items import _terms_from_blob as terms_from_blob
from dedup.index_story_items import _words as words
from dedup.shingle import code_points, letter_classes
from dedup.stories_kernels import word_counts, xxh32

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


def counted(found: list[str]) -> tuple[list[int], list[int]]:
    """The reference of the compiled word counts: each token's XXH32, counted, capped at 65,535."""
    by_hash = Counter(xxhash.xxh32_intdigest(t.encode("utf-8", "surrogatepass")) for t in found)
    return sorted(by_hash), [min(by_hash[h], 65535) for h in sorted(by_hash)]


def compiled(text: str) -> tuple[list[int], list[int]]:
    terms, counts = word_counts(code_points(text), letter_classes())
    return terms.tolist(), counts.tolist()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_compiled_xxh32_is_xxhashs(data):
    assert xxh32(np.frombuffer(data + b"\0" * 4, np.uint8), len(data)) == xxhash.xxh32_intdigest(data)


@settings(max_examples=400, deadline=None)
@given(st.text(st.characters(codec=None), max_size=200)
       | st.lists(st.sampled_from(["ab", "Éa", "x2", "_", "ǅ", "²", "٣", "\ud800", " ", "\n", "Straße", "ı"]))
       .map("".join))
def test_word_counts_are_those_of_the_tokens(text):
    """The compiled loop finds, hashes and counts the regular expression's tokens, headline twice."""
    assert compiled(text) == counted(_TOKEN.findall(text))
    head = text.split("\n", 1)[0]
    terms, counts = words(text)
    assert (terms.tolist(), counts.tolist()) == counted(tokens(f"{head}\n{text}"))


def test_word_classes_agree_with_the_regular_expression_at_every_code_point():
    """Each code point between letters, doubled and beside a digit: the same tokens as ``re`` finds."""
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    for shape in ("ab{}cd ", "{}{} ", "{}1 ", "x{} "):
        for start in range(0, len(points), 30_000):  # counts below the cap
            text = "".join(shape.format(c, c) for c in points[start:start + 30_000])
            assert compiled(text) == counted(_TOKEN.findall(text)), (shape, start)


def test_word_counts_stop_at_the_stored_maximum():
    terms, counts = words("ab " * 70_000 + "\ncd")  # the headline counts twice
    assert sorted(counts.tolist()) == [1, 65535] and len(terms) == 2


_ANCHOR_KEYS = st.one_of(st.sampled_from(["acme", "erich andersen", "date:2024-03-12", "eu", "12%", "new york"]),
                         st.text(max_size=12))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(_ANCHOR_KEYS, st.sampled_from(sorted(set("nacp#%d"))), max_size=12), max_size=6))
def test_stored_rows_read_together_give_the_items_made_one_by_one(anchor_sets):
    """items_from_rows makes the anchor arrays and term frequencies of all rows at once; each item equals the one
    Item() makes."""
    rows, want = [], []
    for k, anchors in enumerate(anchor_sets):
        item = Item(k, f"d{k}", "en", float(k), anchors, np.arange(k, dtype=np.uint32),
                    (np.arange(k) * 37 % 300 + 1).astype(np.uint16), f"s{k % 2}")
        rows.append((k, item.id, item.lang, item.ts, item.story, anchors_json(anchors), terms_blob(item)))
        want.append(item)
    got = items_from_rows(rows)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert (g.key, g.id, g.lang, g.ts, g.story, g.anchors) == (w.key, w.id, w.lang, w.ts, w.story, w.anchors)
        for name in ("hashes", "phrase_key", "phrase_kind", "terms", "counts", "tf"):  # tf: bit for bit
            assert getattr(g, name).tolist() == getattr(w, name).tolist(), name
            assert getattr(g, name).dtype == getattr(w, name).dtype, name
        assert g.hashes.tolist() == sorted(anchor_hash(a) for a in g.anchors)
        by_hash = {anchor_hash(a): a for a in g.anchors}
        assert g.phrase_key.tolist() == [" " in by_hash[h] and not by_hash[h].startswith("date:") for h in g.hashes.tolist()]
        assert g.phrase_kind.tolist() == [g.anchors[by_hash[h]] == "p" for h in g.hashes.tolist()]
