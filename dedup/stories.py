"""Stories: the same reporting rewritten by different outlets, also across languages.

``anchors -> rarity weights -> candidate pairs from anchor postings -> scores -> average-linkage clusters``

- **Anchors** (:mod:`dedup.anchors`): names, acronyms, codes, numbers, percentages and
  dates, keyed the same way in every language.
- **Weights**: an anchor in ``df`` of ``N`` documents weighs ``log((N + 1) / df)``.
- **Candidates**: the pairs of documents sharing an anchor held by at most ``max_df`` of
  the documents and at most ``max_bucket`` documents (an inverted index whose postings
  are capped, so a document gets at most ``max_bucket - 1`` partners per anchor: never
  all pairs, and the work grows linearly with the corpus).
- **Score** of a pair: the weight of the shared anchors over the smaller document's total
  weight (min-side containment: a long German article has many more anchors than a short
  Dutch one); for two documents in one language, blended with the TF-IDF cosine of their
  words (the headline counts twice; in language groups of about 50 documents or more, half
  of it is the cosine of a latent-topic (LSA) projection); times ``far_penalty`` when both
  have dates more than ``window_days`` apart, and ``season_penalty`` as well beyond
  ``season_days`` (a follow-up months later is another story). A document without a
  ``published`` date uses a dateline near the start of its text (``May 28, 2009``). A
  link needs ``min_shared`` shared anchors (not for a same-language pair with word
  similarity >= ``word_link`` and TF-IDF cosine >= ``word_floor``, dated at most
  ``season_days`` apart: in a large language group the topic projection makes unrelated
  articles on one subject look alike), so one famous name (``TikTok``) never makes a
  story; near-duplicates found by :func:`dedup.find` are ``copy`` links with score 1.
  Pairs are scored in compiled loops over flat arrays (:mod:`dedup.stories_kernels`).
- **Clustering**: average linkage on the candidate links: the two groups whose mean
  pairwise score is highest merge while it is at least ``threshold``, where a pair of
  documents that is no candidate counts 0. A large story cannot swallow a neighbour
  through one weak link: every merge needs the mean over all member pairs. The work per
  merge is the two groups' links, so the whole stays near-linear.

Everything is in document-id order and uses no Python ``hash()``: the result does not
depend on input order or ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .anchors import KINDS, anchor_set, detect_language, text_date, warm_up
from .document import Document
from .params import Config, MatchParams, _check
from .pipeline import find, sorted_documents, timestamp
from .report import _atomic_write
from .stories_kernels import candidate_pairs, pair_scores, shared_evidence
from .workers import forked


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class StoryParams:
    """Parameters of :func:`find_stories` (the same defaults are used for every data set)."""

    threshold: float = 0.24        # least mean pair score for two groups to merge
    min_score: float = 0.05        # a pair scoring less is no link
    min_shared: int = 3            # least shared anchors (each also in another document) for a link
    word_weight: float = 0.7       # same-language pairs: share of the word TF-IDF cosine in the score
    topic_weight: float = 0.5      # share of the latent-topic (LSA) cosine in the word similarity
    topic_dims: float = 3.5        # LSA dimensions per language group of n documents: topic_dims * sqrt(n) ...
    topic_max_dims: int = 100      # ... but at most this many (the SVD's time and memory grow with them)
    topic_sample: int = 2000       # larger language groups fit the LSA on this many of their documents
    word_link: float = 0.3         # same-language pairs this similar (within season_days) need no min_shared ...
    word_floor: float = 0.05       # ... if their plain TF-IDF cosine is this high too (one topic is no rewrite)
    cross_offset: float = 0.4      # pairs scored on anchors alone (across languages): score above this, rescaled
    window_days: float = 7.0       # dated pairs farther apart than this ...
    far_penalty: float = 0.7       # ... have their score multiplied by this (0: never linked)
    season_days: float = 180.0     # dated pairs farther apart than this ...
    season_penalty: float = 0.3    # ... have their score multiplied by this as well (a follow-up, not a rewrite)
    max_df: float = 0.1            # anchors in more than this share of documents make no candidates ...
    max_bucket: int = 100          # ... nor anchors in more than this many documents (bounds the work per document)
    copy_threshold: float = 0.5    # word 2-gram Jaccard of a `copy` (dedup.find); None: no copy links
    max_evidence: int = 20         # shared anchors listed per link

    def __post_init__(self) -> None:
        for name in ("threshold", "min_score", "max_df"):
            value = getattr(self, name)
            _check(_number(value) and 0 < value <= 1, name, value, "a number in (0, 1]")
        _check(_number(self.cross_offset) and 0 <= self.cross_offset < 1, "cross_offset", self.cross_offset,
               "a number in [0, 1)")
        for name in ("word_weight", "far_penalty", "word_link", "word_floor", "season_penalty", "topic_weight"):
            value = getattr(self, name)
            _check(_number(value) and 0 <= value <= 1, name, value, "a number in [0, 1]")
        for name in ("window_days", "season_days", "topic_dims"):
            value = getattr(self, name)
            _check(_number(value) and value >= 0, name, value, "a number >= 0 (days)")
        for name, low in (("min_shared", 1), ("max_bucket", 2), ("max_evidence", 0), ("topic_max_dims", 2),
                          ("topic_sample", 2)):
            value = getattr(self, name)
            _check(isinstance(value, int) and not isinstance(value, bool) and value >= low, name, value,
                   f"an integer >= {low}")
        if self.copy_threshold is not None:
            _check(_number(self.copy_threshold) and 0 < self.copy_threshold <= 1, "copy_threshold",
                   self.copy_threshold, "a number in (0, 1], or None")


@dataclass(frozen=True)
class Story:
    story: int
    members: tuple[str, ...]           # sorted ids
    languages: tuple[str, ...]
    sources: tuple[str, ...]
    first_published: str | None        # as written in the earliest member
    origin: str | None                 # earliest member, when dates exist


@dataclass(frozen=True)
class Link:
    a: str                             # a < b
    b: str
    score: float
    kind: str                          # "copy" | "rewrite"
    direction: dict | None             # {"from": id, "to": id} when both have dates
    evidence: dict


@dataclass(frozen=True)
class StoriesResult:
    params: StoryParams
    stories: list[Story]               # stories of 2 or more documents, by first member id
    links: Sequence[Link]              # links inside stories, by (a, b) (a LinkList: made when read)
    labels: dict[str, int]             # every document id -> story number (singletons get their own)
    languages: dict[str, str]          # document id -> language used
    stats: dict = field(default_factory=dict)


# -- anchors and weights --------------------------------------------------------------------------------------

KIND_CODE = {k: i for i, k in enumerate(KINDS)}
PHRASE = KIND_CODE["phrase"]


@dataclass
class _Corpus:
    """The corpus as flat arrays: no Python object per anchor or pair (memory grows linearly)."""

    docs: list[Document]
    langs: list[str]
    lang_code: np.ndarray               # int32 per document: index of its language in sorted(set(langs))
    indptr: np.ndarray                  # CSR by document of its linkable anchors (in >= 2 documents) ...
    ids: np.ndarray                     # ... their indices in vocab, sorted (int32)
    kinds: np.ndarray                   # ... and their kind in this document (int8, index in KINDS)
    vocab: list[str]
    df: np.ndarray
    idf: np.ndarray
    weight: np.ndarray                  # per document: total idf of its linkable anchors
    times: np.ndarray                   # seconds, inf when absent
    words: list[WordIds | None]         # word ids and counts per document, until the word vectors are made
    terms: list[str]                    # the words, by id
    group: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))  # word-vector group per doc (-1: none)
    w_row: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # its row in the stacked word rows
    w_ptr: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))  # stacked TF-IDF rows (CSR) ...
    w_idx: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    w_data: np.ndarray = field(default_factory=lambda: np.empty(0, np.float64))
    topic: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))  # L2-normalised LSA rows (stacked)
    has_topic: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))  # per group
    topic_weight: float = 0.0

    def anchors_of(self, i: int) -> np.ndarray:
        return self.ids[self.indptr[i]:self.indptr[i + 1]]


def _text(d: Document) -> str:
    if d.title and not d.text.startswith(d.title):
        return f"{d.title}\n\n{d.text}"
    return d.text


Words = tuple[str, np.ndarray]  # a document's word terms (sorted, joined by "\n") and their counts (int32)
WordIds = tuple[np.ndarray, np.ndarray]  # the same terms as ids (int32), their counts (uint16 or int32)
Features = tuple[str, list[str], bytes, "Words | None"]  # language, anchor keys, their kind codes, words


def _features_of(work: list[tuple[str, str | None]], words: bool = True) -> list[Features]:
    """(language, anchor keys, kind codes, word counts or None) of each (text, language or None): one
    worker's share. Word counts (:func:`_word_counts`) only with ``words``."""
    out = []
    for text, lang in work:
        lang = lang or detect_language(text)
        found = anchor_set(text, lang)
        out.append((lang, list(found), bytes(KIND_CODE[a.kind] for a in found.values()),
                    _word_counts(text) if words else None))
    return out


