"""Stories: the same reporting rewritten by different outlets, also across languages.

``anchors -> rarity weights -> LSH candidates -> scores -> average-linkage clusters -> records``

- **Anchors** (:mod:`dedup.anchors`): names, acronyms, codes, numbers, percentages and
  dates, keyed the same way in every language.
- **Weights**: an anchor in ``df`` of ``N`` documents weighs ``log((N + 1) / df)``.
- **Candidates**: MinHash (``dedup.minhash.signatures``) of each document's anchors, left
  out those in more than ``max_df`` of the documents, banded by ``dedup.lsh`` at the low
  ``lsh_threshold``: never all pairs.
- **Score** of a pair: the weight of the shared anchors over the smaller document's total
  weight (min-side containment: a long German article has many more anchors than a short
  Dutch one); for two documents in one language, blended with the TF-IDF cosine of their
  words (the headline counts twice; in language groups of about 50 documents or more, half
  of it is the cosine of a latent-topic (LSA) projection); times ``far_penalty`` when both
  have dates more than ``window_days`` apart, and ``season_penalty`` as well beyond
  ``season_days`` (a follow-up months later is another story). A document without a
  ``published`` date uses a dateline near the start of its text (``May 28, 2009``). A
  link needs ``min_shared`` shared anchors (not for a same-language pair with word cosine
  >= ``word_link``), so one famous name (``TikTok``) never makes a
  story; near-duplicates found by :func:`dedup.find` are ``copy`` links with score 1.
- **Clustering**: average linkage on the links, merging the two groups whose mean
  pairwise score (a pair without a link counts 0, pairs of groups that touch are scored in
  full) is highest while it is at least ``threshold`` (a linkage estimated from the known
  links only is a lower bound, so every such estimate is checked in full). A large story cannot swallow a
  neighbour through one weak link: every merge needs the mean over all member pairs.

Everything is in document-id order and uses no Python ``hash()``: the result does not
depend on input order or ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np
import xxhash

from .anchors import Anchor, anchor_set, detect_language, text_date
from .document import Document
from .errors import ParameterError
from .lsh import candidates, recall_bands
from .minhash import signatures
from .params import Config, MatchParams, MinHashParams, _check
from .pipeline import find, sorted_documents, timestamp


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
    topic_dims: float = 3.5        # LSA dimensions per language group of n documents: topic_dims * sqrt(n)
    word_link: float = 0.3         # same-language pairs with this word cosine need no min_shared anchors
    cross_offset: float = 0.4      # pairs scored on anchors alone (across languages): score above this, rescaled
    window_days: float = 7.0       # dated pairs farther apart than this ...
    far_penalty: float = 0.7       # ... have their score multiplied by this (0: never linked)
    season_days: float = 180.0     # dated pairs farther apart than this ...
    season_penalty: float = 0.3    # ... have their score multiplied by this as well (a follow-up, not a rewrite)
    max_df: float = 0.1            # anchors in more than this share of documents are left out of LSH
    lsh_threshold: float = 0.1     # anchor-set Jaccard found with probability >= lsh_recall
    lsh_recall: float = 0.95
    num_perm: int = 128
    seed: int = 1
    max_bucket: int = 200
    copy_threshold: float = 0.5    # word 2-gram Jaccard of a `copy` (dedup.find); None: no copy links
    max_evidence: int = 20         # shared anchors listed per link

    def __post_init__(self) -> None:
        for name in ("threshold", "min_score", "max_df", "lsh_threshold", "lsh_recall"):
            value = getattr(self, name)
            _check(_number(value) and 0 < value <= 1, name, value, "a number in (0, 1]")
        _check(self.lsh_recall < 1, "lsh_recall", self.lsh_recall, "a number in (0, 1)")
        _check(_number(self.cross_offset) and 0 <= self.cross_offset < 1, "cross_offset", self.cross_offset,
               "a number in [0, 1)")
        for name in ("word_weight", "far_penalty", "word_link", "season_penalty", "topic_weight"):
            value = getattr(self, name)
            _check(_number(value) and 0 <= value <= 1, name, value, "a number in [0, 1]")
        for name in ("window_days", "season_days", "topic_dims"):
            value = getattr(self, name)
            _check(_number(value) and value >= 0, name, value, "a number >= 0 (days)")
        for name, low in (("min_shared", 1), ("max_bucket", 2), ("max_evidence", 0)):
            value = getattr(self, name)
            _check(isinstance(value, int) and not isinstance(value, bool) and value >= low, name, value,
                   f"an integer >= {low}")
        _check(isinstance(self.num_perm, int) and 1 <= self.num_perm <= 4096, "num_perm", self.num_perm,
               "an integer from 1 to 4096")
        _check(isinstance(self.seed, int) and 0 <= self.seed < 2**32, "seed", self.seed,
               "an integer from 0 to 2**32 - 1")
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
    links: list[Link]                  # links inside stories, by (a, b)
    labels: dict[str, int]             # every document id -> story number (singletons get their own)
    languages: dict[str, str]          # document id -> language used
    stats: dict = field(default_factory=dict)


# -- anchors and weights --------------------------------------------------------------------------------------

def _anchor_hash(key: str) -> int:
    return xxhash.xxh64_intdigest(key.encode("utf-8"))


@dataclass
class _Corpus:
    docs: list[Document]
    langs: list[str]
    anchors: list[dict[str, Anchor]]
    ids: list[np.ndarray]               # sorted anchor indices per document (anchors with df >= 2)
    vocab: list[str]
    idf: np.ndarray
    weight: np.ndarray                  # per document: total idf of its linkable anchors
    times: np.ndarray                   # seconds, inf when absent
    words: list = field(default_factory=list)  # per document: (language group, row) of the word matrix
    word_rows: dict = field(default_factory=dict)
    topic_rows: dict = field(default_factory=dict)  # per language: L2-normalised LSA rows (or absent)
    topic_weight: float = 0.0


def _text(d: Document) -> str:
    if d.title and not d.text.startswith(d.title):
        return f"{d.title}\n\n{d.text}"
    return d.text


def _prepare(docs: list[Document]) -> _Corpus:
    langs = [(d.lang or "").lower().split("-")[0] or detect_language(_text(d)) for d in docs]
    anchors = [anchor_set(_text(d), lang) for d, lang in zip(docs, langs)]
    df: dict[str, int] = {}
    for a in anchors:
        for key in a:
            df[key] = df.get(key, 0) + 1
    vocab = sorted(k for k, n in df.items() if n >= 2)
    index = {k: i for i, k in enumerate(vocab)}
    n = len(docs)
    idf = np.array([math.log((n + 1) / df[k]) for k in vocab], dtype=float)
    ids = [np.array(sorted(index[k] for k in a if k in index), dtype=np.int64) for a in anchors]
    # anchors of one document only weigh the most (log(N + 1)): what no other document shares
    # makes a document less contained in any other
    # a phrase (Erich Andersen) repeats its words: it adds evidence when shared, never weight when not
    unique = math.log(n + 1)
    phrase = np.array([k.count(" ") > 0 and not k.startswith("date:") for k in vocab], dtype=bool)
    weight = np.array([float(idf[i[~phrase[i]]].sum())
                       + unique * sum(1 for k, x in a.items() if k not in index and x.kind != "phrase")
                       for i, a in zip(ids, anchors)])
    # no publication date: a dateline near the start of the text (``May 28, 2009``) stands in for it
    times = np.array([timestamp(d.published) if math.isfinite(timestamp(d.published))
                      else timestamp(text_date(_text(d))) for d in docs], dtype=float)
    return _Corpus(docs, langs, anchors, ids, vocab, idf, weight, times)


HEADLINE_REPEAT = 1


def _word_text(d: Document) -> str:
    """The text for word vectors: the headline (first line) counts ``1 + HEADLINE_REPEAT`` times."""
    text = _text(d)
    head = text.split("\n", 1)[0]
    return "\n".join([head] * HEADLINE_REPEAT + [text])


def _word_vectors(corpus: _Corpus, topic_weight: float = 0.0, topic_dims: float = 0.0) -> None:
    """TF-IDF word vectors per language (rows L2-normalised), for same-language pairs.

    With ``topic_weight`` > 0 also a latent-topic (LSA) projection of them with
    ``round(topic_dims * sqrt(n))`` dimensions for a language group of ``n`` documents:
    it links reports of one event written with different words (``plunge``/``tumble``). Only
    for groups where that is at most half the number of documents (about 50 or more).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    groups: dict[str, list[int]] = {}
    for i, lang in enumerate(corpus.langs):
        groups.setdefault(lang, []).append(i)
    corpus.words = [None] * len(corpus.docs)
    for lang in sorted(groups):
        members = groups[lang]
        if len(members) < 2:
            continue
        vec = TfidfVectorizer(sublinear_tf=True, strip_accents="unicode", min_df=1, max_df=0.5,
                              token_pattern=r"(?u)\b[^\W\d_]{2,}\b")
        try:
            m = vec.fit_transform([_word_text(corpus.docs[i]) for i in members]).tocsr()
        except ValueError:  # empty vocabulary
            continue
        m.sort_indices()
        corpus.word_rows[lang] = m
        dims = min(int(round(topic_dims * math.sqrt(len(members)))), m.shape[1] - 1)
        # a projection keeping more than half the documents' dimensions is no topic model (small groups)
        if topic_weight > 0 and 2 <= dims <= len(members) // 2:
            from sklearn.decomposition import TruncatedSVD

            z = TruncatedSVD(dims, algorithm="arpack", random_state=0).fit_transform(m)
            norms = np.linalg.norm(z, axis=1, keepdims=True)
            corpus.topic_rows[lang] = z / np.where(norms > 0, norms, 1.0)
        for row, i in enumerate(members):
            corpus.words[i] = (lang, row)


