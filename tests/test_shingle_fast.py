"""The compiled raw-text path (case folding inside the kernel) equals the Python reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.normalize import normalize
from dedup.params import NormalizeParams, ShingleParams
from dedup.shingle import fold_tables, shingle, shingle_texts

TRICKY = ("aAzZ09 .,;:!?-'\"\n\r\t" "äöüÄÖÜßẞéèêëÉíïĳĲçñøØåÅœŒ" "İıǰŉſ" "ΣσςΑΩάΐ" "ДжЁё" "\u0301\u0308\u0327"
          "\u00a0\u2009\u200b\u202f" "‘’“”„«»‹›´`–—―−…" "½¼™©®°" "ﬁﬂﬀ" "ＡＢｃ１" "\u1100\u1161\u11a8가" "中文日本"
          "😀👍🏽" "\u2028\x85\x0c")


def assert_same(texts: list[str], params: ShingleParams, norm: NormalizeParams = NormalizeParams()) -> None:
    ref = shingle([normalize(t, norm) for t in texts], params)
    got = shingle_texts(texts, params, norm)
    assert np.array_equal(ref.indptr, got.indptr)
    assert np.array_equal(ref.hashes, got.hashes)
    assert np.array_equal(ref.lines, got.lines)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(TRICKY), max_size=60), min_size=1, max_size=6),
       st.integers(1, 4))
def test_fast_path_equals_reference_on_tricky_text(texts, k):
    assert_same(texts, ShingleParams("word", k))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=5), st.integers(1, 3))
def test_fast_path_equals_reference_on_any_unicode(texts, k):
    assert_same(texts, ShingleParams("word", k))


def test_char_units_and_accent_stripping_use_the_reference():
    texts = ["Straße “Grüße” – ½", "Ünïcödé"]
    assert_same(texts, ShingleParams("char", 3))
    assert_same(texts, ShingleParams("word", 2), NormalizeParams(strip_accents=True))


def test_common_news_characters_need_no_python_normalisation():
    start, length, data, special = fold_tables()
    for c in "äöüßéèëïçñøåœ" "ÄÖÜÉ" "\u00a0‘’“”„«»–—…" "ﬁ":
        assert not special[ord(c)], repr(c)
    assert special[0x0301]  # a combining mark composes with its neighbour: Python path


def test_a_word_that_folds_to_more_than_four_bytes_a_character():
    # ㍿ folds to 株式会社: 12 UTF-8 bytes from one code point, so the kernel's unit buffer grows.
    word = "x" + "㍿" * 3000
    start, length, _, special = fold_tables()
    assert length[ord("㍿")] == 4 and not special[ord("㍿")]
    assert_same([word, f"a {word} b\n{word}", "㍿"], ShingleParams("word", 2))