WORK_CHUNK = 500  # documents per task of a worker process


def _anchor_work(d: Document) -> tuple[str, str | None]:
    """What :func:`_features_of` needs of a document: its text (with the title) and its language, if given."""
    return _text(d), (d.lang or "").lower().split("-")[0] or None


def _all_features(docs: list[Document], workers: int, words: bool) -> Iterator[Features]:
    """:func:`_features_of` every document, in order; with ``workers`` > 1 in that many forked processes.

    Anchors (pure Python, ~1.5 ms an article) and word counts (~0.5 ms) are the largest
    stages of a big corpus, so they are the ones spread over cores; results come back in
    input order, so the outcome does not depend on ``workers``. Where processes cannot be
    forked it runs here.
    """
    work = (_anchor_work(d) for d in docs)

    def warm() -> None:
        warm_up()  # the word frequency tables
        if words:
            _analyzer()  # and scikit-learn (1.4 s to import in each process otherwise)

    with forked(workers if len(docs) > WORK_CHUNK else 1, warm) as pool:
        if pool is None:
            for item in work:
                yield from _features_of([item], words)
            return
        chunks = iter(lambda: list(itertools.islice(work, WORK_CHUNK)), [])
        for part in pool.map(_features_of, chunks, itertools.repeat(words)):
            yield from part