def _row_dot(m, a: int, b: int) -> float:
    """Dot product of two rows of a CSR matrix with sorted indices (scipy's row slicing costs
    ~0.3 ms a pair; average linkage asks for hundreds of thousands)."""
    ia, ib = m.indices[m.indptr[a]:m.indptr[a + 1]], m.indices[m.indptr[b]:m.indptr[b + 1]]
    _, xa, xb = np.intersect1d(ia, ib, assume_unique=True, return_indices=True)
    return float(np.dot(m.data[m.indptr[a]:m.indptr[a + 1]][xa], m.data[m.indptr[b]:m.indptr[b + 1]][xb]))


def _word_similarity(corpus: _Corpus, i: int, j: int) -> float | None:
    wi, wj = corpus.words[i], corpus.words[j]
    if wi is None or wj is None or wi[0] != wj[0]:
        return None
    cos = _row_dot(corpus.word_rows[wi[0]], wi[1], wj[1])
    z = corpus.topic_rows.get(wi[0])
    if z is not None and corpus.topic_weight > 0:
        topic = max(0.0, float(z[wi[1]] @ z[wj[1]]))
        cos = (1 - corpus.topic_weight) * cos + corpus.topic_weight * topic
    return cos


# -- candidates -----------------------------------------------------------------------------------------------

