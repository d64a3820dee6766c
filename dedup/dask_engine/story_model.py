"""The stories corpus model made on the workers, a range of the id order in each task.

What :func:`dedup.stories._prepare` and ``_word_vectors`` make of the whole corpus, made
from pieces with the same arithmetic:

* **Rows** (:func:`range_rows` -> :func:`gathered`): each block sends its documents and
  their features (anchor keys, word counts, date) to the range of the id order holding them.
* **Vocabularies** (:func:`vocabulary_keys` -> :func:`rank_keys` -> :func:`ranked`): anchor
  keys, and ``language + NUL + term`` for the words, are sample-sorted across ranges as the
  ids are (``order.py``): each sorting task counts its keys' documents (``df``), keeps the
  anchors of two documents or more and the terms of at most ``WORD_MAX_DF`` of their
  language's documents, and numbers them; the counts before it (per language for terms)
  make the numbers global. So an anchor's id is its rank in key order and a term's column its
  rank among its language's kept terms, as the local code numbers them.
* **Anchors and words of each document** (:func:`build_range`): ids sorted, kinds, idf and
  weight (the same sums in the same order), TF-IDF rows from the counts and the global
  ``df`` (:func:`dedup.stories.tfidf_of`: each row depends on itself and the idf only).
* **Topics** (:func:`topic_fit` -> :func:`with_topics`): a language group's topic directions
  are learnt in one task, from the group's rows (all of them, up to ``topic_sample``, as
  ``fit_transform``) or its sampled rows (then each range projects its own rows).

The client only sees counts: per range and language, and kept keys per sorting task.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from ..stories import (WORD_MAX_DF, _time, anchor_weights, is_phrase_key, learn_topics, project, sample_rows,
                       term_idf, tfidf_of, topic_dims_of, unit_rows)
from .order import boundaries, range_of, sample_of
from .parts import Part, Rows, Table, concat, flat, objects, routed, take

SEP = "\x00"  # between a group (language; "" for anchors) and a key: sorts by group, then key


def range_rows(data, numbers: np.ndarray, starts: np.ndarray) -> Table:
    """The numbered documents of a block with their features and date, to the range holding them."""
    rows = np.flatnonzero(numbers >= 0).tolist()
    docs = [data.docs[r] for r in rows]
    features = [data.features[r] for r in rows]
    number = numbers[rows]
    words = [f[3] for f in features]
    return routed({"number": number, "id": objects([d.id for d in docs]),
                   "source": objects([d.source for d in docs]), "published": objects([d.published for d in docs]),
                   "text": objects([d.text for d in docs]), "lang": objects([f[0] for f in features]),
                   "found": objects([f[1] for f in features]), "codes": objects([f[2] for f in features]),
                   "terms": objects([w[0] if w else "" for w in words]),
                   "counts": objects([w[1] if w else np.empty(0, np.int32) for w in words]),
                   "time": np.array([_time(d) for d in docs], float)}, range_of(number, starts))


def _term_keys(t: Table) -> list[str]:
    return [f"{lang}{SEP}{term}" for lang, terms in zip(t["lang"].tolist(), t["terms"].tolist())
            for term in (terms.split("\n") if terms else [])]


def _anchor_keys(t: Table) -> list[str]:
    return [SEP + k for found in t["found"].tolist() for k in found]


def gathered(pieces: Sequence[Table], words: bool) -> Part:
    """A range's documents by number; facts: documents per language, samples of its keys."""
    t = concat(pieces)
    t = take(t, np.argsort(t["number"], kind="stable"))
    return Part(t, {"langs": dict(Counter(t["lang"].tolist())), "anchor_sample": sample_of(set(_anchor_keys(t))),
                    "term_sample": sample_of(set(_term_keys(t))) if words else []})


def vocabulary_keys(part: Part, r: int, terms: bool, cuts: np.ndarray) -> Table:
    """Every (document, key) of the range, numbered by its place in the range (``slot``), to its sorting task."""
    keys = objects(_term_keys(part.rows) if terms else _anchor_keys(part.rows))
    dest = np.searchsorted(cuts, keys, side="right") if len(cuts) else np.zeros(len(keys), np.int64)
    return routed({"key": keys, "slot": np.arange(len(keys)), "range": np.full(len(keys), r, np.int64)}, dest)