def _prepare(docs: list[Document], workers: int = 1, features: Iterable[Features] | None = None,
             words: bool = True) -> _Corpus:
    """Anchors of every document, turned into integer ids at once (the Anchor objects are not kept), and
    its word counts (with ``words``).

    ``features``: what :func:`_all_features` would yield for ``docs``, already extracted elsewhere
    (the Dask engine extracts them where the documents are read); ``workers`` is then unused."""
    langs: list[str] = []
    key_id: dict[str, int] = {}
    keys: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    counts: list[WordIds | None] = []
    term_id: dict[str, int] = {}
    for lang, found, codes, w in (_all_features(docs, workers, words) if features is None else features):
        langs.append(lang)
        keys.append(np.array([key_id.setdefault(k, len(key_id)) for k in found], np.int64))
        kinds.append(np.frombuffer(codes, np.int8))
        counts.append(None if w is None else word_ids(w, term_id))
    n = len(docs)
    sizes = np.array([len(k) for k in keys], np.int64)
    flat = np.concatenate(keys) if n else np.empty(0, np.int64)
    flat_kind = np.concatenate(kinds) if n else np.empty(0, np.int8)
    del keys, kinds
    df_all = np.bincount(flat, minlength=len(key_id))
    # the vocabulary: anchors of two documents or more, in key order
    names = list(key_id)
    del key_id
    vocab_ids = sorted(np.flatnonzero(df_all >= 2).tolist(), key=names.__getitem__)
    vocab = [names[k] for k in vocab_ids]
    new_id = np.full(len(names), -1, np.int64)
    new_id[vocab_ids] = np.arange(len(vocab_ids))
    del names
    doc_of = np.repeat(np.arange(n), sizes)
    mapped = new_id[flat]
    phrase = np.array([is_phrase_key(k) for k in vocab] + [False], bool)  # [-1]: not in the vocabulary
    rows, weight = anchor_weights(doc_of, mapped, flat_kind, df_all[flat], phrase[mapped], n, n)
    ids = mapped[rows].astype(np.int32)
    kinds_linkable = flat_kind[rows]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(doc_of[rows], minlength=n), out=indptr[1:])
    df = df_all[vocab_ids] if vocab_ids else np.empty(0, np.int64)
    idf = np.log((n + 1) / df) if len(df) else np.empty(0, float)
    # no publication date: a dateline near the start of the text (``May 28, 2009``) stands in for it
    times = np.array([_time(d) for d in docs], dtype=float)
    codes = {lang: c for c, lang in enumerate(sorted(set(langs)))}
    lang_code = np.array([codes[lang] for lang in langs], np.int32)
    return _Corpus(docs, langs, lang_code, indptr, ids, kinds_linkable, vocab, df, idf, weight, times, counts,
                   list(term_id))


def is_phrase_key(key: str) -> bool:
    """A multi-word anchor (``erich andersen``): it repeats its words, so it adds evidence when shared,
    never weight."""
    return " " in key and not key.startswith("date:")


def anchor_weights(doc_of: np.ndarray, ids: np.ndarray, kinds: np.ndarray, df: np.ndarray, phrase: np.ndarray,
                   m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The linkable entries of ``(document, anchor)`` entries, by document then anchor id, and the weight of
    each of ``m`` documents (all of a corpus of ``n``, or a range of them).

    Per entry: ``doc_of`` its document (0 .. ``m - 1``), ``ids`` the anchor's id (-1: no other document holds it), ``kinds`` its kind code,
    ``df`` its document frequency, ``phrase`` whether its key is a phrase (:func:`is_phrase_key`).
    A document's weight is the idf ``log((n + 1) / df)`` of its linkable anchors that are not
    phrases, plus ``log(n + 1)`` for each anchor only it holds (what no other document shares
    makes it less contained in any other) unless that is a phrase; the sums run in id order,
    so a document's weight is the same bits whichever documents are computed with it.
    """
    linkable = ids >= 0
    unique = np.bincount(doc_of[~linkable & (kinds != PHRASE)], minlength=m)
    rows = np.flatnonzero(linkable)[np.lexsort((ids[linkable], doc_of[linkable]))]
    plain = np.where(phrase[rows], 0.0, np.log((n + 1) / df[rows]))
    return rows, np.bincount(doc_of[rows], plain, minlength=m) + math.log(n + 1) * unique


def _time(d: Document) -> float:
    t = timestamp(d.published)
    return t if math.isfinite(t) else timestamp(text_date(_text(d)))


HEADLINE_REPEAT = 1


WORD_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"  # words of two letters or more; no digits


@lru_cache(maxsize=1)
def _analyzer() -> Callable[[str], list[str]]:
    """scikit-learn's word analyzer: lowercase, accents stripped (Unicode), ``WORD_PATTERN`` tokens."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(strip_accents="unicode", token_pattern=WORD_PATTERN).build_analyzer()


def _word_counts(text: str) -> Words:
    """The terms of ``text`` for word vectors and their counts; the headline (first line) counts
    ``1 + HEADLINE_REPEAT`` times. The terms are one string, not a Python string each (what
    travels from a worker process or a Dask worker: about 2 KB an article)."""
    head = text.split("\n", 1)[0]
    counts = Counter(_analyzer()("\n".join([head] * HEADLINE_REPEAT + [text])))
    terms = sorted(counts)
    return "\n".join(terms), np.array([counts[t] for t in terms], np.int32)


def word_ids(words: Words, term_id: dict[str, int]) -> WordIds:
    """A document's word counts with its terms as ids in ``term_id`` (new terms added): what a corpus keeps
    of each document until its word vectors are made (about 1.5 KB an article)."""
    terms, counts = words
    ids = (np.fromiter((term_id.setdefault(t, len(term_id)) for t in terms.split("\n")), np.int32)
           if terms else np.empty(0, np.int32))
    return ids, counts.astype(np.uint16) if len(counts) and counts.max() < 2**16 else counts


WORD_MAX_DF = 0.5  # terms in more than this share of a language group's documents are left out of its vectors


def tfidf_rows(words: Sequence[WordIds], terms: Sequence[str], max_df: float = WORD_MAX_DF):
    """TF-IDF rows (CSR, float64, columns in term order) of documents given by their word ids (in
    ``terms``, each document's in term order) and counts, or None when no term is left.

    What scikit-learn's ``TfidfVectorizer(sublinear_tf=True, max_df=max_df)`` makes of the texts, with
    each row's entries in column order: a term in more than ``max_df`` of the documents is dropped;
    ``tf = 1 + log(count)``, ``idf = 1 + log((n + 1) / (df + 1))``, rows L2-normalised. Built from
    counts, so the counting can happen elsewhere (other processes, Dask workers) with the same result.
    """
    from scipy.sparse import csr_matrix

    n = len(words)
    sizes = np.array([len(ids) for ids, _ in words], np.int64)
    ids = np.concatenate([np.empty(0, np.int32)] + [i for i, _ in words])
    used = np.unique(ids)
    # columns: the terms in use, in term order (scikit-learn's vocabulary order)
    rank = np.empty(len(used), np.int64)
    rank[sorted(range(len(used)), key=lambda k: terms[used[k]])] = np.arange(len(used))
    cols = rank[np.searchsorted(used, ids)]
    del ids
    doc = np.repeat(np.arange(n), sizes)
    counts = np.concatenate([np.empty(0, np.int32)] + [c.astype(np.int32) for _, c in words])
    keep = np.bincount(cols, minlength=len(used)) <= max_df * n
    if not keep.any():
        return None
    kept = keep[cols]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(doc[kept], minlength=n), out=indptr[1:])
    new_column = np.cumsum(keep) - 1
    # a document's terms are sorted, so its columns are in order
    m = csr_matrix((counts[kept].astype(np.float64), new_column[cols[kept]], indptr), shape=(n, int(keep.sum())))
    return tfidf_of(m, term_idf(np.bincount(m.indices, minlength=m.shape[1]), n))