def _candidates(corpus: _Corpus, params: StoryParams) -> np.ndarray:
    n = len(corpus.docs)
    if n < 2 or not corpus.vocab:
        return np.empty((0, 2), np.int64)
    df = np.zeros(len(corpus.vocab), np.int64)
    for ids in corpus.ids:
        df[ids] += 1
    limit = max(2, int(params.max_df * n))
    hashes = np.array([_anchor_hash(k) for k in corpus.vocab], dtype=np.uint64)
    keep = df <= limit
    segments = [hashes[ids[keep[ids]]] for ids in corpus.ids]
    indptr = np.zeros(n + 1, np.int64)
    indptr[1:] = np.cumsum([len(s) for s in segments])
    flat = np.concatenate(segments) if indptr[-1] else np.empty(0, np.uint64)
    mh = MinHashParams(num_perm=params.num_perm, seed=params.seed)
    sig = signatures(flat.astype(np.uint64), indptr, mh)
    b, r = recall_bands(float(params.lsh_threshold), int(params.num_perm), float(params.lsh_recall))
    return candidates(sig, b, r, params.max_bucket).pairs


# -- scores ---------------------------------------------------------------------------------------------------

class _Scorer:
    def __init__(self, corpus: _Corpus, params: StoryParams, copies: dict[tuple[int, int], object]):
        self.c, self.p, self.copies = corpus, params, copies
        self.cache: dict[tuple[int, int], float] = {}

    def anchor_score(self, i: int, j: int) -> tuple[float, int]:
        c = self.c
        shared = np.intersect1d(c.ids[i], c.ids[j], assume_unique=True)
        if len(shared) == 0:
            return 0.0, 0
        low = min(c.weight[i], c.weight[j])
        return (min(1.0, float(c.idf[shared].sum() / low)) if low > 0 else 0.0), len(shared)

    def __call__(self, i: int, j: int) -> float:
        if i > j:
            i, j = j, i
        got = self.cache.get((i, j))
        if got is not None:
            return got
        if (i, j) in self.copies:
            s = 1.0
        else:
            s, shared = self.anchor_score(i, j)
            w = _word_similarity(self.c, i, j) if self.p.word_weight > 0 else None
            if shared < self.p.min_shared and (w is None or w < self.p.word_link):
                s = 0.0
            else:
                if w is not None:
                    s = (1 - self.p.word_weight) * s + self.p.word_weight * w
                elif self.c.langs[i] != self.c.langs[j] or self.p.word_weight == 0:
                    # anchors only: related stories (same people, same week) share many of them too,
                    # so only the part above cross_offset counts
                    s = max(0.0, (s - self.p.cross_offset) / (1 - self.p.cross_offset))
                ti, tj = self.c.times[i], self.c.times[j]
                if math.isfinite(ti) and math.isfinite(tj) and abs(ti - tj) > self.p.window_days * 86400:
                    s *= self.p.far_penalty
                    if abs(ti - tj) > self.p.season_days * 86400:
                        s *= self.p.season_penalty
                if s < self.p.min_score:
                    s = 0.0
        s = round(min(s, 1.0), 6)
        self.cache[(i, j)] = s
        return s