def rank_keys(pieces: Sequence[Table], low: int, limits: dict[str, float] | None) -> Part:
    """The keys of this sorting task: documents holding each (``df``), and the rank of the kept ones
    (``df >= low``, and at most ``limits[group]`` where given) among their group's kept keys here."""
    t = concat(pieces)
    listed = t["key"].tolist()
    keys = sorted(set(listed))  # sorting the distinct keys only: terms repeat (5x faster than np.unique)
    index = dict(zip(keys, range(len(keys))))
    inverse = np.fromiter((index[k] for k in listed), np.int64, len(listed))
    df = np.bincount(inverse, minlength=len(keys))
    group = [k.split(SEP, 1)[0] for k in keys]
    names = sorted(set(group))
    gidx = np.searchsorted(np.array(names, dtype=object), np.array(group, dtype=object)) if names else \
        np.zeros(0, np.int64)
    keep = df >= low
    if limits is not None:
        keep &= df <= np.array([limits[g] for g in group], float)
    rank = np.full(len(keys), -1, np.int64)
    kept = {}
    for g, name in enumerate(names):  # keys are sorted, so a group's keys are together and in key order
        mine = np.flatnonzero(keep & (gidx == g))
        rank[mine] = np.arange(len(mine))
        kept[name] = len(mine)
    return Part({"range": t["range"], "slot": t["slot"], "df": df[inverse], "rank": rank[inverse],
                 "group": gidx[inverse]}, {"kept": kept, "groups": names})


def ranked(part: Part, offsets: Sequence[int]) -> Table:
    """Each (document, key) answered with its global number (-1: not kept) and ``df``, back to its range."""
    t = part.rows
    number = np.where(t["rank"] >= 0, t["rank"] + np.asarray(offsets, np.int64)[t["group"]], -1) if len(offsets) \
        else t["rank"]
    return routed({"slot": t["slot"], "id": number, "df": t["df"]}, t["range"])


def _answers(pieces: Sequence[Table], size: int) -> tuple[np.ndarray, np.ndarray]:
    t = concat(pieces)
    ids, df = np.full(size, -1, np.int64), np.zeros(size, np.int64)
    ids[t["slot"]], df[t["slot"]] = t["id"], t["df"]
    return ids, df


def build_range(part: Part, anchors: Sequence[Table], terms: Sequence[Table] | None, n: int, limit: int,
                codes: dict[str, int], groups: dict[str, int], columns: dict[str, int],
                counts: dict[str, int]) -> Table:
    """The range's rows for the pair stages (``story_parts``): what ``_prepare`` and ``_word_vectors``
    make of these documents, without topic rows yet."""
    t = part.rows
    m = len(t["number"])
    found = t["found"].tolist()
    sizes = np.array([len(f) for f in found], np.int64)
    flat_keys = objects([k for f in found for k in f])
    flat_kind = np.frombuffer(b"".join(t["codes"].tolist()), np.int8)
    ids, df = _answers(anchors, len(flat_keys))
    doc_of = np.repeat(np.arange(m), sizes)
    phrase = np.fromiter(map(is_phrase_key, flat_keys.tolist()), bool, len(flat_keys))
    rows, weight = anchor_weights(doc_of, ids, flat_kind, df, phrase, m, n)
    per_doc = np.bincount(doc_of[rows], minlength=m)
    cand = rows[df[rows] <= limit]
    out = {c: t[c] for c in ("number", "id", "source", "published", "text", "lang", "time")}
    out.update(lang_code=np.array([codes[x] for x in t["lang"].tolist()], np.int32), weight=weight,
               anchors=_cut(ids[rows].astype(np.int32), per_doc), kinds=_cut(flat_kind[rows], per_doc),
               idf=_cut(np.log((n + 1) / df[rows]), per_doc), keys=_cut(flat_keys[rows], per_doc),
               cand=_cut(ids[cand], np.bincount(doc_of[cand], minlength=m)))
    out.update(_word_rows(t, terms, groups, columns, counts))
    return out