def term_idf(df: np.ndarray, n: int) -> np.ndarray:
    """``1 + log((n + 1) / (df + 1))`` of terms in ``df`` of ``n`` documents, with scikit-learn's
    ``TfidfTransformer.fit`` arithmetic (smoothed), so that the same counts give the same bits."""
    df = df.astype(np.float64) + 1.0
    idf = np.full_like(df, fill_value=n + 1, dtype=np.float64)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def tfidf_of(counts, idf: np.ndarray):
    """TF-IDF rows (CSR) of a matrix of term counts, given its columns' ``idf`` (:func:`term_idf`):
    scikit-learn's ``TfidfTransformer(sublinear_tf=True).transform``, rows L2-normalised. Each row's
    values depend on that row and ``idf`` only, so rows made in pieces are the rows made whole."""
    from sklearn.feature_extraction.text import TfidfTransformer

    transformer = TfidfTransformer(sublinear_tf=True)
    transformer.idf_, transformer.n_features_in_ = idf, len(idf)
    return transformer.transform(counts).tocsr()


def _word_vectors(corpus: _Corpus, topic_weight: float = 0.0, topic_dims: float = 0.0,
                  topic_max_dims: int = 100, topic_sample: int = 2000) -> None:
    """TF-IDF word vectors per language (:func:`tfidf_rows` of the word counts), for same-language pairs.

    With ``topic_weight`` > 0 also a latent-topic (LSA) projection of them with
    ``round(topic_dims * sqrt(n))`` dimensions (at most ``topic_max_dims``) for a language
    group of ``n`` documents: it links reports of one event written with different words
    (``plunge``/``tumble``). Only for groups where that is at most half the number of
    documents (about 50 or more). The groups' rows are stacked into one CSR matrix (and one
    dense topic matrix, zero-padded) for the compiled pair scoring.
    """
    n = len(corpus.docs)
    groups: dict[str, list[int]] = {}
    for i, lang in enumerate(corpus.langs):
        groups.setdefault(lang, []).append(i)
    corpus.group = np.full(n, -1, np.int32)
    corpus.w_row = np.zeros(n, np.int64)
    mats, topics, has_topic = [], [], []
    rows = 0
    for lang in sorted(groups):
        members = groups[lang]
        if len(members) < 2:
            continue
        m = tfidf_rows([corpus.words[i] for i in members], corpus.terms)
        if m is None:
            continue
        dims = topic_dims_of(len(members), m.shape[1], topic_weight, topic_dims, topic_max_dims)
        z = unit_rows(_lsa(m, dims, topic_sample)) if dims else None
        corpus.group[members] = len(mats)
        corpus.w_row[members] = rows + np.arange(len(members))
        rows += len(members)
        mats.append(m)
        topics.append(z if z is not None else np.zeros((len(members), 0)))
        has_topic.append(z is not None)
    corpus.words, corpus.terms = [], []  # in the rows now
    if not mats:
        return
    corpus.w_ptr = np.concatenate([[0]] + [m.indptr[1:] + off for m, off in
                                           zip(mats, np.cumsum([0] + [m.nnz for m in mats[:-1]]))]).astype(np.int64)
    corpus.w_idx = np.concatenate([m.indices for m in mats]).astype(np.int32)
    corpus.w_data = np.concatenate([m.data for m in mats])
    width = max(1, max(t.shape[1] for t in topics))
    corpus.topic = np.zeros((rows, width))
    for t, start in zip(topics, np.cumsum([0] + [len(t) for t in topics[:-1]])):
        corpus.topic[start:start + len(t), :t.shape[1]] = t
    corpus.has_topic = np.array(has_topic, np.bool_)


