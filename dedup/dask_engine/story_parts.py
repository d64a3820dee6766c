"""The pairs of ``dedup stories --engine dask``: made, scored, clustered and written where their documents live.

A range holds its documents as one row each (made by :mod:`.story_model`): anchors with their
global ids and weights, word vector, topic row, date, language and the document's own
fields. Everything that looks at two documents runs in the range of the first (the
smaller number) and fetches the other's row from its range (:func:`requests` ->
:func:`serve`): candidate scoring, the records of stories, the links inside stories with
their evidence. A task rebuilds a small :class:`dedup.stories._Corpus` of its own and the
fetched rows (:func:`corpus_of`; anchors renumbered in the same order) and calls the local
engine's own code on it (``_score``, ``LinkList``, ``_story``): the same arithmetic on the
same numbers, so the same bytes.

Clustering needs no single place either: average linkage only ever merges groups joined
by a link, so it runs on each connected component of the links alone (found by
:func:`dedup.dask_engine.components.stars`), and a component's merges are those of the
whole run: its heap entries and their ties are the same, whatever else is in the graph.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Sequence

import numpy as np

from ..document import Document
from ..report import _line
from ..stories import (LinkList, StoryParams, _codes, _Corpus, _score, _story, link_record, linkage_labels,
                       member_pairs, scored_with_copies, story_record, with_copies)
from .order import range_of
from .parts import Part, Table, concat, flat, objects, pair_code, routed, take

SCORE_COLUMNS = ("number", "lang", "lang_code", "time", "weight", "group", "anchors", "idf", "w_idx", "w_data",
                 "topic")
META_COLUMNS = ("number", "id", "source", "published", "lang", "time")
LINK_COLUMNS = SCORE_COLUMNS + ("id", "source", "published", "keys", "kinds")


def corpus_of(t: Table, has_topic: np.ndarray, topic_weight: float) -> _Corpus:
    """A :class:`dedup.stories._Corpus` of the rows of ``t`` (sorted by number; ``SCORE_COLUMNS`` and any
    of ``LINK_COLUMNS`` and ``text``), for the local engine's code. Anchors get new ids in the order of
    their global ones, so merges, sums and ranks go as in the whole."""
    n = len(t["number"])
    sizes = np.array([len(a) for a in t["anchors"]], np.int64)
    anchors = flat(t, "anchors", np.int64)
    used, inverse = np.unique(anchors, return_inverse=True)
    idf = np.zeros(len(used))
    idf[inverse] = flat(t, "idf", np.float64, 0)
    vocab = np.full(len(used), "", dtype=object)
    if "keys" in t:  # for the evidence of links
        vocab[inverse] = flat(t, "keys", object, 0)
    empty = objects([None] * n)
    docs = [Document(i or "", x or "", source=s, published=p) for i, x, s, p in
            zip(t.get("id", empty).tolist(), t.get("text", empty).tolist(), t.get("source", empty).tolist(),
                t.get("published", empty).tolist())]
    w_len = np.array([len(w) for w in t["w_idx"]], np.int64)
    return _Corpus(docs, t["lang"].tolist(), t["lang_code"], np.r_[0, np.cumsum(sizes)].astype(np.int64),
                   inverse.astype(np.int32), flat(t, "kinds", np.int8, len(anchors)), vocab.tolist(),
                   np.zeros(len(used), np.int64), idf, t["weight"], t["time"], [], [], group=t["group"],
                   w_row=np.arange(n), w_ptr=np.r_[0, np.cumsum(w_len)].astype(np.int64),
                   w_idx=flat(t, "w_idx", np.int32, 0), w_data=flat(t, "w_data", np.float64, 0), topic=t["topic"],
                   has_topic=has_topic, topic_weight=topic_weight)


# -- fetching the other document of a pair --------------------------------------------------------------------

def requests(numbers: np.ndarray, r: int, starts: np.ndarray, own: Table | None = None,
             text: np.ndarray | None = None) -> Table:
    """Asks for the rows of ``numbers`` (but those of range ``r``'s own rows, ``own``) from the ranges
    holding them; ``text``: per number, whether its text is wanted too."""
    numbers, inverse = np.unique(numbers, return_inverse=True)
    wanted = np.zeros(len(numbers), np.int64) if text is None else np.bincount(inverse, text, len(numbers))
    text = wanted > 0  # asked by any of its pairs
    out = np.ones(len(numbers), bool) if own is None else ~np.isin(numbers, own["number"])
    return routed({"number": numbers[out], "to": np.full(int(out.sum()), r, np.int64), "text": text[out]},
                  range_of(numbers[out], starts))


def serve(own: Table, pieces: Sequence[Table], columns: Sequence[str]) -> Table:
    """The asked rows of this range, with ``columns`` (and the text where asked), sent to who asked."""
    asked = concat(pieces)
    rows = np.searchsorted(own["number"], asked["number"])
    out = {c: own[c][rows] for c in columns}
    if "text" in own:
        out["text"] = objects([x if want else "" for x, want in zip(own["text"][rows].tolist(),
                                                                    asked["text"].tolist())])
    return routed(out, asked["to"])


def merged(own: Table, fetched: Sequence[Table], columns: Sequence[str]) -> Table:
    """This range's rows (none if ``own`` is empty) and the fetched ones, sorted by number, with ``columns``."""
    t = concat(([{c: own[c] for c in columns}] if own else []) + [{c: f[c] for c in columns} for f in fetched])
    return take(t, np.argsort(t["number"], kind="stable"))


def _local(t: Table, i: np.ndarray) -> np.ndarray:
    return np.searchsorted(t["number"], i)


# -- candidates and their scores ------------------------------------------------------------------------------

def postings(own: Table, n_out: int) -> Table:
    """(anchor, document) of every candidate-making anchor, to the task of the anchor."""
    sizes = np.array([len(c) for c in own["cand"]], np.int64)
    anchor = flat(own, "cand", np.int64, 0)
    return routed({"anchor": anchor, "number": np.repeat(own["number"], sizes)}, anchor % n_out)


def anchor_pairs(pieces: Sequence[Table], starts: np.ndarray) -> Table:
    """The pairs of documents sharing an anchor held here, to the range of the smaller one."""
    from ..stories_kernels import candidate_pairs

    t = concat(pieces)
    docs, doc = np.unique(t["number"], return_inverse=True)
    anchors, anchor = np.unique(t["anchor"], return_inverse=True)
    by_doc = np.lexsort((anchor, doc))
    doc_ptr = np.r_[0, np.cumsum(np.bincount(doc, minlength=len(docs)))].astype(np.int64)
    by_anchor = np.lexsort((doc, anchor))
    post_ptr = np.r_[0, np.cumsum(np.bincount(anchor, minlength=len(anchors)))].astype(np.int64)
    left, right = candidate_pairs(0, len(docs), doc_ptr, anchor[by_doc].astype(np.int64), post_ptr,
                                  doc[by_anchor].astype(np.int64), np.full(len(docs), -1, np.int64))
    return routed({"i": docs[left], "j": docs[right]}, range_of(docs[left], starts))


def unique_pairs(pieces: Sequence[Table]) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of ``pieces`` (columns i < j), once each, sorted."""
    if not pieces:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    t = concat(pieces)
    code = np.unique(pair_code(t["i"], t["j"]))
    return code >> 32, code & 0xFFFFFFFF


def copy_pairs(part: Part, starts: np.ndarray) -> Table:
    """The verified near-duplicate pairs of the copy search, to the range of their smaller document."""
    i, j = part.rows["i"].astype(np.int64), part.rows["j"].astype(np.int64)
    i, j = np.minimum(i, j), np.maximum(i, j)
    return routed({"i": i, "j": j}, range_of(i, starts))


def pair_requests(own: Table, pairs: Sequence[Table], r: int, starts: np.ndarray) -> Table:
    return requests(concat(pairs)["j"], r, starts, own)


def scored_links(own: Table, fetched: Sequence[Table], pairs: Sequence[Table], copies: Sequence[Table],
                 params: StoryParams, has_topic: np.ndarray, topic_weight: float) -> Part:
    """Links whose smaller document is in this range: candidates with a positive score and copies (score
    1), by (i, j), as :func:`dedup.stories._links` makes them."""
    i, j = unique_pairs(pairs)
    t = merged(own, fetched, SCORE_COLUMNS)
    score = _score(corpus_of(t, has_topic, topic_weight), params, _local(t, i), _local(t, j)).score
    positive = score > 0
    copy_codes = pair_code(*unique_pairs(copies))  # pair_code is i * 2**32 + j: codes for n = 2**32
    i, j, score = with_copies(i[positive], j[positive], score[positive], copy_codes, 2**32)
    return Part({"i": i, "j": j, "score": score},
                {"candidates": len(positive), "links": len(i), "copies": len(copy_codes)})


def links_to_labels(part: Part, n_out: int) -> Table:
    """Links to the task holding the component label of their smaller document."""
    return routed(dict(part.rows), part.rows["i"] % n_out)


def linkage(pieces: Sequence[Table], threshold: float, starts: np.ndarray) -> Table:
    """Average linkage on the whole components held here (:func:`dedup.stories.linkage_labels`); the stories
    (two members or more) go to the range of their first member."""
    t = concat(pieces)
    nodes = np.unique(np.concatenate([t["i"], t["j"]]))
    left, right = np.searchsorted(nodes, t["i"]), np.searchsorted(nodes, t["j"])
    order = np.lexsort((right, left))
    labels = linkage_labels(len(nodes), left[order], right[order], t["score"][order], threshold)
    grouped = np.argsort(labels, kind="stable")
    groups = [g for g in np.split(grouped, np.flatnonzero(np.diff(labels[grouped])) + 1) if len(g) > 1]
    first = np.array([nodes[g[0]] for g in groups], np.int64)
    return routed({"first": first, "members": objects([nodes[g] for g in groups])}, range_of(first, starts))


# -- stories and their links ----------------------------------------------------------------------------------

def sorted_stories(pieces: Sequence[Table]) -> Part:
    """The stories whose first member is in this range, by that member; the client numbers them."""
    t = concat(pieces)
    t = take(t, np.argsort(t["first"], kind="stable"))
    return Part(t, {"stories": len(t["first"]), "members": sum(len(m) for m in t["members"].tolist())})


def member_requests(part: Part, r: int, starts: np.ndarray) -> Table:
    return requests(flat(part.rows, "members", np.int64, 0), r, starts)


def story_pairs(part: Part, starts: np.ndarray) -> Table:
    """Every pair inside each story, to the range of the smaller document."""
    i, j = member_pairs(part.rows["members"].tolist())
    return routed({"i": i, "j": j}, range_of(i, starts))


def story_text(part: Part, fetched: Sequence[Table], first_number: int) -> str:
    """stories.jsonl lines of this range's stories, numbered from ``first_number``."""
    t = merged({}, fetched, META_COLUMNS)
    docs = [Document(i, "", source=s, published=p) for i, s, p in
            zip(t["id"].tolist(), t["source"].tolist(), t["published"].tolist())]
    corpus = SimpleNamespace(docs=docs, times=t["time"], langs=t["lang"].tolist())
    return "".join(_line(story_record(_story(first_number + k, _local(t, members).tolist(), corpus)))
                   for k, members in enumerate(part.rows["members"].tolist()))


def link_requests(own: Table, pairs: Sequence[Table], copies: Sequence[Table], r: int, starts: np.ndarray) -> Table:
    """The other documents of this range's story pairs; their texts too where the pair is a copy."""
    i, j = unique_pairs(pairs)
    ci, cj = unique_pairs(copies)
    return requests(j, r, starts, own, text=np.isin(pair_code(i, j), pair_code(ci, cj)))


def link_text(own: Table, fetched: Sequence[Table], pairs: Sequence[Table], copies: Sequence[Table],
              params: StoryParams, has_topic: np.ndarray, topic_weight: float) -> tuple[str, int, int]:
    """links.jsonl lines of the pairs inside stories whose smaller document is here (by (a, b)), how many,
    and how many pairs were scored: what :func:`dedup.stories._story_pairs` and ``LinkList`` make of them."""
    i, j = unique_pairs(pairs)
    t = merged(own, fetched, LINK_COLUMNS + ("text",))
    corpus = corpus_of(t, has_topic, topic_weight)
    n = len(t["number"])
    left, right = _local(t, i), _local(t, j)
    ci, cj = unique_pairs(copies)
    copy_codes = _codes(_local(t, ci), _local(t, cj), n)
    links = LinkList(scored_with_copies(corpus, params, left, right, copy_codes), corpus, params, copy_codes)
    return "".join(_line(link_record(link)) for link in links), len(links), len(i)
