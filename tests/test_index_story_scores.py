"""Document frequencies by number (dedup/index_story_scores.py, Numbered: a compiled hash table), and pair
scores combined on arrays against :func:`pair_score` pair by pair.

The pair scores themselves are checked end to end against the per-pair oracle in tests/test_index_stories.py.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.index_story_items import Item
from dedup.index_story_scores import Numbered, Scored, Scorer, pair_score
from dedup.stories import StoryParams

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


DAY = 86400.0
TIMES = st.sampled_from([math.nan, 0.0, 3 * DAY, 6.9 * DAY, 7 * DAY, 7.1 * DAY, 100 * DAY, 180 * DAY, 181 * DAY,
                         -400 * DAY])
PAIR = st.tuples(st.sampled_from(["en", "nl"]), TIMES, st.integers(0, 6), st.floats(0, 20), st.floats(0, 20),
                 st.one_of(st.none(), st.floats(0, 1)), st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["en", "nl"]), TIMES, st.floats(0, 20), st.lists(PAIR, min_size=1, max_size=12),
       st.sampled_from([0.0, 0.7]))
def test_scores_combined_on_arrays_equal_pair_score_pair_by_pair(lang, ts, weight, pairs, word_weight):
    """Copies, too few anchors, word blend or cross-language offset, the date window and season, the floor."""
    p = StoryParams(word_weight=word_weight)
    item = Item(0, "a", lang, ts, {})
    others = [Item(k + 1, f"b{k}", l, t, {}) for k, (l, t, *_) in enumerate(pairs)]
    copies = {(0, o.key) for o, pair in zip(others, pairs) if pair[6]}
    shared = np.array([pair[2] for pair in pairs], np.int64)
    total, weights = np.array([pair[3] for pair in pairs]), np.array([pair[4] for pair in pairs])
    words = [pair[5] for pair in pairs]
    got = Scorer._combine(SimpleNamespace(item=item, p=p, copies=copies, weight=weight), others, shared, total,
                          weights, words)
    for o, sh, t, wt, w, g in zip(others, shared.tolist(), total.tolist(), weights.tolist(), words, got):
        copy = (0, o.key) in copies
        if not copy and (lang != o.lang or word_weight == 0) and sh < p.min_shared:
            want = Scored(0.0, 0.0, None, False)
        else:
            low = min(weight, wt)
            want = pair_score(p, item, o, copy, sh, 0.0 if sh == 0 else (min(1.0, t / low) if low > 0 else 0.0), w)
        assert g == want
