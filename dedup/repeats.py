"""Repeated text inside one document: a body captured twice, a paragraph or caption pasted again.

Detection works on the shingle sequence the hashing stage already made (text
order, with line numbers), so it costs no second hashing pass:

* runs: shingle j repeats shingle j-d when their hashes are equal. A run is
  seeded at a shingle seen before, follows its diagonal d while shingles match
  (re-aligning by up to 2 positions, so inserted or deleted words do not end
  it) and ends after ``max_gap`` unmatched shingles; it is also grown
  backwards, and the nearest few earlier occurrences are tried as seeds (a
  partial copy in between must not hide a full one). Periodic text (a body
  pasted three times) gives one run whose source is the first period. A run of at least
  ``min_words`` words that does not overlap its source is a ``body`` repeat
  when it covers at least ``body_share`` of the document, else ``paragraph``;
* lines: a whole line whose shingle sequence equals an earlier line's, and
  that is not already inside a run, is a ``line`` repeat (captions, "Read
  more"). Lines never make a document count as repeated on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ._kernels import U64

from .normalize import split_lines
from .params import RepeatParams, ShingleParams
from .shingle import Shingles

KINDS = ("body", "paragraph", "line")
SEEDS = 4  # earlier occurrences tried as the start of a run
MAX_SHIFT = 4  # words a copy may drift by (insertions/deletions) without ending its run
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Repeat:
    start: int  # character offsets in the original text
    end: int
    source_start: int
    source_end: int
    similarity: float
    kind: str

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "source_start": self.source_start,
                "source_end": self.source_end, "similarity": round(self.similarity, 6), "kind": self.kind}


@njit(cache=True)
def _follow(h, j, d, max_gap, max_shift):
    """Follow the diagonal j-d -> j forward, re-aligning by up to max_shift; returns (last, src_last, matched)."""
    last, src_last, matched = j, j - d, 1
    t = j + 1
    n = len(h)
    while t < n and t - last <= max_gap:
        for step in range(2 * max_shift + 1):
            dd = d + (step + 1) // 2 * (1 if step % 2 else -1)
            if 0 < dd <= t and h[t - dd] == h[t]:
                d = dd
                last = t
                src_last = t - dd
                matched += 1
                break
        t += 1
    return last, src_last, matched


@njit(cache=True)
def _previous(h):
    """prev[t]: the last position before t holding the same hash, or -1 (open addressing;
    the hashes are fmix64 outputs, so their low bits index the table well)."""
    n = len(h)
    size = 1
    while size < 2 * n:
        size *= 2
    mask = U64(size - 1)
    keys = np.empty(size, np.uint64)
    where = np.full(size, -1, np.int64)
    prev = np.full(n, -1, np.int64)
    for t in range(n):
        slot = np.int64(h[t] & mask)
        while where[slot] >= 0 and keys[slot] != h[t]:
            slot = (slot + 1) & (size - 1)
        prev[t] = where[slot]
        keys[slot] = h[t]
        where[slot] = t
    return prev


@njit(cache=True)
def _runs_one(h, lines, k, min_words, max_gap, min_sim, body_share, out, w):
    """Repeats of one document's shingles ``h``: rows (start, end, src_start, src_end, matched, kind)."""
    n = len(h)
    if n < 2:
        return w
    prev = _previous(h)
    covered = np.zeros(n, np.bool_)
    j = 0
    while j < n:
        if prev[j] < 0:
            j += 1
            continue
        best_span, bs, bl, bd, bsl, bm = 0, 0, 0, 0, 0, 0
        cand, tries = prev[j], 0
        while cand >= 0 and tries < SEEDS:  # the nearest earlier copy may be a partial one
            d = j - cand
            last, src_last, matched = _follow(h, j, d, max_gap, MAX_SHIFT)
            s = j
            while s - 1 - d >= 0 and not covered[s - 1] and h[s - 1] == h[s - 1 - d]:
                s -= 1
                matched += 1
            if last - s + 1 > best_span:
                best_span, bs, bl, bd, bsl, bm = last - s + 1, s, last, d, src_last, matched
            cand = prev[cand]
            tries += 1
        words = best_span + (k - 1) * (lines[bl] - lines[bs] + 1)
        if words >= min_words and bm >= min_sim * best_span:
            src_start = bs - bd
            src_end = bsl if bsl < bs else bs - 1  # periodic text (A A A): the source is one period
            out[w, 0], out[w, 1], out[w, 2], out[w, 3], out[w, 4] = bs, bl, src_start, src_end, bm
            period = min(best_span, bd)  # a run pasted several times is judged by one copy
            out[w, 5] = 0 if period >= body_share * n else 1
            w += 1
            covered[bs:bl + 1] = True
            j = bl + 1
        else:
            j += 1
    # whole lines equal to an earlier line
    line_start = np.empty(n, np.int64)
    m = 0
    for t in range(n):
        if t == 0 or lines[t] != lines[t - 1]:
            line_start[m] = t
            m += 1
    for a in range(1, m):
        s, e = line_start[a], (line_start[a + 1] if a + 1 < m else n)
        if covered[s]:
            continue
        for b in range(a):
            s2, e2 = line_start[b], line_start[b + 1]
            if e2 - s2 == e - s and np.all(h[s2:e2] == h[s:e]):
                out[w, 0], out[w, 1], out[w, 2], out[w, 3], out[w, 4], out[w, 5] = s, e - 1, s2, e2 - 1, e - s, 2
                w += 1
                break
    return w


