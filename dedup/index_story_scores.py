"""Document frequencies and pair scores of the index's stories: the batch's pair score
(:mod:`dedup.stories`) of one article against the ~50 it is placed among, with the rarities of the index
as it stands when the article arrives.

Frequencies are held by number (:class:`Numbered`: anchors, and each language's words, numbered in order of
first sight by a compiled hash table), so that placing an article updates them and scoring reads them by
plain indexing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .index_story_items import Item
from .stories import StoryParams
from .stories_kernels import anchor_sums, number_keys, unweighted, word_cosines

__all__ = ["MAX_DF_WORDS", "Counts", "Numbered", "Scored", "Scorer", "numbered_positions", "pair_score"]

MAX_DF_WORDS = 0.5  # words in more than this share of a language's documents are left out (as the batch)
START = 512  # keys a Numbered holds before its arrays first grow (a power of two)
WEIGHED_SLACK = 1024  # entries Numbered.weighed may hold beyond twice the keys before it is compacted


class Numbered:
    """Keys (anchor hashes, or one language's word hashes) numbered in order of first sight, with their document
    frequencies as stored and, while an article is placed, counting it. Numbers never move, so an article's
    positions, found once, stay valid across writes, which update the frequencies in place. Before, each
    placement took the ``np.unique`` of the ~3,000 anchors in play and looked up each article's frequencies
    again after every write (~1.2 ms of an ``assign`` at 20,000 indexed), and a language's words were read
    whole (a stall as long as the vocabulary at the second query) and copied per placement.

    Keys are found in a compiled hash table (:func:`~dedup.stories_kernels.number_keys`). ``mark`` (0 at rest)
    is a work array by number for one placement at a time, reset by whoever set it (:meth:`Scorer.release`).
    ``scratch`` holds the words' idf (NaN: not computed) for the document counts ``scratch_for``, and
    ``weighed`` the positions computed since it was last reset (see :class:`Scorer`). About 90 bytes a key
    (tracemalloc, 200,000 to 600,000 keys).
    """

    def __init__(self, stored: Callable[[list[int]], dict[int, int]]) -> None:
        self.stored = stored  # the stored frequencies of keys (absent: not stored)
        self.count = 0
        self.slot_key, self.slot_num = np.zeros(2 * START, np.int64), np.zeros(2 * START, np.int64)
        self.key = np.zeros(START, np.int64)  # by number
        self.df = np.zeros(START, np.int64)  # by number (only the first ``count`` are in use)
        self.mark, self.scratch = np.zeros(START), np.full(START, np.nan)
        self.scratch_for: tuple[int, int] | None = None
        self.weighed: list[np.ndarray] = []
        self._weighed_n = 0  # entries in ``weighed``

    def __len__(self) -> int:
        return self.count

    def positions(self, keys: np.ndarray) -> np.ndarray:
        """The numbers of ``keys``, numbering those not numbered yet with their stored frequencies (absent: 0)."""
        self._reserve(len(keys))
        start = self.count
        out = np.empty(len(keys), np.int64)
        self.count = number_keys(self.slot_key, self.slot_num, self.key, keys.astype(np.int64, copy=False), start,
                                 out)
        if self.count > start:
            new = self.key[start:self.count].tolist()
            got = self.stored(sorted(new))
            self.df[start:self.count] = [got.get(k, 0) for k in new]
        return out

    def idf_for(self, counts: tuple[int, int]) -> None:
        """Keep the idf in ``scratch`` if they were computed for these document counts, else forget them."""
        if self.scratch_for != counts:
            for pos in self.weighed:
                self.scratch[pos] = np.nan
            self.weighed, self._weighed_n, self.scratch_for = [], 0, counts

    def weighed_at(self, pos: np.ndarray) -> None:
        """Note that the idf at ``pos`` were computed (a query's own words are listed again at each query: the
        list is compacted when it outgrows the words numbered)."""
        self.weighed.append(pos)
        self._weighed_n += len(pos)
        if self._weighed_n > 2 * self.count + WEIGHED_SLACK:
            self.weighed = [np.flatnonzero(~np.isnan(self.scratch[:self.count]))]
            self._weighed_n = len(self.weighed[0])

    def _reserve(self, more: int) -> None:
        """Room for ``more`` new keys: the table at most half full, the arrays by number long enough."""
        need = self.count + more
        if 2 * need > len(self.slot_key):
            size = len(self.slot_key)
            while 2 * need > size:
                size *= 2
            self.slot_key, self.slot_num = np.zeros(size, np.int64), np.zeros(size, np.int64)
            number_keys(self.slot_key, self.slot_num, self.key, self.key[:self.count].copy(), 0,
                        np.empty(self.count, np.int64))  # in number order: each key gets its number again
        if need > len(self.df):  # doubling: a query's ~20 new keys must not copy them all
            size = max(need, 2 * len(self.df))
            self.key, self.df = _grown(self.key, size, 0), _grown(self.df, size, 0)
            self.mark, self.scratch = _grown(self.mark, size, 0.0), _grown(self.scratch, size, np.nan)


def numbered_positions(items: Sequence[Item], kept: dict[int, np.ndarray], table: Callable[[Item], Numbered],
                       keys: Callable[[Item], np.ndarray]) -> dict[int, np.ndarray]:
    """Per item key, the numbers of its ``keys`` in its ``table``, numbering those not numbered yet (one call,
    and one read of the stored frequencies, per table for all the items); kept in ``kept`` for stored articles
    (queried ones have keys < 0)."""
    out = {i.key: kept[i.key] for i in items if i.key in kept}
    todo: dict[int, list[Item]] = {}
    for i in items:
        if i.key not in out:
            todo.setdefault(id(table(i)), []).append(i)
    for group in todo.values():
        arrays = [keys(i) for i in group]
        found = table(group[0]).positions(np.concatenate(arrays))
        for i, pos in zip(group, np.split(found, np.cumsum([len(a) for a in arrays])[:-1])):
            out[i.key] = pos
            if i.key >= 0:
                kept[i.key] = pos
    return out


def _grown(a: np.ndarray, size: int, fill: float) -> np.ndarray:
    out = np.full(size, fill, a.dtype)
    out[:len(a)] = a
    return out


class Counts:
    """Document frequencies as they stand for the article being placed (it included): those of the snapshot's
    numbered anchors and words (:class:`Numbered`), counted in place as articles are placed (a query takes
    its own count back), and each article's positions there (``anchor_at``, ``term_at``: found once), so that
    placing an article updates and scoring reads the frequencies by plain indexing, with no search per pair.
    """

    def __init__(self, lang_n: dict[str, int], anchors: Numbered, words: dict[str, Numbered],
                 anchor_at: dict[int, np.ndarray], term_at: dict[int, np.ndarray]) -> None:
        self.lang_n = dict(lang_n)
        self.n = sum(lang_n.values())
        self.anchors, self.words = anchors, words  # their arrays do not grow while an article is placed
        self.anchor_at, self.term_at = anchor_at, term_at

    def add(self, item: Item, sign: int = 1) -> None:
        self.n += sign
        self.lang_n[item.lang] = self.lang_n.get(item.lang, 0) + sign
        self.anchors.df[self.anchor_at[item.key]] += sign
        self.words[item.lang].df[self.term_at[item.key]] += sign

    def anchor_pos(self, items: Sequence[Item]) -> np.ndarray:
        """The positions (in ``anchors``) of the anchors of ``items``, laid end to end."""
        return np.concatenate([self.anchor_at[i.key] for i in items])

    def anchor_df(self, items: Sequence[Item]) -> np.ndarray:
        """The frequencies of the anchors of ``items``, laid end to end."""
        return self.anchors.df[self.anchor_pos(items)]

    def term_pos(self, items: Sequence[Item]) -> np.ndarray:
        """The positions (in ``words[lang]``) of the words of ``items`` (all of one language), laid end to end."""
        return np.concatenate([self.term_at[i.key] for i in items])

    def term_df(self, items: Sequence[Item]) -> np.ndarray:
        """The frequencies of the words of ``items`` (all of one language), laid end to end."""
        return self.words[items[0].lang].df[self.term_pos(items)]


@dataclass(frozen=True)
class Scored:
    score: float
    anchor: float
    word: float | None
    copy: bool


class Scorer:
    """The batch's pair score (``dedup.stories``) of one article against many, with the rarities of ``counts``.

    Valid while ``counts`` stand (one article's placement). The others are scored together, not pair by pair:
    their anchors and words are concatenated into flat arrays in segments, one an article, the document
    frequencies are read by the positions :class:`Counts` found once, and the per-pair sums (shared anchors,
    their weight, each article's total weight, the word dot products and norms) are summed per segment in
    compiled loops (:func:`~dedup.stories_kernels.anchor_sums`, :func:`~dedup.stories_kernels.word_cosines`).
    The scores are those of the per-pair loop this replaced (the same terms summed, equal up to float rounding;
    tests/test_index_stories.py keeps that loop as the oracle) at ~1/20 of the cost: an article is scored
    against ~40 others, and per pair the Python and numpy call overhead was most of the ~0.2 ms.
    Which entries the article shares is read from dense arrays over the positions of :class:`Counts` (its
    anchors, its word weights): a ``searchsorted`` of the others' ~20,000 words in the article's cost ~0.35 ms,
    a third of the scoring. These are the snapshot's work arrays (``mark``, ``scratch``), set for this
    article and reset by :meth:`release`: allocating arrays as long as the numbered words per placement
    would cost what the snapshot holds (milliseconds at a million words), not what the article touches.

    A word's idf depends on the document counts (all, and of its language) and on its frequency, which only the
    article's own words change while it is placed. So the idf computed are kept while those counts stay
    (``Numbered.scratch_for``: queries, which take their article's count back, all see the same ones) and only
    the article's own words are computed again; an add changes the counts, and the next placement starts anew.
    """

    def __init__(self, counts: Counts, params: StoryParams, copies: set[tuple[int, int]], item: Item) -> None:
        self.c, self.p, self.copies, self.item = counts, params, copies, item
        self.log_n1 = math.log(counts.n + 1)
        self.has_anchor = counts.anchors.mark  # 1 at the item's anchors (set below: unset, nothing is shared)
        self.weight = float(self._anchors([item])[2][0])
        self.words = words = counts.words[item.lang]
        self.idf = words.scratch  # by word position: its idf once weighed (NaN: not yet)
        self.w = words.mark  # the item's word weights by position (0: not its word)
        self.anchor_pos, self.term_pos = counts.anchor_pos([item]), counts.term_at[item.key]
        words.idf_for((counts.n, counts.lang_n.get(item.lang, 0)))
        self.idf[self.term_pos] = np.nan  # weighed before with the item not counted
        self.has_anchor[self.anchor_pos] = 1.0
        self._weigh(self.term_pos)
        w = item.tf * self.idf[self.term_pos]  # its TF-IDF vector (0: a word left out)
        self.norm = math.sqrt(np.cumsum(w * w)[-1]) if len(w) else 0.0  # summed in order, as word_cosines
        self.w[self.term_pos] = w
        self.scored: dict[int, Scored] = {}

    def release(self) -> None:
        """Reset the work arrays this article set (they are the snapshot's, for the next placement); its own
        words' idf counted it."""
        self.has_anchor[self.anchor_pos] = 0.0
        self.w[self.term_pos] = 0.0
        self.idf[self.term_pos] = np.nan

    def __call__(self, others: Sequence[Item]) -> list[Scored]:
        """The item's score with each of ``others`` (cached by key: each pair is computed once)."""
        new = list({o.key: o for o in others if o.key not in self.scored}.values())
        if new:
            shared, total, weights = self._anchors(new)
            words = self._words(new)
            for o, s, t, wt, wd in zip(new, shared.tolist(), total.tolist(), weights.tolist(), words):
                self.scored[o.key] = self._combine(o, int(s), t, wt, wd)
        return [self.scored[o.key] for o in others]

    # anchors --------------------------------------------------------------------------------------------------

    def _anchors(self, items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per item, (anchors shared with the placed article, the sum of their idf, its weight): the weight its
        anchors could share, the idf of its linkable anchors that are not multi-word keys plus log(n + 1) for
        each anchor no other document has (unless a phrase). An anchor is linkable in two documents or more,
        its idf log((n + 1) / df), else 0. One compiled loop over the items' anchors end to end: as a dozen
        numpy calls on them, with ``np.bincount`` per segment, they cost ~0.1 ms an article placed."""
        pos = self.c.anchor_pos(items)
        df = np.maximum(self.c.anchors.df[pos], 1).astype(float)
        linkable = df >= 2
        idf = np.where(linkable, np.log((self.c.n + 1) / df), 0.0)
        ptr = np.cumsum([0] + [len(i.hashes) for i in items])
        return anchor_sums(ptr, pos, idf, linkable, np.concatenate([i.phrase_key for i in items]),
                           np.concatenate([i.phrase_kind for i in items]), self.has_anchor, self.log_n1)

    # words ----------------------------------------------------------------------------------------------------

    def _weigh(self, pos: np.ndarray) -> None:
        """Compute the idf of the words at ``pos`` not weighed yet: vectors are scikit-learn's
        TfidfVectorizer(sublinear_tf=True, max_df=0.5), ``tf * idf`` with ``tf = 1 + log(count)``."""
        todo = unweighted(pos, self.idf)  # each word once per placement, with numpy's vectorised log
        self.idf[todo] = self._idf_words(todo)
        self.words.weighed_at(todo)

    def _idf_words(self, pos: np.ndarray) -> np.ndarray:
        """scikit-learn's smooth idf, ``log((1 + n) / (1 + df)) + 1``, of the words at ``pos`` in the item's
        language (df at least 1); 0 for a word in more than MAX_DF_WORDS of the documents (left out)."""
        n = self.c.lang_n.get(self.item.lang, 0)
        df = np.maximum(self.c.words[self.item.lang].df[pos], 1).astype(float)
        return np.where(df <= MAX_DF_WORDS * n, np.log((1 + n) / (1 + df)) + 1, 0.0)

    def _words(self, others: Sequence[Item]) -> list[float | None]:
        """Per other item, the cosine of the word vectors (None across languages or without word weight)."""
        out: list[float | None] = [None] * len(others)
        if self.p.word_weight <= 0:
            return out
        at = [k for k, o in enumerate(others) if o.lang == self.item.lang]
        if not at:
            return out
        same = [others[k] for k in at]
        pos = self.c.term_pos(same)
        self._weigh(pos)
        ptr = np.cumsum([0] + [len(o.terms) for o in same])
        dots, norms = word_cosines(ptr, pos, np.concatenate([o.tf for o in same]), self.idf, self.w)
        for k, dot, norm in zip(at, dots.tolist(), norms.tolist()):
            out[k] = 0.0 if self.norm == 0 or norm == 0 else dot / (self.norm * norm)
        return out

    # the score ------------------------------------------------------------------------------------------------

    def _combine(self, b: Item, shared: int, total: float, weight: float, w: float | None) -> Scored:
        """The batch's score of the pair (item, b) from its parts."""
        a, p = self.item, self.p
        copy = (min(a.key, b.key), max(a.key, b.key)) in self.copies
        if not copy and (a.lang != b.lang or p.word_weight == 0) and shared < p.min_shared:
            return Scored(0.0, 0.0, None, False)  # no word similarity to make up for too few shared anchors
        low = min(self.weight, weight)
        anchor = 0.0 if shared == 0 else (min(1.0, total / low) if low > 0 else 0.0)
        return pair_score(p, a, b, copy, shared, anchor, w)


def pair_score(p: StoryParams, a: Item, b: Item, copy: bool, shared: int, anchor: float, w: float | None) -> Scored:
    """The batch's score of the pair (a, b) from its parts: whether it is a copy, the number of shared anchors,
    their containment ``anchor`` and the word cosine ``w`` (None across languages)."""
    if copy:
        return Scored(1.0, anchor, w, True)
    s = anchor
    if shared < p.min_shared and (w is None or w < p.word_link):
        s = 0.0
    else:
        if w is not None:
            s = (1 - p.word_weight) * s + p.word_weight * w
        elif a.lang != b.lang or p.word_weight == 0:
            s = max(0.0, (s - p.cross_offset) / (1 - p.cross_offset))
        if math.isfinite(a.ts) and math.isfinite(b.ts) and abs(a.ts - b.ts) > p.window_days * 86400:
            s *= p.far_penalty
            if abs(a.ts - b.ts) > p.season_days * 86400:
                s *= p.season_penalty
        if s < p.min_score:
            s = 0.0
    return Scored(round(min(s, 1.0), 6), anchor, w, False)