# -- clustering -----------------------------------------------------------------------------------------------

def average_linkage(n: int, edges: Iterable[tuple[int, int]], score, threshold: float) -> list[int]:
    """Labels (smallest member index) of average-linkage clusters over ``edges``.

    Two groups are candidates to merge when an edge joins them; their linkage is the mean
    ``score(i, j)`` over all member pairs (computed in full when they are about to merge).
    The best pair of groups merges while its linkage is >= ``threshold``. Deterministic:
    ties break on the groups' smallest member indices.
    """
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    label = list(range(n))
    # known sums of scores between groups (from edges only)
    sums: dict[int, dict[int, float]] = {}
    for i, j in edges:
        if i == j:
            continue
        s = score(i, j)
        if s <= 0:
            continue
        sums.setdefault(i, {})[j] = sums.setdefault(i, {}).get(j, 0.0) + s
        sums.setdefault(j, {})[i] = sums.setdefault(j, {}).get(i, 0.0) + s
    version = [0] * n
    heap: list[tuple[float, int, int, int, int, int]] = []  # (-mean, a, b, exact, version a, version b)
    for a in sorted(sums):
        for b, s in sorted(sums[a].items()):
            if a < b:
                heap.append((-s, a, b, 0, 0, 0))
    heapq.heapify(heap)
    alive = set(range(n))
    while heap:
        neg, a, b, exact, va, vb = heapq.heappop(heap)
        if a not in alive or b not in alive or version[a] != va or version[b] != vb:
            continue  # stale: a group changed since this entry was made
        if not exact:
            # an estimate from the known edges only is a lower bound: always check the exact linkage
            total = sum(score(x, y) for x in members[a] for y in members[b])
            mean = total / (len(members[a]) * len(members[b]))
            if mean >= threshold - 1e-12:
                heapq.heappush(heap, (-mean, a, b, 1, va, vb))
            continue
        if -neg < threshold - 1e-12:
            continue  # exact and too low; estimates below it may still hide a linkage above the threshold
        # merge b into a (a < b): a keeps its label, the smaller index
        lo, hi = (a, b) if a < b else (b, a)
        members[lo] = sorted(members[lo] + members[hi])
        version[lo] += 1
        del members[hi]
        alive.discard(hi)
        for x in members[lo]:
            label[x] = lo
        merged = {}
        for g in (lo, hi):
            for other, s in sums.pop(g, {}).items():
                if other in (lo, hi):
                    continue
                merged[other] = merged.get(other, 0.0) + s
                sums[other].pop(g, None)
        sums[lo] = merged
        for other, s in sorted(merged.items()):
            sums[other][lo] = s
            x, y = min(lo, other), max(lo, other)
            # estimate from known edges; recomputed exactly before a merge
            heapq.heappush(heap, (-s / (len(members[lo]) * len(members[other])), x, y, 0, version[x], version[y]))
    return label


# -- the whole job --------------------------------------------------------------------------------------------

def _copy_pairs(docs: list[Document], params: StoryParams) -> dict[tuple[int, int], object]:
    if params.copy_threshold is None or len(docs) < 2:
        return {}
    result = find(docs, Config(match=MatchParams(threshold=params.copy_threshold)))
    return {(int(a), int(b)): None for a, b in zip(result.pairs.left.tolist(), result.pairs.right.tolist())}


