"""Compiled loops of :mod:`dedup.stories`: candidate pairs from anchor postings, and pair scores; and of the
index's stories: an article's word counts, stop words for the language guess, and keys numbered in a hash
table.

Both work on CSR arrays (``indptr``, ``indices``) and emit or read flat arrays, so a
corpus of 100,000 articles costs no Python object per pair. Everything is
deterministic: loops run in index order and nothing is hashed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels import _put_utf8, next_match


@njit(cache=True)
def candidate_pairs(lo, hi, doc_ptr, doc_anchors, post_ptr, post_docs, seen):
    """Pairs ``(i, j)``, ``lo <= i < hi``, ``i < j``, of documents sharing at least one anchor.

    ``doc_anchors`` (CSR by document) holds the anchors used for candidates only and
    ``post_docs`` (CSR by anchor) their sorted holders, so an anchor gives at most
    ``len(postings) - 1`` partners per document: the postings' cap bounds the work.
    ``seen`` (one int64 per document, -1 at first) is scratch space reused across calls.
    Pairs come by ``i``, then by first discovery.
    """
    pairs = 0
    left = np.empty(0, np.int64)
    right = np.empty(0, np.int64)
    for sweep in range(2):  # count, then fill
        if sweep == 1:
            left = np.empty(pairs, np.int64)
            right = np.empty(pairs, np.int64)
        w = 0
        for i in range(lo, hi):
            stamp = sweep * len(seen) + i  # unique per document and sweep
            for p in range(doc_ptr[i], doc_ptr[i + 1]):
                a = doc_anchors[p]
                start = post_ptr[a] + np.searchsorted(post_docs[post_ptr[a]:post_ptr[a + 1]], i, side="right")
                for q in range(start, post_ptr[a + 1]):
                    j = post_docs[q]
                    if seen[j] != stamp:
                        seen[j] = stamp
                        if sweep == 1:
                            left[w] = i
                            right[w] = j
                        w += 1
        pairs = w
    return left, right


@njit(cache=True)
def _shared(ptr, idx, i, j, idf):
    """(number, summed idf) of the anchors documents ``i`` and ``j`` share (sorted-list merge)."""
    pe, qe = ptr[i + 1], ptr[j + 1]
    p, q = next_match(idx, ptr[i], pe, ptr[j], qe)
    n, total = 0, 0.0
    while p < pe:
        n += 1
        total += idf[idx[p]]
        p, q = next_match(idx, p + 1, pe, q + 1, qe)
    return n, total


@njit(cache=True)
def _dot(ptr, idx, data, r, s):
    """Dot product of rows ``r`` and ``s`` of a CSR matrix with sorted column indices."""
    pe, qe = ptr[r + 1], ptr[s + 1]
    p, q = next_match(idx, ptr[r], pe, ptr[s], qe)
    total = 0.0
    while p < pe:
        total += data[p] * data[q]
        p, q = next_match(idx, p + 1, pe, q + 1, qe)
    return total


@njit(cache=True)
def pair_scores(left, right, a_ptr, a_idx, idf, weight, lang, group, w_row, w_ptr, w_idx, w_data, topic, has_topic,
                times, min_shared, word_weight, topic_weight, word_link, cross_offset, window, far_penalty, season,
                season_penalty, min_score, word_floor):
    """Score of each pair ``(left[k], right[k])`` (the formula is in the docstring of :mod:`dedup.stories`).

    Also returns the number of shared anchors, the anchor score and the word similarity
    (NaN where the pair has none) of each pair, for the links' evidence.
    """
    m = len(left)
    score = np.zeros(m, np.float64)
    shared = np.zeros(m, np.int64)
    anchor = np.zeros(m, np.float64)
    word = np.full(m, np.nan)
    for k in range(m):
        i, j = left[k], right[k]
        n, total = _shared(a_ptr, a_idx, i, j, idf)
        low = min(weight[i], weight[j])
        s = 0.0
        if n > 0 and low > 0:
            s = min(1.0, total / low)
        shared[k] = n
        anchor[k] = s
        w = np.nan
        cosine = 0.0
        if word_weight > 0 and group[i] >= 0 and group[i] == group[j]:
            w = _dot(w_ptr, w_idx, w_data, w_row[i], w_row[j])
            cosine = w
            if has_topic[group[i]] and topic_weight > 0:
                t = 0.0
                for d in range(topic.shape[1]):
                    t += topic[w_row[i], d] * topic[w_row[j], d]
                w = (1 - topic_weight) * w + topic_weight * max(0.0, t)
        word[k] = w
        has_word = not np.isnan(w)
        ti, tj = times[i], times[j]
        apart = abs(ti - tj) if np.isfinite(ti) and np.isfinite(tj) else 0.0
        if n < min_shared and (not has_word or w < word_link or cosine < word_floor or apart > season):
            continue  # too few anchors, and no similar words (not only a similar topic) within a season
        if has_word:
            s = (1 - word_weight) * s + word_weight * w
        elif lang[i] != lang[j] or word_weight == 0:
            # anchors only: related stories (same people, same week) share many of them too
            s = max(0.0, (s - cross_offset) / (1 - cross_offset))
        if apart > window:
            s *= far_penalty
            if apart > season:
                s *= season_penalty
        if s >= min_score:
            score[k] = min(s, 1.0)
    return score, shared, anchor, word


@njit(cache=True)
def shared_evidence(left, right, ptr, idx, kinds, rank, most):
    """For each pair: how many anchors it shares, and the ``most`` best of them by ``rank`` (with
    their kind in the first document), as CSR arrays ``(count, out_ptr, out_anchor, out_kind)``."""
    m = len(left)
    count = np.zeros(m, np.int64)
    out_ptr = np.zeros(m + 1, np.int64)
    for k in range(m):
        n = _shared(ptr, idx, left[k], right[k], rank)[0]  # rank only fills the unused sum
        count[k] = n
        out_ptr[k + 1] = out_ptr[k] + min(n, most)
    out_anchor = np.empty(out_ptr[m], np.int64)
    out_kind = np.empty(out_ptr[m], np.int8)
    for k in range(m):
        i, j = left[k], right[k]
        found = np.empty(count[k], np.int64)
        where = np.empty(count[k], np.int64)
        pe, qe = ptr[i + 1], ptr[j + 1]
        p, q = next_match(idx, ptr[i], pe, ptr[j], qe)
        w = 0
        while p < pe:
            found[w] = idx[p]
            where[w] = p
            w += 1
            p, q = next_match(idx, p + 1, pe, q + 1, qe)
        order = np.argsort(rank[found], kind="mergesort")[:most]
        for t in range(len(order)):
            out_anchor[out_ptr[k] + t] = found[order[t]]
            out_kind[out_ptr[k] + t] = kinds[where[order[t]]]
    return count, out_ptr, out_anchor, out_kind


@njit(cache=True)
def unweighted(pos, idf):
    """The distinct positions in ``pos`` whose weight ``idf`` is not computed yet (NaN), in order of first
    appearance; they are marked (0) so that each is listed once."""
    out = np.empty(len(pos), np.int64)
    k = 0
    for p in pos:
        if np.isnan(idf[p]):
            idf[p] = 0.0
            out[k] = p
            k += 1
    return out[:k]


@njit(cache=True)
def anchor_sums(ptr, pos, idf, linkable, phrase_key, phrase_kind, item_has, log_n1):
    """Per segment ``s`` (entries ``ptr[s]:ptr[s + 1]``: one article's anchors as positions ``pos``, with their
    ``idf``, 0 where not ``linkable``): the anchors it shares with the placed article (``item_has[pos] > 0``),
    the sum of their idf, and its weight: the idf of its linkable anchors that are not multi-word keys
    (``phrase_key``) plus ``log_n1`` for each anchor no other document holds, unless a phrase (``phrase_kind``).
    Entries are summed in order, as ``np.bincount`` sums them."""
    k = len(ptr) - 1
    shared = np.zeros(k, np.int64)
    total = np.zeros(k)
    weight = np.zeros(k)
    for s in range(k):
        linked, unique = 0.0, 0.0
        for e in range(ptr[s], ptr[s + 1]):
            if linkable[e]:
                if not phrase_key[e]:
                    linked += idf[e]
            elif not phrase_kind[e]:
                unique += 1.0
            if item_has[pos[e]] > 0:
                shared[s] += 1
                total[s] += idf[e]
        weight[s] = linked + log_n1 * unique
    return shared, total, weight


@njit(cache=True)
def word_cosines(ptr, pos, tf, idf, item_w):
    """Per segment ``s`` (entries ``ptr[s]:ptr[s + 1]``: one article's words as positions ``pos`` in a
    language's vocabulary, with sublinear term frequencies ``tf``), the dot product of its TF-IDF vector
    (weights ``tf * idf[pos]``; an idf of 0 leaves the word out) with the dense vector ``item_w`` (0 where the
    placed article lacks the word) and its norm. Entries are summed in order, as ``np.bincount`` sums them.
    """
    k = len(ptr) - 1
    dots = np.zeros(k)
    norms = np.zeros(k)
    for s in range(k):
        dot, square = 0.0, 0.0
        for e in range(ptr[s], ptr[s + 1]):
            p = pos[e]
            if idf[p] == 0.0:
                continue
            w = tf[e] * idf[p]
            square += w * w
            dot += item_w[p] * w
        dots[s] = dot
        norms[s] = np.sqrt(square)
    return dots, norms


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key * 2^64/phi pick the slot


@njit(cache=True)
def number_keys(slot_key, slot_num, by_number, keys, count, out):
    """The number of each of ``keys`` in an open-addressing table (linear probing; ``slot_num`` holds number
    + 1, 0 for an empty slot; the table is a power of two long and kept at most half full by the caller), in
    ``out``. A key not in it is inserted with the next number, from ``count`` on (``by_number[number]`` gets
    the key); so numbers follow the order of first sight. Returns the new count. ~20 ns a key: a Python dict
    lookup per key cost ~70 ns, and ~6,000 keys are numbered per placement."""
    mask = np.int64(len(slot_key) - 1)
    bits = 0
    while (1 << bits) < len(slot_key):
        bits += 1
    shift = np.uint64(64 - bits)
    for i in range(len(keys)):
        k = keys[i]
        s = np.int64((np.uint64(k) * _GOLDEN) >> shift)
        while True:
            n = slot_num[s]
            if n == 0:
                slot_key[s] = k
                slot_num[s] = count + 1
                by_number[count] = k
                out[i] = count
                count += 1
                break
            if slot_key[s] == k:
                out[i] = n - 1
                break
            s = (s + 1) & mask
    return count


X1, X2, X3, X4, X5 = (np.uint64(v) for v in (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1))
M32 = np.uint64(0xFFFFFFFF)


@njit(inline="always")
def _rotl32(x, r):
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & M32


@njit(inline="always")
def _read32(buf, p):
    return (np.uint64(buf[p]) | (np.uint64(buf[p + 1]) << np.uint64(8)) | (np.uint64(buf[p + 2]) << np.uint64(16))
            | (np.uint64(buf[p + 3]) << np.uint64(24)))


@njit(inline="always")
def _round32(acc, lane):
    return (_rotl32((acc + lane * X2) & M32, 13) * X1) & M32


@njit(inline="always")
def xxh32(buf, length):
    """XXH32 with seed 0 of ``buf[:length]`` (equals ``xxhash.xxh32_intdigest``); 32-bit arithmetic in uint64
    lanes, masked after each step."""
    p = 0
    if length >= 16:
        v1, v2, v3, v4 = (X1 + X2) & M32, X2, np.uint64(0), (np.uint64(1 << 32) - X1) & M32
        while p + 16 <= length:
            v1 = _round32(v1, _read32(buf, p))
            v2 = _round32(v2, _read32(buf, p + 4))
            v3 = _round32(v3, _read32(buf, p + 8))
            v4 = _round32(v4, _read32(buf, p + 12))
            p += 16
        h = (_rotl32(v1, 1) + _rotl32(v2, 7) + _rotl32(v3, 12) + _rotl32(v4, 18)) & M32
    else:
        h = X5
    h = (h + np.uint64(length)) & M32
    while p + 4 <= length:
        h = (_rotl32((h + _read32(buf, p) * X3) & M32, 17) * X4) & M32
        p += 4
    while p < length:
        h = (_rotl32((h + np.uint64(buf[p]) * X5) & M32, 11) * X1) & M32
        p += 1
    h ^= h >> np.uint64(15)
    h = (h * X2) & M32
    h ^= h >> np.uint64(13)
    h = (h * X3) & M32
    h ^= h >> np.uint64(16)
    return h


@njit(cache=True)
def word_counts(units, classes):
    """The distinct word hashes of a text (its code points ``units``), sorted, and how often each occurs.

    A word is a maximal run of word characters (``classes`` 1 or 2 by code point: ``str.isalnum()`` or ``_``)
    that are all letters (class 1: not a decimal digit nor ``_``) and at least two long: the matches of the
    regular expression ``\\b[^\\W\\d_]{2,}\\b``, as a run with a digit inside holds no word boundary to stop at.
    Its hash is the XXH32 of its UTF-8 bytes. Counts stop at 65,535; words whose hashes collide count as one.
    """
    n = len(units)
    hashes = np.empty(n // 3 + 1, np.uint32)  # a word takes two characters and a separator, bar the last
    tok = np.empty(16, np.uint8)
    m = 0
    i = 0
    while i < n:
        if classes[units[i]] == 0:
            i += 1
            continue
        j = i
        letters = True
        while j < n and classes[units[j]] != 0:
            letters = letters and classes[units[j]] == 1
            j += 1
        if letters and j - i >= 2:
            if 4 * (j - i) > len(tok):
                tok = np.empty(8 * (j - i), np.uint8)
            size = 0
            for q in range(i, j):
                size = _put_utf8(tok, size, np.int64(units[q]))
            hashes[m] = xxh32(tok, size)
            m += 1
        i = j
    hashes = np.sort(hashes[:m])
    terms = np.empty(m, np.uint32)
    counts = np.empty(m, np.uint16)
    k = -1
    for e in range(m):
        if k < 0 or hashes[e] != terms[k]:
            k += 1
            terms[k] = hashes[e]
            counts[k] = 1
        elif counts[k] < 65535:
            counts[k] += 1
    return terms[:k + 1], counts[:k + 1]


@njit(cache=True)
def stopword_hits(units, classes, keys, masks, longest, languages):
    """Per language, how many letter runs of a text (code points ``units``; runs of ``classes`` 1, the matches
    of ``[^\\W\\d_]+``) are among its stop words, for the runs of at most 8 ASCII letters: lower-cased, their
    bytes packed little-endian into a uint64 are looked up in ``keys`` (sorted; ``masks``: the languages of
    each, one bit a language). The other runs that could be stop words (a non-ASCII letter, or longer, up to
    ``longest``) come back as (start, end) pairs, flat, to be looked up as strings."""
    hits = np.zeros(languages, np.int64)
    other = np.empty(len(units) + 2, np.int64)
    m = 0
    n = len(units)
    i = 0
    while i < n:
        if classes[units[i]] != 1:
            i += 1
            continue
        j = i
        ascii = True
        key = np.uint64(0)
        while j < n and classes[units[j]] == 1:
            c = np.uint64(units[j])
            if c >= 128:
                ascii = False
            elif j - i < 8:
                key |= (c + np.uint64(32) if 65 <= c <= 90 else c) << np.uint64(8 * (j - i))
            j += 1
        if not ascii or 8 < j - i <= longest:
            other[m] = i
            other[m + 1] = j
            m += 2
        elif j - i <= 8:
            k = np.searchsorted(keys, key)
            if k < len(keys) and keys[k] == key:
                for lang in range(languages):
                    if (masks[k] >> lang) & 1:
                        hits[lang] += 1
        i = j
    return hits, other[:m]
