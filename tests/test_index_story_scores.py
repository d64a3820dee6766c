"""Document frequencies by number (dedup/index_story_scores.py, Numbered: a compiled hash table), and the
compiled per-article anchor sums the scores are made of.

The pair scores themselves are checked end to end against the per-pair oracle in tests/test_index_stories.py.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.index_story_scores import Numbered
from dedup.stories_kernels import anchor_sums

KEYS = st.integers(-2**63, 2**63 - 1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.one_of(KEYS, st.integers(-3, 3)), max_size=400), max_size=12),
       st.dictionaries(st.integers(-3, 3), st.integers(1, 50)))
def test_keys_are_numbered_in_order_of_first_sight_with_their_stored_frequencies(calls, stored):
    """Equal to a dict numbering keys as first seen, across calls and table growth (past 1,024 slots); each
    key's stored frequency read once, when it is numbered (absent: 0)."""
    asked: list[list[int]] = []

    def load(keys: list[int]) -> dict[int, int]:
        asked.append(keys)
        return {k: stored[k] for k in keys if k in stored}

    table, want = Numbered(load), {}
    for keys in calls + [list(range(1500))]:  # the last call grows the table
        got = table.positions(np.array(keys, np.int64))
        for k in keys:
            want.setdefault(k, len(want))
        assert got.tolist() == [want[k] for k in keys]
    assert len(table) == len(want)
    by_number = sorted(want, key=want.get)
    assert table.key[:len(table)].tolist() == by_number
    assert table.df[:len(table)].tolist() == [stored.get(k, 0) for k in by_number]
    assert sorted(k for keys in asked for k in keys) == sorted(want) and all(keys == sorted(keys) for keys in asked)
    assert not table.mark[:len(table)].any() and np.isnan(table.scratch[:len(table)]).all()


def test_word_hashes_and_anchor_hashes_share_the_table():
    """uint32 word hashes (as stored) and int64 anchor hashes number alike."""
    table = Numbered(lambda keys: {})
    words = np.array([2**32 - 1, 0, 5, 2**32 - 1], np.uint32)
    assert table.positions(words).tolist() == [0, 1, 2, 0]
    assert table.positions(np.array([5, 2**32 - 1, -1], np.int64)).tolist() == [2, 0, 3]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 30), st.booleans(), st.booleans()), max_size=25), max_size=8),
       st.lists(st.integers(0, 9), min_size=31, max_size=31), st.sets(st.integers(0, 30)), st.integers(0, 500))
def test_anchor_sums_equal_the_numpy_sums_per_article_bit_for_bit(articles, df_by_pos, item_has, n):
    """Per article (a segment of anchors by position, with phrase flags): shared count and idf, and weight, as
    the numpy ``bincount`` over segments that the loop replaced sums them, in the same order."""
    pos = np.array([p for a in articles for p, _, _ in a], np.int64)
    key = np.array([k for a in articles for _, k, _ in a], bool)
    kind = np.array([k for a in articles for _, _, k in a], bool)
    seg = np.repeat(np.arange(len(articles)), [len(a) for a in articles])
    df = np.maximum(np.array(df_by_pos)[pos], 1).astype(float)
    linkable = df >= 2
    idf = np.where(linkable, np.log((n + 1) / df), 0.0)
    has = np.zeros(31)
    has[sorted(item_has)] = 1.0
    log_n1 = float(np.log(n + 1))
    shared, total, weight = anchor_sums(np.cumsum([0] + [len(a) for a in articles]), pos, idf, linkable, key, kind,
                                        has, log_n1)
    hit = has[pos] > 0
    m = len(articles)
    assert shared.tolist() == np.bincount(seg[hit], None, m).tolist()
    assert total.tolist() == np.bincount(seg[hit], idf[hit], m).tolist()
    linked = np.bincount(seg, np.where(linkable & ~key, idf, 0.0), m)
    assert weight.tolist() == (linked + log_n1 * np.bincount(seg, (~linkable & ~kind).astype(float), m)).tolist()