def _cut(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return objects(np.split(values, np.cumsum(lengths)[:-1]) if len(lengths) else [])


def _word_rows(t: Table, terms: Sequence[Table] | None, groups: dict[str, int], columns: dict[str, int],
               counts: dict[str, int]) -> Table:
    """Group and TF-IDF row (columns, values) of each document: :func:`dedup.stories.tfidf_rows` of its
    language group, made from this range's rows and the group's document frequencies."""
    from scipy.sparse import csr_matrix

    m = len(t["number"])
    langs = t["lang"].tolist()
    group = np.array([groups.get(x, -1) for x in langs], np.int32)
    w_idx = [np.empty(0, np.int32)] * m
    w_data = [np.empty(0)] * m
    if terms is not None:
        sizes = np.array([len(c) for c in t["counts"]], np.int64)
        column, df = _answers(terms, int(sizes.sum()))
        doc = np.repeat(np.arange(m), sizes)
        values = flat(t, "counts", np.float64)
        for lang in groups:
            rows = np.flatnonzero(t["lang"] == lang)
            if not len(rows):
                continue
            kept = np.isin(doc, rows) & (column >= 0)  # entries of the group's documents, terms kept
            idf = np.zeros(columns[lang])
            idf[column[kept]] = term_idf(df[kept], counts[lang])
            lengths = np.bincount(doc[kept], minlength=m)[rows]
            mat = tfidf_of(csr_matrix((values[kept], column[kept], np.r_[0, np.cumsum(lengths)]),
                                      shape=(len(rows), columns[lang])), idf)
            for k, row in enumerate(rows.tolist()):
                w_idx[row] = mat.indices[mat.indptr[k]:mat.indptr[k + 1]].astype(np.int32)
                w_data[row] = mat.data[mat.indptr[k]:mat.indptr[k + 1]]
    return {"group": group, "w_idx": objects(w_idx), "w_data": objects(w_data)}


# -- topics ---------------------------------------------------------------------------------------------------

def topic_rows(own: Table, first: int, lang: str, sample: np.ndarray | None) -> Table:
    """The TF-IDF rows of one language group held here, with their rank in the group (from ``first``), to the
    group's topic task (the only output); only the ranks in ``sample`` where it is given."""
    rows = np.flatnonzero(own["lang"] == lang)
    rank = first + np.arange(len(rows))
    if sample is not None:
        keep = np.isin(rank, sample)
        rows, rank = rows[keep], rank[keep]
    return routed({"rank": rank, "number": own["number"][rows], "w_idx": own["w_idx"][rows],
                   "w_data": own["w_data"][rows]}, np.zeros(len(rows), np.int64))


def _matrix(w_idx: np.ndarray, w_data: np.ndarray, width: int):
    """The TF-IDF rows held as one array per document (columns, values), as a CSR matrix."""
    from scipy.sparse import csr_matrix

    t = {"w_idx": w_idx, "w_data": w_data}
    lengths = np.array([len(x) for x in w_idx], np.int64)
    return csr_matrix((flat(t, "w_data", np.float64, 0), flat(t, "w_idx", np.int32, 0),
                       np.r_[0, np.cumsum(lengths)]), shape=(len(lengths), width))


def topic_fit(pieces: Sequence[Table], dims: int, width: int, full: bool):
    """A language group's topic directions, from its rows in rank order: with ``full`` (all of the group),
    ``(numbers, unit topic rows)`` as ``fit_transform`` gives them; else the directions (``components_``, an
    array: Dask knows its size, where a fitted estimator looks like 56 bytes)."""
    t = concat(pieces)
    t = take(t, np.argsort(t["rank"], kind="stable"))
    found = learn_topics(_matrix(t["w_idx"], t["w_data"], width), dims, whole=full)
    return (t["number"], unit_rows(found)) if full else found


def with_topics(own: Table, fitted: Sequence, langs: Sequence[str], widths: Sequence[int], width: int) -> Table:
    """The range's rows with their topic row (zeros outside topic groups), padded to ``width``."""
    topic = np.zeros((len(own["number"]), width))
    for fit, lang, columns in zip(fitted, langs, widths):
        rows = np.flatnonzero(own["lang"] == lang)
        if isinstance(fit, tuple):  # the whole group was projected where it was fitted
            numbers, z = fit
            z = z[np.searchsorted(numbers, own["number"][rows])]
        else:
            z = unit_rows(project(_matrix(own["w_idx"][rows], own["w_data"][rows], columns), fit))
        topic[rows, :z.shape[1]] = z
    return Rows(own, topic=topic)


def sampled(n: int, sample: int) -> np.ndarray | None:
    """The ranks a group of ``n`` documents learns its topics from (None: all, with ``fit_transform``)."""
    return None if n <= sample else sample_rows(n, sample)


# -- the stages -----------------------------------------------------------------------------------------------

def _vocabulary(job, stage: str, parts: Sequence, facts: Sequence[dict], terms: bool, low: int,
                limits: dict[str, float] | None) -> tuple[list, dict[str, int]]:
    """The answers (global number, df) to every (document, key) of each range, and kept keys per group."""
    ranges = len(parts)
    cuts = boundaries([f["term_sample" if terms else "anchor_sample"] for f in facts], ranges)
    keyed = job.map(f"{stage}-keys", vocabulary_keys, parts, list(range(ranges)), terms=terms, cuts=cuts)
    sorters = job.map(f"{stage}-rank", rank_keys, job.exchange(f"{stage}-move", keyed, len(cuts) + 1), low=low,
                      limits=limits)
    kept = job.facts(f"{stage}-kept", sorters)
    before: Counter = Counter()
    offsets = []
    for f in kept:  # a group's keys before this sorting task: where its numbers start
        offsets.append([before[g] for g in f["groups"]])
        before.update(f["kept"])
    answers = job.map(f"{stage}-answer", ranked, sorters, offsets)
    return job.exchange(f"{stage}-back", answers, ranges), dict(before)


def build_model(job, datas: Sequence, numbers: Sequence, starts: np.ndarray, n: int, params) -> tuple[list, dict]:
    """The rows of each range for the pair stages (futures), and what the client learns: the number of
    anchors, ``has_topic`` per language group and the topic weight."""
    ranges = len(starts)
    words = params.word_weight > 0
    rows = job.map("model-rows", range_rows, datas, numbers, starts=starts)
    parts = job.map("model-gather", gathered, job.exchange("model-rows-move", rows, ranges), words=words)
    facts = job.facts("model-facts", parts)
    per_range = [Counter(f["langs"]) for f in facts]
    langs = sum(per_range, Counter())
    anchors, kept = _vocabulary(job, "anchor-vocab", parts, facts, False, 2, None)
    terms, columns, groups = None, {}, {}
    if words:
        terms, columns = _vocabulary(job, "term-vocab", parts, facts, True, 1,
                                     {lang: WORD_MAX_DF * count for lang, count in langs.items()})
        for lang in sorted(langs):  # as _word_vectors: languages of two documents or more with a term left
            if langs[lang] >= 2 and columns.get(lang, 0) > 0:
                groups[lang] = len(groups)
    limit = max(2, min(int(params.max_df * n), params.max_bucket))
    codes = {lang: c for c, lang in enumerate(sorted(langs))}
    built = job.map("model-build", build_range, parts, anchors, terms if terms is not None else [None] * ranges,
                    n=n, limit=limit, codes=codes, groups=groups, columns=columns, counts=dict(langs))
    topic_weight = params.topic_weight if words else 0.0
    dims = {lang: topic_dims_of(langs[lang], columns[lang], topic_weight, params.topic_dims, params.topic_max_dims)
            for lang in groups}
    fitted, fitted_langs = [], [lang for lang in groups if dims[lang]]
    for k, lang in enumerate(fitted_langs):
        chosen = sampled(langs[lang], params.topic_sample)
        firsts = np.cumsum([0] + [c[lang] for c in per_range[:-1]]).tolist()
        sent = job.map(f"topic-rows{k}", topic_rows, built, firsts, lang=lang, sample=chosen)
        fitted.append(job.client.submit(topic_fit, job.exchange(f"topic-move{k}", sent, 1)[0], dims[lang],
                                        columns[lang], chosen is None, key=f"dedup-topic-fit-{job.token}-{k}"))
    width = max([1] + [dims[lang] for lang in fitted_langs])
    own = job.map("model-topics", with_topics, built, fitted=fitted, langs=fitted_langs,
                  widths=[columns[lang] for lang in fitted_langs], width=width)
    has_topic = np.array([bool(dims[lang]) for lang in groups], np.bool_)
    return own, {"anchors": kept.get("", 0), "has_topic": has_topic, "topic_weight": topic_weight}