def find_stories(documents: Iterable[Document], params: StoryParams = StoryParams()) -> StoriesResult:
    """Group ``documents`` into stories; see the module docstring."""
    docs = sorted_documents(documents)
    corpus = _prepare(docs)
    if params.word_weight > 0:
        corpus.topic_weight = params.topic_weight
        _word_vectors(corpus, params.topic_weight, params.topic_dims)
    copies = _copy_pairs(docs, params)
    cands = _candidates(corpus, params)
    scorer = _Scorer(corpus, params, copies)
    edges = sorted(set(map(tuple, cands.tolist())) | set(copies))
    labels = average_linkage(len(docs), edges, scorer, params.threshold)
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(labels):
        groups.setdefault(g, []).append(i)
    multi = sorted((m for m in groups.values() if len(m) > 1), key=lambda m: docs[m[0]].id)
    stories, links = [], []
    story_of: dict[str, int] = {}
    for number, members in enumerate(multi, start=1):
        stories.append(_story(number, members, corpus))
        for x in members:
            story_of[docs[x].id] = number
        for a_pos, x in enumerate(members):
            for y in members[a_pos + 1:]:
                s = scorer(x, y)
                if s > 0:
                    links.append(_link(x, y, s, corpus, scorer, params))
    next_label = len(multi) + 1
    for d in docs:
        if d.id not in story_of:
            story_of[d.id] = next_label
            next_label += 1
    links.sort(key=lambda l: (l.a, l.b))
    stats = {"documents": len(docs), "anchors": len(corpus.vocab), "candidates": int(len(cands)),
             "copies": len(copies), "scored_pairs": len(scorer.cache), "stories": len(stories),
             "documents_in_stories": sum(len(s.members) for s in stories), "links": len(links)}
    return StoriesResult(params, stories, links, story_of, {d.id: corpus.langs[i] for i, d in enumerate(docs)},
                         stats)


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


def _link(i: int, j: int, score: float, corpus: _Corpus, scorer: _Scorer, params: StoryParams) -> Link:
    docs = corpus.docs
    kind = "copy" if (i, j) in scorer.copies else "rewrite"
    direction = None
    ti, tj = corpus.times[i], corpus.times[j]
    if math.isfinite(ti) and math.isfinite(tj):
        first, second = (i, j) if (ti, docs[i].id) <= (tj, docs[j].id) else (j, i)
        direction = {"from": docs[first].id, "to": docs[second].id}
    shared = np.intersect1d(corpus.ids[i], corpus.ids[j], assume_unique=True)
    order = sorted(shared.tolist(), key=lambda k: (-corpus.idf[k], corpus.vocab[k]))[:params.max_evidence]
    evidence: dict = {"names": [], "numbers": [], "dates": []}
    for k in order:
        key = corpus.vocab[k]
        kind_of = corpus.anchors[i][key].kind
        bucket = "numbers" if kind_of in ("number", "percent") else "dates" if kind_of == "date" else "names"
        evidence[bucket].append(key)
    evidence["shared_anchors"] = int(len(shared))
    anchor_score, _ = scorer.anchor_score(i, j)
    evidence["anchor_score"] = round(anchor_score, 6)
    word = _word_similarity(corpus, i, j) if corpus.words else None
    if word is not None:
        evidence["word_similarity"] = round(word, 6)
    if kind == "copy":
        from .explain import shared_passages

        evidence["shared_passages"] = len(shared_passages(docs[i].text, docs[j].text))
    return Link(docs[i].id, docs[j].id, score, kind, direction, evidence)


# -- records --------------------------------------------------------------------------------------------------

def story_records(result: StoriesResult) -> Iterator[dict]:
    """One JSON-ready dict per story (for stories.jsonl)."""
    for s in result.stories:
        yield {"story": s.story, "members": list(s.members), "size": len(s.members),
               "languages": list(s.languages), "sources": list(s.sources),
               "first_published": s.first_published, "origin": s.origin}


def link_records(result: StoriesResult) -> Iterator[dict]:
    """One JSON-ready dict per link (for links.jsonl)."""
    for l in result.links:
        rec = {"a": l.a, "b": l.b, "score": l.score, "kind": l.kind}
        if l.direction is not None:
            rec["direction"] = dict(l.direction)
        rec["evidence"] = l.evidence
        yield rec
