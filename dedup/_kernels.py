"""Compiled inner loops (numba): characters (a str read in place) -> shingle hashes -> MinHash, and set overlaps.

Everything here works on flat numpy arrays with CSR-style ``indptr`` offsets and
is parallel over documents only, so results never depend on the thread count.
The Python reference of every definition lives in :mod:`dedup.shingle` and the
tests check the two agree bit for bit.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np
import numba
from numba import njit, prange

U64 = np.uint64
P1 = U64(11400714785074694791)
P2 = U64(14029467366897019727)
P3 = U64(1609587929392839161)
P4 = U64(9650029242287828579)
P5 = U64(2870177450012600261)
MASK32 = U64(0xFFFFFFFF)
NEWLINE = 10


@contextmanager
def threads_for(work: int, parallel_from: int) -> Iterator[None]:
    """Run the parallel kernels called inside on one thread when ``work`` < ``parallel_from``.

    Waking numba's pool costs about 0.07 ms a parallel call (passive waiting, see
    ``dedup/__init__``): 0.55 ms of a one-article sketch's 0.66 ms, more than the
    work of some 16 articles on one core. The thread count is numba's setting for
    the calling thread only, and results never depend on it.
    """
    before = numba.get_num_threads()
    if work >= parallel_from or before == 1:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


@njit(inline="always")
def _rotl(x, r):
    return (x << U64(r)) | (x >> U64(64 - r))


@njit(inline="always")
def _read(buf, p, n):
    """Little-endian unsigned integer of n bytes at buf[p]."""
    v = U64(0)
    for i in range(n):
        v |= U64(buf[p + i]) << U64(8 * i)
    return v


@njit(inline="always")
def _round(acc, lane):
    acc = acc + lane * P2
    return _rotl(acc, 31) * P1


@njit(inline="always")
def _merge(acc, v):
    acc ^= _round(U64(0), v)
    return acc * P1 + P4


@njit(inline="always")
def xxh64(buf, start, length):
    """XXH64 with seed 0 of buf[start:start+length] (equals ``xxhash.xxh64_intdigest``)."""
    p = start
    end = start + length
    if length >= 32:
        v1 = P1 + P2
        v2 = P2
        v3 = U64(0)
        v4 = U64(0) - P1
        while p + 32 <= end:
            v1 = _round(v1, _read(buf, p, 8))
            v2 = _round(v2, _read(buf, p + 8, 8))
            v3 = _round(v3, _read(buf, p + 16, 8))
            v4 = _round(v4, _read(buf, p + 24, 8))
            p += 32
        h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = P5
    h += U64(length)
    while p + 8 <= end:
        h ^= _round(U64(0), _read(buf, p, 8))
        h = _rotl(h, 27) * P1 + P4
        p += 8
    if p + 4 <= end:
        h ^= _read(buf, p, 4) * P1
        h = _rotl(h, 23) * P2 + P3
        p += 4
    while p < end:
        h ^= U64(buf[p]) * P5
        h = _rotl(h, 11) * P1
        p += 1
    h ^= h >> U64(33)
    h *= P2
    h ^= h >> U64(29)
    h *= P3
    h ^= h >> U64(32)
    return h


@njit(inline="always")
def fmix64(h):
    h ^= h >> U64(33)
    h *= U64(0xFF51AFD7ED558CCD)
    h ^= h >> U64(33)
    h *= U64(0xC4CEB9FE1A85EC53)
    h ^= h >> U64(33)
    return h


@njit(inline="always")
def _put_utf8(out, n, cp):
    """Append code point cp to out[n:] as UTF-8; returns the new length."""
    if cp < 0x80:
        out[n] = cp
        return n + 1
    if cp < 0x800:
        out[n] = 0xC0 | (cp >> 6)
        out[n + 1] = 0x80 | (cp & 0x3F)
        return n + 2
    if cp < 0x10000:
        out[n] = 0xE0 | (cp >> 12)
        out[n + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[n + 2] = 0x80 | (cp & 0x3F)
        return n + 3
    out[n] = 0xF0 | (cp >> 18)
    out[n + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[n + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[n + 3] = 0x80 | (cp & 0x3F)
    return n + 4


@njit
def _grown(tok, used, size):
    """A larger copy of the first ``used`` bytes of ``tok``."""
    out = np.empty(size, np.uint8)
    out[:used] = tok[:used]
    return out


@njit(inline="always")
def _push(t, h, ring, n, k, pk, line, out_hash, out_line, w):
    """Add unit hash t to the rolling shingle hash; emit a shingle once k units are in.

    Branch-free: ``ring`` (a power of two >= k entries, zeroed at each line start)
    holds the line's last units at ``index & mask``; the unit leaving the window
    is read from it, and reads 0 while fewer than k units are in. The shingle is
    always written at ``w`` but only kept (w advances) from the k-th unit on.
    Unpredictable branches here cost about 15% of the kernel.
    """
    mask = len(ring) - 1
    h = (h - ring[(n - k) & mask] * pk) * P1 + t
    ring[n & mask] = t
    n += 1
    out_hash[w] = fmix64(h)
    out_line[w] = line
    return h, n, w + (1 if n >= k else 0)


@njit(cache=True)
def _ascii_tables(is_word, fold):
    """Per code point below 0x10000 (larger ones read entry 0xFFFF): the byte it adds to a
    word (0: not an ASCII word character) and whether it is an ASCII separator (not a line
    end). 64K entries, so that 1- and 2-byte code units index them unclamped (the compiler
    drops the clamp); only the ASCII entries are ever hot. Built once per batch: per
    document, building them cost about 5% of the kernel."""
    ascii_tok = np.zeros(0x10000, np.uint8)
    ascii_sep = np.zeros(0x10000, np.bool_)
    for b in range(128):
        if is_word[b]:
            ascii_tok[b] = b + 32 if (fold and 65 <= b <= 90) else b
        elif b != NEWLINE and b != 13:
            ascii_sep[b] = True
    return ascii_tok, ascii_sep


@njit(cache=True)
def _shingle_one(units, start, end, ascii_tok, ascii_sep, is_word, by_char, k, fold, fold_start, fold_len,
                 fold_data, special, out_hash, out_line, w):
    """Shingles of one document, written from out[w]; returns the new w, or -1 (see below).

    Units are words (maximal runs of alphanumeric code points) or, with
    ``by_char``, every code point. Lines (``\\n``, ``\\r\\n`` or ``\\r``) are
    paragraphs: shingles never cross them, and a line with fewer than k units
    gives one shingle of all of them. Shingle hashes roll: for units t_0..t_{k-1},
    H = sum t_i * P1^(k-1-i) mod 2**64 (the fold h -> h*P1 + t), updated in O(1).

    With ``fold`` (raw text, word units) code points are case-folded through the
    tables; a document holding a code point flagged ``special`` (one whose
    folding or NFKC form a per-character rule cannot reproduce) returns -1 so the
    caller redoes it through :func:`dedup.normalize.normalize`.

    Most text is ASCII words between ASCII separators, so a tight loop takes
    those characters through the tables of :func:`_ascii_tables`; only non-ASCII
    code points and line ends reach the general path, which writes each unit's
    UTF-8 bytes for its hash.
    """
    r = 1
    while r < k:
        r *= 2
    ring = np.zeros(r, np.uint64)  # the line's last units (see _push)
    tok = np.empty(4 * (end - start) + 16, np.uint8)  # the unit being built, UTF-8
    pk = U64(1)
    for _ in range(k - 1):
        pk *= P1
    limit = len(special)
    line = 0
    n = 0  # units seen on this line
    h = U64(0)
    tlen = 0  # bytes of the unit being built
    p = start
    while p <= end:
        if not by_char:  # the hot loops: ASCII word characters into the token, ASCII separators end it
            while p < end:
                a = min(np.int64(units[p]), 0xFFFF)
                if ascii_tok[a] != 0:
                    tok[tlen] = ascii_tok[a]
                    tlen += 1
                elif ascii_sep[a]:
                    if tlen > 0:
                        h, n, w = _push(xxh64(tok, 0, tlen), h, ring, n, k, pk, line, out_hash, out_line, w)
                        tlen = 0
                else:
                    break
                p += 1
        if p == end:
            c, size, boundary = NEWLINE, 1, True
        else:
            c, size = np.int64(units[p]), 1
            boundary = c == NEWLINE or c == 13
            if c == 13 and p + 1 < end and units[p + 1] == NEWLINE:
                size = 2
        pending = 0  # a unit ends at this code point
        if by_char:
            if not boundary:
                tlen = _put_utf8(tok, 0, c)
                pending = 1
        elif boundary or c < 0x80:  # ASCII word bytes were taken above
            pending = 1 if tlen > 0 else 0
        elif fold:
            if c >= limit or special[c]:
                return -1
            if fold_len[c] == 0:
                if is_word[c]:
                    tlen = _put_utf8(tok, tlen, c)
                elif tlen > 0:
                    pending = 1
            elif fold_len[c] == 255:  # normalises to non-word characters only
                if tlen > 0:
                    pending = 1
            else:  # a run of word characters (checked when the tables are built)
                if tlen + 4 * fold_len[c] > len(tok):  # more than 4 bytes from one code point (e.g. ㍿)
                    tok = _grown(tok, tlen, 2 * len(tok) + 4 * fold_len[c])
                for q in range(fold_start[c], fold_start[c] + fold_len[c]):
                    tlen = _put_utf8(tok, tlen, np.int64(fold_data[q]))
        elif is_word[c]:
            tlen = _put_utf8(tok, tlen, c)
        elif tlen > 0:
            pending = 1
        if pending:
            h, n, w = _push(xxh64(tok, 0, tlen), h, ring, n, k, pk, line, out_hash, out_line, w)
            tlen = 0
        if boundary:
            if 0 < n < k:
                out_hash[w] = fmix64(h)
                out_line[w] = line
                w += 1
            n = 0
            ring[:] = 0
            h = U64(0)
            line += 1
        p += size
    return w


def shingle_batch(text, offsets, is_word, by_char, k, fold, fold_start, fold_len, fold_data, special,
                  scratch_h, scratch_l):
    """Shingle hashes of every document of a batch.

    ``text[offsets[i]:offsets[i+1]]`` is document i: the batch is one Python str,
    offsets count code points. The kernel reads the str's own buffer in place (1, 2
    or 4 bytes a character, by the widest character in the batch), so no UTF-8 is
    made before it: encoding in Python took 15% of the time, on one thread.
    Returns ``(hashes uint64, lines int32, indptr int64, redo bool)``: document i's
    shingles, in text order, are ``hashes[indptr[i]:indptr[i+1]]`` and ``lines``
    their line numbers; ``redo[i]`` marks a document left empty because it needs
    the exact Python normalisation (only with ``fold``).

    One compiled kernel per character width, each compiled (or loaded from the
    cache) on first use: compiling all three up front tripled a first run's wait.
    """
    kernel = _BY_WIDTH[_width(text)]
    return kernel(text, offsets, is_word, by_char, k, fold, fold_start, fold_len, fold_data, special,
                  scratch_h, scratch_l)


@njit(cache=True)
def _width(text):
    """Bytes a character in the buffer of a str (CPython's 1, 2 or 4)."""
    return text._kind


@njit(cache=True)
def _shingle_ucs1(text, *args):
    return _shingle_units(numba.carray(text._data, len(text), np.uint8), *args)


@njit(cache=True)
def _shingle_ucs2(text, *args):
    return _shingle_units(numba.carray(text._data, len(text), np.uint16), *args)


@njit(cache=True)
def _shingle_ucs4(text, *args):
    return _shingle_units(numba.carray(text._data, len(text), np.uint32), *args)


@njit(parallel=True, cache=True)
def _shingle_units(units, offsets, is_word, by_char, k, fold, fold_start, fold_len, fold_data, special,
                   scratch_h, scratch_l):
    """:func:`shingle_batch` over the code points ``units`` (uint8, uint16 or uint32).

    Each document writes into its own region of the scratch arrays first, so no
    counting pass is needed: see :func:`scratch_size` for why a region cannot
    overflow. The caller reuses the scratch arrays across batches: fresh ones
    cost a page fault per page touched, a quarter of the kernel's time.
    """
    n = len(offsets) - 1
    counts = np.zeros(n + 1, np.int64)
    redo = np.zeros(n, np.bool_)
    ascii_tok, ascii_sep = _ascii_tables(is_word, fold)
    d = 1 if by_char else 2
    for i in prange(n):
        s = offsets[i] // d + i
        w = _shingle_one(units, offsets[i], offsets[i + 1], ascii_tok, ascii_sep, is_word, by_char, k, fold,
                         fold_start, fold_len, fold_data, special, scratch_h, scratch_l, s)
        if w < 0:
            redo[i] = True
        else:
            counts[i + 1] = w - s
    indptr = np.cumsum(counts)
    hashes = np.empty(indptr[n], np.uint64)
    lines = np.empty(indptr[n], np.int32)
    for i in prange(n):
        s = offsets[i] // d + i
        m = indptr[i + 1] - indptr[i]
        hashes[indptr[i]:indptr[i + 1]] = scratch_h[s:s + m]
        lines[indptr[i]:indptr[i + 1]] = scratch_l[s:s + m]
    return hashes, lines, indptr, redo


def scratch_size(nchars: int, ndocs: int, by_char: bool) -> int:
    """Scratch entries :func:`shingle_batch` needs for ``ndocs`` documents of ``nchars`` code points in all.

    Document i (L code points at offset o) owns entries ``o // d + i`` up to, not
    including, the next document's start, at least ``L // d + 1`` of them, with
    d = 1 for character units and 2 for words. That bounds its shingles: one
    shingle per unit at most (k units emit one each from the k-th on; a shorter
    line emits one for all of them), a character unit takes one code point,
    and a word at least one plus a separator before the next word (a case
    fold or NFKC form expands to word characters only or to separators only,
    never both; documents holding other code points are redone in Python).
    """
    return nchars // (1 if by_char else 2) + ndocs + 1


@njit(inline="always")
def fmix32(h):
    h ^= h >> U64(16)
    h = (h * U64(0x85EBCA6B)) & MASK32
    h ^= h >> U64(13)
    h = (h * U64(0xC2B2AE35)) & MASK32
    h ^= h >> U64(16)
    return h


@njit(parallel=True, cache=True)
def minhash_segments(hashes, indptr, a, b):
    """MinHash of each segment ``hashes[indptr[i]:indptr[i+1]]``, datasketch's affine32 scheme.

    The 32-bit input is the low half of each 64-bit shingle hash, pre-mixed by
    MurmurHash3's fmix32; permutation p maps it to ``(a[p]*x + b[p]) mod 2**32``.
    An empty segment gets the all-0xFFFFFFFF signature, as in datasketch.

    The loop runs permutation by permutation over a document's mixed inputs:
    a minimum over a contiguous array, which the compiler vectorises across
    inputs (about 30% faster than updating all permutations per input).
    """
    n = len(indptr) - 1
    num_perm = len(a)
    out = np.empty((n, num_perm), np.uint32)
    a32 = a.astype(np.uint32)
    b32 = b.astype(np.uint32)
    for i in prange(n):
        x = np.empty(indptr[i + 1] - indptr[i], np.uint32)
        for j in range(len(x)):
            x[j] = np.uint32(fmix32(hashes[indptr[i] + j] & MASK32))
        for q in range(num_perm):
            aq = a32[q]
            bq = b32[q]
            m = np.uint32(0xFFFFFFFF)
            for j in range(len(x)):
                m = min(m, np.uint32(aq * x[j] + bq))
            out[i, q] = m
    return out


@njit(parallel=True, cache=True)
def sorted_unique_segments(hashes, indptr):
    """Each segment sorted with duplicates removed: the exact shingle sets, CSR."""
    n = len(indptr) - 1
    data = hashes.copy()
    counts = np.zeros(n + 1, np.int64)
    for i in prange(n):
        seg = data[indptr[i]:indptr[i + 1]]
        seg.sort()
        m = 0
        for j in range(len(seg)):
            if j == 0 or seg[j] != seg[j - 1]:
                seg[m] = seg[j]
                m += 1
        counts[i + 1] = m
    out_indptr = np.cumsum(counts)
    out = np.empty(out_indptr[n], np.uint64)
    for i in prange(n):
        m = out_indptr[i + 1] - out_indptr[i]
        out[out_indptr[i]:out_indptr[i + 1]] = data[indptr[i]:indptr[i] + m]
    return out, out_indptr


@njit(inline="always")
def next_match(values, p, pe, q, qe):
    """The first positions ``p' >= p``, ``q' >= q`` with ``values[p'] == values[q']`` in two sorted, unique
    runs ``values[p:pe]`` and ``values[q:qe]``, or ``(pe, qe)`` when there is none: one step of the merge that
    intersects sorted sets (shingle sets, a document's anchors, a TF-IDF row's columns). Inlined into
    its callers, also those of ``stories_kernels``, whose numba cache only watches its own file: a change
    here needs that file touched during development (an install writes both anew)."""
    while p < pe and q < qe:
        x, y = values[p], values[q]
        if x == y:
            return p, q
        if x < y:
            p += 1
        else:
            q += 1
    return pe, qe


@njit(parallel=True, cache=True)
def intersection_sizes(data, indptr, left, right):
    """|S_left[i] ∩ S_right[i]| for sorted unique CSR sets, by merging."""
    out = np.zeros(len(left), np.int64)
    for t in prange(len(left)):
        ie, je = indptr[left[t] + 1], indptr[right[t] + 1]
        i, j = next_match(data, indptr[left[t]], ie, indptr[right[t]], je)
        c = 0
        while i < ie:
            c += 1
            i, j = next_match(data, i + 1, ie, j + 1, je)
        out[t] = c
    return out


_BY_WIDTH = {1: _shingle_ucs1, 2: _shingle_ucs2, 4: _shingle_ucs4}