@njit(parallel=True, cache=True)
def repeat_runs(hashes, lines, indptr, k, min_words, max_gap, min_sim, body_share):
    """Repeats of every document; returns (rows, per-document CSR offsets). Positions are per document."""
    n = len(indptr) - 1
    scratch = np.empty((max(len(hashes), 1), 6), np.int64)
    counts = np.zeros(n + 1, np.int64)
    for i in prange(n):
        s = indptr[i]
        counts[i + 1] = _runs_one(hashes[s:indptr[i + 1]], lines[s:indptr[i + 1]], k, min_words, max_gap,
                                  min_sim, body_share, scratch, s) - s
    offsets = np.cumsum(counts)
    out = np.empty((offsets[n], 6), np.int64)
    for i in prange(n):
        out[offsets[i]:offsets[i + 1]] = scratch[indptr[i]:indptr[i] + offsets[i + 1] - offsets[i]]
    return out, offsets


def find_runs(sh: Shingles, shingle: ShingleParams, params: RepeatParams = RepeatParams()):
    return repeat_runs(sh.hashes, sh.lines, sh.indptr, shingle.k, params.min_words, params.max_gap,
                       params.min_similarity, params.body_share)


def drop_mask(sh: Shingles, rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """True for every shingle inside a body or paragraph repeat: what cleaning removes before hashing."""
    keep = np.ones(len(sh.hashes), np.bool_)
    for i in np.flatnonzero(np.diff(offsets)):
        base = sh.indptr[i]
        for start, end, *_, kind in rows[offsets[i]:offsets[i + 1]]:
            if kind < 2:
                keep[base + start:base + end + 1] = False
    return keep


# ---- from shingle positions back to characters of the original text ----

def _shingle_chars(text: str, lines: np.ndarray, k: int, positions: list[int]) -> dict[int, tuple[int, int]]:
    """(start, end) in ``text`` of the shingles at ``positions`` (word units, text order)."""
    spans = split_lines(text)
    tokens: dict[int, list[tuple[int, int]]] = {}
    out = {}
    for pos in positions:
        ln = int(lines[pos])
        first = int(np.searchsorted(lines, ln, side="left"))  # the line's first shingle
        if ln not in tokens:
            s, e = spans[ln] if ln < len(spans) else (len(text), len(text))
            tokens[ln] = [(m.start(), m.end()) for m in _WORD.finditer(text, s, e)]
        toks, q = tokens[ln], pos - first
        if q < len(toks):
            out[pos] = (toks[q][0], toks[min(q + k, len(toks)) - 1][1])
        else:  # the original's words disagree with the normalised ones (rare NFKC cases): whole line
            out[pos] = spans[ln] if ln < len(spans) else (len(text), len(text))
    return out


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a span to whole lines when it starts and ends at their words, taking the line break."""
    ls = text.rfind("\n", 0, start) + 1
    if text[ls:start].strip(" \t\"'“„‘«(") == "":
        start = ls
    le = text.find("\n", end)
    le = len(text) if le < 0 else le
    if text[end:le].strip(" \t.,;:!?\"'”“’»)") == "":
        end = le
    return start, end


def to_repeats(text: str, lines: np.ndarray, rows: np.ndarray, k: int) -> list[Repeat]:
    """Character-level repeats of one document from its kernel rows (only called when there are any)."""
    rows = rows.tolist()
    chars = _shingle_chars(text, lines, k, sorted({p for r in rows for p in r[:4]}))
    out = []
    for start, end, src_start, src_end, matched, kind in rows:
        s, e = _widen(text, chars[start][0], chars[end][1])
        ss, se = _widen(text, chars[src_start][0], chars[src_end][1])
        out.append(Repeat(s, e, ss, se, matched / (end - start + 1), KINDS[kind]))
    return sorted(out, key=lambda r: r.start)


def repeated_fraction(text: str, repeats: list[Repeat]) -> float:
    if not text:
        return 0.0
    covered, last = 0, 0
    for r in repeats:
        s = max(r.start, last)
        covered += max(0, r.end - s)
        last = max(last, r.end)
    return covered / len(text)


def clean(text: str, repeats: list[Repeat]) -> str:
    """The text without its repeats (the first occurrence stays), blank lines tidied."""
    parts, last = [], 0
    for r in sorted(repeats, key=lambda r: r.start):
        if r.end > last:  # remove the union of overlapping repeats
            parts.append(text[last:max(r.start, last)])
            last = r.end
    parts.append(text[last:])
    out = "".join(parts)
    out = re.sub(r"[ \t]+\n", "\n", out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


@dataclass(frozen=True)
class DocumentRepeats:
    id: str
    repeated_fraction: float
    repeats: tuple[Repeat, ...]
    cleaned: str

    @property
    def repeated(self) -> bool:
        """True when a body or paragraph repeats; repeated lines alone do not count."""
        return any(r.kind != "line" for r in self.repeats)

    def as_dict(self) -> dict:
        return {"id": self.id, "repeated_fraction": round(self.repeated_fraction, 6),
                "repeats": [r.as_dict() for r in self.repeats]}


def describe(doc_id: str, text: str, lines: np.ndarray, rows: np.ndarray, k: int) -> DocumentRepeats:
    if len(rows) == 0:
        return DocumentRepeats(doc_id, 0.0, (), text)
    reps = to_repeats(text, lines, rows, k)
    return DocumentRepeats(doc_id, repeated_fraction(text, reps), tuple(reps), clean(text, reps))