def topic_dims_of(n: int, terms: int, topic_weight: float, topic_dims: float, topic_max_dims: int) -> int:
    """Dimensions of the topic projection of a language group of ``n`` documents and ``terms`` columns,
    or 0 for none: a projection keeping more than half the documents' dimensions is no topic model."""
    dims = min(int(round(topic_dims * math.sqrt(n))), terms - 1, topic_max_dims)
    return dims if topic_weight > 0 and 2 <= dims <= n // 2 else 0


def unit_rows(z: np.ndarray) -> np.ndarray:
    """``z`` with its rows L2-normalised (rows of zeros stay zero); row by row, whatever the other rows."""
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return z / np.where(norms > 0, norms, 1.0)


def sample_rows(n: int, sample: int) -> np.ndarray:
    """The rows of a group of ``n`` > ``sample`` documents that its topic directions are learnt from."""
    return np.linspace(0, n - 1, sample).round().astype(np.int64)


def learn_topics(m, dims: int, whole: bool) -> np.ndarray:
    """The ``dims`` main singular directions of the rows of ``m`` (truncated SVD, ARPACK, seeded): with
    ``whole``, the rows projected on them (``fit_transform``), else the directions (``components_``)."""
    from sklearn.decomposition import TruncatedSVD
    from threadpoolctl import threadpool_limits

    svd = TruncatedSVD(dims, algorithm="arpack", random_state=0)
    # one BLAS thread: ARPACK's dense steps are small, and BLAS threads spinning on a busy
    # machine made this stage 4x slower (measured on 2 shared cores)
    with threadpool_limits(1, user_api="blas"):
        return svd.fit_transform(m) if whole else svd.fit(m).components_


def _lsa(m, dims: int, sample: int) -> np.ndarray:
    """Rows of ``m`` projected on its ``dims`` main singular directions (:func:`learn_topics`).

    A group of more than ``sample`` documents learns the directions from ``sample`` of them,
    evenly spaced in id order (:func:`sample_rows`), and projects all: the SVD's cost stops
    growing with the corpus, and a topic space from thousands of articles is as good as one
    from all.
    """
    if m.shape[0] <= sample:
        return learn_topics(m, dims, whole=True)
    return project(m, learn_topics(m[sample_rows(m.shape[0], sample)], dims, whole=False))


def project(m, components: np.ndarray) -> np.ndarray:
    """Rows of ``m`` on the topic directions ``components``: ``TruncatedSVD.transform``'s product, row by
    row whatever the other rows (a sparse row times a dense matrix)."""
    from sklearn.utils.extmath import safe_sparse_dot

    return safe_sparse_dot(m, components.T)


# -- candidates -----------------------------------------------------------------------------------------------

CHUNK = 2_000  # documents whose candidate pairs are made and scored at once (bounds the memory for pairs)


def _candidate_anchors(corpus: _Corpus, params: StoryParams) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                       np.ndarray]:
    """CSR by document of the anchors that make candidates, and CSR by anchor of their (sorted) holders.

    An anchor held by more than ``max_df`` of the documents or more than ``max_bucket``
    documents is left out: it is no evidence of one story, and its postings would make the
    pairs grow with the square of the corpus.
    """
    n = len(corpus.docs)
    limit = max(2, min(int(params.max_df * n), params.max_bucket))
    keep = corpus.df[corpus.ids] <= limit if len(corpus.ids) else np.zeros(0, bool)
    doc_of = np.repeat(np.arange(n), np.diff(corpus.indptr))
    doc_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(doc_of[keep], minlength=n), out=doc_ptr[1:])
    doc_anchors = corpus.ids[keep].astype(np.int64)
    order = np.argsort(doc_anchors, kind="stable")  # by anchor, then by document
    post_docs = doc_of[keep][order]
    post_ptr = np.zeros(len(corpus.vocab) + 1, np.int64)
    np.cumsum(np.bincount(doc_anchors, minlength=len(corpus.vocab)), out=post_ptr[1:])
    return doc_ptr, doc_anchors, post_ptr, post_docs


# -- scores ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Scored:
    """Pairs ``(left, right)`` with their scores and the figures behind them (for the evidence)."""

    left: np.ndarray
    right: np.ndarray
    score: np.ndarray
    anchor: np.ndarray     # anchor containment
    word: np.ndarray       # word similarity; NaN: none (other languages)

    def take(self, which: np.ndarray) -> "_Scored":
        return _Scored(self.left[which], self.right[which], self.score[which], self.anchor[which], self.word[which])

    def with_score(self, score: np.ndarray) -> "_Scored":
        return _Scored(self.left, self.right, score, self.anchor, self.word)


def _score(corpus: _Corpus, params: StoryParams, left: np.ndarray, right: np.ndarray) -> _Scored:
    """Scores of pairs ``(left[k], right[k])``: see the module docstring (copies are set apart)."""
    c, p = corpus, params
    score, _, anchor, word = pair_scores(
        left, right, c.indptr, c.ids, c.idf, c.weight, c.lang_code, c.group, c.w_row, c.w_ptr, c.w_idx, c.w_data,
        c.topic, c.has_topic, c.times, p.min_shared, p.word_weight, c.topic_weight, p.word_link, p.cross_offset,
        p.window_days * 86400.0, p.far_penalty, p.season_days * 86400.0, p.season_penalty, p.min_score,
        p.word_floor)
    return _Scored(left, right, np.round(score, 6), anchor, word)


def _codes(left: np.ndarray, right: np.ndarray, n: int) -> np.ndarray:
    return left.astype(np.int64) * n + right


def _links(corpus: _Corpus, params: StoryParams, copies: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(left, right, score) of every candidate pair with a positive score, plus the copies (score 1),
    sorted by (left, right); and the number of candidate pairs.

    Pairs are made and scored ``CHUNK`` documents at a time, and only the positive ones are
    kept (as int32, int32, float64: 16 bytes a link), so memory follows the links, not the
    candidates."""
    n = len(corpus.docs)
    doc_ptr, doc_anchors, post_ptr, post_docs = _candidate_anchors(corpus, params)
    seen = np.full(n, -1, np.int64)
    lefts, rights, scores, total = [np.empty(0, np.int32)], [np.empty(0, np.int32)], [np.empty(0)], 0
    for lo in range(0, n, CHUNK):
        left, right = candidate_pairs(lo, min(n, lo + CHUNK), doc_ptr, doc_anchors, post_ptr, post_docs, seen)
        total += len(left)
        score = _score(corpus, params, left, right).score
        positive = score > 0
        lefts.append(left[positive].astype(np.int32))
        rights.append(right[positive].astype(np.int32))
        scores.append(score[positive])
    left, right, score = with_copies(np.concatenate(lefts), np.concatenate(rights), np.concatenate(scores),
                                     copies, n)
    return left, right, score, total


def with_copies(left: np.ndarray, right: np.ndarray, score: np.ndarray, copies: np.ndarray,
                n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Links: the scored pairs that are no copy, and the copies (codes ``i * n + j``, sorted) with score 1,
    by (left, right)."""
    other = ~np.isin(_codes(left, right, n), copies)
    left = np.concatenate([left[other], (copies // n).astype(left.dtype)])
    right = np.concatenate([right[other], (copies % n).astype(right.dtype)])
    score = np.concatenate([score[other], np.ones(len(copies))])
    order = np.lexsort((right, left))
    return left[order], right[order], score[order]


# -- clustering -----------------------------------------------------------------------------------------------

def average_linkage(n: int, edges: Iterable[tuple[int, int]], score: Callable[[int, int], float],
                    threshold: float) -> list[int]:
    """Labels (smallest member index) of average-linkage clusters over the scored ``edges``.

    The linkage of two groups is the mean ``score(i, j)`` over all member pairs, where a
    pair that is not an edge counts 0; the best pair of groups merges while its linkage is
    >= ``threshold``. Deterministic: ties break on the groups' smallest member indices.
    """
    pairs = sorted({(min(i, j), max(i, j)) for i, j in edges if i != j})
    left = np.array([i for i, _ in pairs], np.int64)
    right = np.array([j for _, j in pairs], np.int64)
    scores = np.array([score(i, j) for i, j in pairs], float)
    return linkage_labels(n, left, right, scores, threshold).tolist()


def linkage_labels(n: int, left: np.ndarray, right: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """:func:`average_linkage` on arrays of pairs and scores (pairs unique, ``left < right``).

    Each group keeps the sums of its scores with its neighbouring groups as two arrays,
    merged (and re-keyed through ``label``) when the group merges: a merge costs the two
    groups' neighbours, and only linkages >= ``threshold`` enter the heap.
    """
    keep = scores > 0
    left, right, scores = left[keep], right[keep], scores[keep]
    src = np.concatenate([left, right])
    dst = np.concatenate([right, left])
    val = np.concatenate([scores, scores])
    order = np.argsort(src, kind="stable")  # rows by document (a row's order does not matter)
    dst, val = dst[order], val[order]
    del order
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # merged groups only; a single document reads ptr

    def row(g: int) -> tuple[np.ndarray, np.ndarray]:
        return rows[g] if g in rows else (dst[ptr[g]:ptr[g + 1]], val[ptr[g]:ptr[g + 1]])

    label = np.arange(n)
    size = np.ones(n, np.int64)
    version = np.zeros(n, np.int64)
    members: dict[int, list[int]] = {}
    low = threshold - 1e-12
    strong = scores >= low
    heap = [(-s, a, b, 0, 0) for s, a, b in zip(scores[strong].tolist(), left[strong].tolist(),
                                                 right[strong].tolist())]
    heapq.heapify(heap)
    while heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if label[a] != a or label[b] != b or version[a] != va or version[b] != vb:
            continue  # stale: a group changed since this entry was made
        # merge b into a (a < b): a keeps its label, the smaller index
        moved = members.pop(b, [b])
        members.setdefault(a, [a]).extend(moved)
        label[moved] = a
        ka, sa = row(a)
        kb, sb = row(b)
        keys = label[np.concatenate([ka, kb])]
        sums = np.concatenate([sa, sb])
        outside = keys != a
        uniq, inverse = np.unique(keys[outside], return_inverse=True)
        total = np.bincount(inverse, sums[outside], minlength=len(uniq))
        rows[a] = (uniq, total)
        rows.pop(b, None)
        size[a] += size[b]
        version[a] += 1
        mean = total / (size[a] * size[uniq])
        for other, m in zip(uniq[mean >= low].tolist(), mean[mean >= low].tolist()):
            x, y = min(a, other), max(a, other)
            heapq.heappush(heap, (-m, x, y, int(version[x]), int(version[y])))
    return label


# -- the whole job --------------------------------------------------------------------------------------------

def _copy_pairs(docs: list[Document], params: StoryParams) -> np.ndarray:
    """Codes ``i * n + j`` (sorted) of the near-duplicate pairs found by :func:`dedup.find`."""
    n = len(docs)
    if params.copy_threshold is None or n < 2:
        return np.empty(0, np.int64)
    result = find(docs, Config(match=MatchParams(threshold=params.copy_threshold)))
    left = np.asarray(result.pairs.left, np.int64)
    right = np.asarray(result.pairs.right, np.int64)
    return np.unique(_codes(np.minimum(left, right), np.maximum(left, right), n))


def find_stories(documents: Iterable[Document], params: StoryParams = StoryParams(),
                 workers: int = 1) -> StoriesResult:
    """Group ``documents`` into stories; see the module docstring.

    ``workers`` > 1 extracts anchors in that many processes (the result is the same).
    ``stats["seconds"]`` has the time of each stage.
    """
    _check(isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1, "workers", workers,
           "an integer >= 1")
    clock = _Clock()
    docs = sorted_documents(documents)
    corpus = _prepare(docs, workers, words=params.word_weight > 0)
    clock.lap("anchors")
    return _stories(corpus, params, clock)


def _stories(corpus: _Corpus, params: StoryParams, clock: _Clock,
             copy_pairs: Callable[[list[Document], StoryParams], np.ndarray] = _copy_pairs) -> StoriesResult:
    """:func:`find_stories` once the anchors are in ``corpus``; ``copy_pairs`` is :func:`_copy_pairs`,
    or what finds the same pairs elsewhere (the Dask engine)."""
    docs = corpus.docs
    if params.word_weight > 0:
        corpus.topic_weight = params.topic_weight
        _word_vectors(corpus, params.topic_weight, params.topic_dims, params.topic_max_dims, params.topic_sample)
    clock.lap("words")
    copies = copy_pairs(docs, params)
    clock.lap("copies")
    left, right, score, candidates = _links(corpus, params, copies)
    clock.lap("scores")
    labels = linkage_labels(len(docs), left, right, score, params.threshold)
    clock.lap("clustering")
    result = _result(corpus, params, labels, copies)
    clock.lap("records")
    result.stats.update({"candidates": candidates, "links_scored": len(left),
                         "scored_pairs": candidates + result.stats["scored_pairs"], "seconds": clock.laps,
                         "peak_rss_mb": clock.peaks})
    return result


def _result(corpus: _Corpus, params: StoryParams, labels: np.ndarray, copies: np.ndarray) -> StoriesResult:
    """Stories (groups of two or more, numbered by first member id), labels and links of a clustering."""
    docs = corpus.docs
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(labels.tolist()):
        groups.setdefault(g, []).append(i)
    multi = sorted((m for m in groups.values() if len(m) > 1), key=lambda m: docs[m[0]].id)
    stories = [_story(number, members, corpus) for number, members in enumerate(multi, start=1)]
    story_of = {docs[x].id: number for number, members in enumerate(multi, start=1) for x in members}
    next_label = len(multi) + 1
    for d in docs:
        if d.id not in story_of:
            story_of[d.id] = next_label
            next_label += 1
    inside = _story_pairs(corpus, params, multi, copies)
    links = LinkList(inside, corpus, params, copies)
    stats = {"documents": len(docs), "anchors": len(corpus.vocab), "copies": len(copies),
             "scored_pairs": len(inside.left), "stories": len(stories),
             "documents_in_stories": sum(len(s.members) for s in stories), "links": len(links)}
    return StoriesResult(params, stories, links, story_of, {d.id: corpus.langs[i] for i, d in enumerate(docs)},
                         stats)


class _Clock:
    """Seconds per stage, and the process's peak RSS (MB) at the end of each stage where the OS tells it:
    ``stats["seconds"]`` and ``stats["peak_rss_mb"]``, what a scale test reports."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.peaks: dict[str, int] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now
        try:
            import resource  # Unix only

            # ru_maxrss is in KB on Linux (bytes on macOS; this is a report, not a limit)
            self.peaks[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        except ImportError:
            pass


def _story_pairs(corpus: _Corpus, params: StoryParams, stories: list[list[int]], copies: np.ndarray) -> _Scored:
    """Every pair inside a story with a positive score (also pairs that were no candidates), by (left, right)."""
    left, right = member_pairs(stories)
    return scored_with_copies(corpus, params, left, right, copies)


def member_pairs(groups: Iterable[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(left, right)`` of members of each group (members in order), group after group."""
    left, right = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for members in map(np.asarray, groups):
        a, b = np.triu_indices(len(members), 1)
        left.append(members[a])
        right.append(members[b])
    return np.concatenate(left).astype(np.int64), np.concatenate(right).astype(np.int64)


def scored_with_copies(corpus: _Corpus, params: StoryParams, left: np.ndarray, right: np.ndarray,
                       copies: np.ndarray) -> _Scored:
    """The pairs with a positive score, a copy (codes ``i * n + j``) scoring 1, by (left, right)."""
    scored = _score(corpus, params, left, right)
    copy = np.isin(_codes(scored.left, scored.right, len(corpus.docs)), copies)
    scored = scored.with_score(np.where(copy, 1.0, scored.score))
    scored = scored.take(scored.score > 0)
    return scored.take(np.lexsort((scored.right, scored.left)))


def _story(number: int, members: list[int], corpus: _Corpus) -> Story:
    docs = corpus.docs
    dated = [i for i in members if math.isfinite(corpus.times[i])]
    origin = min(dated, key=lambda i: (corpus.times[i], docs[i].id)) if dated else None
    return Story(
        story=number,
        members=tuple(sorted(docs[i].id for i in members)),
        languages=tuple(sorted({corpus.langs[i] for i in members})),
        sources=tuple(sorted({docs[i].source for i in members if docs[i].source})),
        first_published=docs[origin].published if origin is not None else None,
        origin=docs[origin].id if origin is not None else None,
    )


class LinkList(Sequence[Link]):
    """The links inside stories, by (a, b), each made when it is read.

    A :class:`Link` with its evidence takes about 1 KB and a corpus of 100,000 articles has
    over a million links: the list keeps them as arrays (and the anchors they read) instead,
    so writing them streams. Reading one costs some microseconds; iterating makes them in
    batches.
    """

    BATCH = 10_000

    def __init__(self, pairs: _Scored, corpus: _Corpus, params: StoryParams, copies: np.ndarray) -> None:
        self._pairs = pairs
        self._docs, self._times = corpus.docs, corpus.times
        self._ptr, self._ids, self._kinds, self._vocab = corpus.indptr, corpus.ids, corpus.kinds, corpus.vocab
        # the anchors' order as evidence: the rarest first, then by key (vocab is in key order)
        self._rank = np.empty(len(corpus.vocab), np.int64)
        self._rank[np.lexsort((np.arange(len(corpus.vocab)), -corpus.idf))] = np.arange(len(corpus.vocab))
        self._copy = np.isin(_codes(pairs.left, pairs.right, len(corpus.docs)), copies)
        self._most = params.max_evidence

    def __len__(self) -> int:
        return len(self._pairs.left)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[x] for x in range(*k.indices(len(self)))]
        if not -len(self) <= k < len(self):
            raise IndexError(k)
        return self._batch(k % len(self), k % len(self) + 1)[0]

    def __iter__(self) -> Iterator[Link]:
        for lo in range(0, len(self), self.BATCH):
            yield from self._batch(lo, min(len(self), lo + self.BATCH))

    def _batch(self, lo: int, hi: int) -> list[Link]:
        p = self._pairs
        count, ptr, anchor, kind = shared_evidence(p.left[lo:hi], p.right[lo:hi], self._ptr, self._ids, self._kinds,
                                                   self._rank, self._most)
        anchor, kind = anchor.tolist(), kind.tolist()
        return [self._link(lo + k, int(count[k]), anchor[ptr[k]:ptr[k + 1]], kind[ptr[k]:ptr[k + 1]])
                for k in range(hi - lo)]

    def _link(self, k: int, shared: int, anchors: list[int], kinds: list[int]) -> Link:
        docs, p = self._docs, self._pairs
        i, j = int(p.left[k]), int(p.right[k])  # i < j: documents are in id order
        copy = bool(self._copy[k])
        direction = None
        ti, tj = self._times[i], self._times[j]
        if math.isfinite(ti) and math.isfinite(tj):
            first, second = (i, j) if (ti, docs[i].id) <= (tj, docs[j].id) else (j, i)
            direction = {"from": docs[first].id, "to": docs[second].id}
        evidence: dict = {"names": [], "numbers": [], "dates": []}
        for a, code in zip(anchors, kinds):
            evidence[_EVIDENCE_BUCKET[code]].append(self._vocab[a])
        evidence["shared_anchors"] = shared
        evidence["anchor_score"] = round(float(p.anchor[k]), 6)
        if not math.isnan(p.word[k]):
            evidence["word_similarity"] = round(float(p.word[k]), 6)
        if copy:
            from .explain import shared_passages

            evidence["shared_passages"] = len(shared_passages(docs[i].text, docs[j].text))
        return Link(docs[i].id, docs[j].id, float(p.score[k]), "copy" if copy else "rewrite", direction, evidence)


_EVIDENCE_BUCKET = ["numbers" if k in ("number", "percent") else "dates" if k == "date" else "names" for k in KINDS]


# -- records --------------------------------------------------------------------------------------------------

def story_record(s: Story) -> dict:
    """A story as a JSON-ready dict (a line of stories.jsonl)."""
    return {"story": s.story, "members": list(s.members), "size": len(s.members), "languages": list(s.languages),
            "sources": list(s.sources), "first_published": s.first_published, "origin": s.origin}


def link_record(link: Link) -> dict:
    """A link as a JSON-ready dict (a line of links.jsonl)."""
    rec = {"a": link.a, "b": link.b, "score": link.score, "kind": link.kind}
    if link.direction is not None:
        rec["direction"] = dict(link.direction)
    rec["evidence"] = link.evidence
    return rec


def story_records(result: StoriesResult) -> Iterator[dict]:
    """One JSON-ready dict per story (for stories.jsonl)."""
    return map(story_record, result.stories)


def link_records(result: StoriesResult) -> Iterator[dict]:
    """One JSON-ready dict per link (for links.jsonl)."""
    return map(link_record, result.links)


def write_stories(result: StoriesResult, out: str | os.PathLike) -> tuple[int, int]:
    """Write ``stories.jsonl`` and ``links.jsonl`` into ``out`` (created), each atomically, as
    ``dedup stories --out`` does; returns how many stories and links were written."""
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    return (_atomic_write(path / "stories.jsonl", story_records(result)),
            _atomic_write(path / "links.jsonl", link_records(result)))
