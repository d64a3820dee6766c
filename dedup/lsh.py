"""Locality-sensitive hashing: bands of MinHash rows -> candidate pairs.

A pair with Jaccard similarity s agrees on one band of r rows with probability
s**r, so it becomes a candidate (agrees on at least one of b bands) with
probability ``P(s) = 1 - (1 - s**r)**b``. datasketch picks (b, r) minimising
``w_fp * integral_0^t P + w_fn * integral_t^1 (1 - P)``; that objective does not
bound recall at the threshold (at t=0.8, 128 permutations it picks 9x13 and
finds ~79% of pairs at 0.8). dedup therefore picks, among all b*r <= num_perm
with ``P(t) >= min_recall``, the one with the least false-positive area: every
pair at or above the threshold is found with probability >= min_recall, and the
exact verification that follows removes the false positives.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from .errors import ParameterError
from .minhash import EMPTY
from .params import LSHParams

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)


def candidate_probability(s: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """``1 - (1 - s**rows)**bands``: chance that a pair of similarity s shares a band."""
    return 1.0 - (1.0 - np.asarray(s, dtype=float) ** rows) ** bands


def _integral(lo: float, hi: float, bands: int, rows: int, complement: bool) -> float:
    s = (hi - lo) / 2 * _NODES + (hi + lo) / 2
    p = candidate_probability(s, bands, rows)
    return float((hi - lo) / 2 * np.dot(_WEIGHTS, 1.0 - p if complement else p))


def false_positive_area(threshold: float, bands: int, rows: int) -> float:
    return _integral(0.0, threshold, bands, rows, complement=False)


def false_negative_area(threshold: float, bands: int, rows: int) -> float:
    return _integral(threshold, 1.0, bands, rows, complement=True)


def _shapes(num_perm: int):
    return [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]


def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """datasketch's ``MinHashLSH`` choice of (bands, rows) for these weights (same objective)."""
    best, choice = float("inf"), (0, 0)
    for b, r in _shapes(num_perm):
        err = fp_weight * false_positive_area(threshold, b, r) + fn_weight * false_negative_area(threshold, b, r)
        if err < best:
            best, choice = err, (b, r)
    return choice


@lru_cache(maxsize=64)
def recall_bands(threshold: float, num_perm: int, min_recall: float) -> tuple[int, int]:
    """(bands, rows) with P(threshold) >= min_recall and the least false-positive area."""
    ok = [(false_positive_area(threshold, b, r), b, r) for b, r in _shapes(num_perm)
          if candidate_probability(threshold, b, r) >= min_recall]
    if not ok:
        raise ParameterError(f"min_recall={min_recall!r} is out of reach at threshold={threshold!r} "
                             f"with num_perm={num_perm}: expected a lower min_recall or more permutations")
    _, b, r = min(ok)
    return b, r


def bands_for(threshold: float, num_perm: int, params: LSHParams) -> tuple[int, int]:
    if params.bands:
        return params.bands, params.rows
    return recall_bands(float(threshold), int(num_perm), float(params.min_recall))


def band_key(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """uint64 key of one band of every signature (see :func:`band_keys`)."""
    return band_keys(signatures[:, band * rows:(band + 1) * rows], 1, rows)[:, 0]


KEY_CHUNK = 1 << 14  # documents whose band keys are made at once: about 6 MB of temporaries at 40 x 3


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """uint64 key of every (document, band), shape (n, bands): a hash of the band's rows,
    ``k -> k * 0x9E3779B97F4A7C15 + row`` from 0 (wrapping), then ``k ^ (k >> 29)``.

    All bands at once, ``KEY_CHUNK`` documents at a time: a few numpy calls per chunk
    instead of several per band (a one-article query spent ~0.27 ms on 40 bands' calls),
    and memory beyond the result stays bounded."""
    keys = np.empty((len(signatures), bands), np.uint64)
    for s in range(0, len(signatures), KEY_CHUNK):
        sig = signatures[s:s + KEY_CHUNK, :bands * rows].reshape(-1, bands, rows).astype(np.uint64)
        key = np.zeros(sig.shape[:2], np.uint64)
        for j in range(rows):
            key = key * np.uint64(0x9E3779B97F4A7C15) + sig[:, :, j]
        keys[s:s + KEY_CHUNK] = key ^ (key >> np.uint64(29))
    return keys


@dataclass(frozen=True)
class Candidates:
    """Candidate pairs ``(i, j)``, i < j, unique and sorted, and the buckets that were too big."""

    pairs: np.ndarray  # (m, 2) int64
    bands: int
    rows: int
    oversized: tuple[tuple[int, int], ...]  # (band, bucket size) of each capped bucket


@njit(cache=True)
def _bucket_pairs(order, starts, sizes, max_bucket):
    """All pairs inside each bucket; an oversized bucket links its members to its first one only."""
    total = 0
    for s in sizes:
        total += s * (s - 1) // 2 if s <= max_bucket else s - 1
    out = np.empty((total, 2), np.int64)
    w = 0
    for g in range(len(starts)):
        members = np.sort(order[starts[g]:starts[g] + sizes[g]])
        if sizes[g] <= max_bucket:
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    out[w, 0] = members[x]
                    out[w, 1] = members[y]
                    w += 1
        else:
            for y in range(1, len(members)):
                out[w, 0] = members[0]
                out[w, 1] = members[y]
                w += 1
    return out


def candidates(signatures: np.ndarray, bands: int, rows: int, max_bucket: int) -> Candidates:
    """Pairs of rows of ``signatures`` sharing at least one band. Empty signatures never match."""
    maybe_empty = np.flatnonzero(signatures[:, 0] == EMPTY)  # checked in full only where it could be
    empty = maybe_empty[np.all(signatures[maybe_empty] == EMPTY, axis=1)]
    live = np.setdiff1d(np.arange(len(signatures)), empty)
    found, oversized = [], []
    for band in range(bands):
        key = band_key(signatures, band, rows)[live]  # one band at a time: no copy of all signatures
        pairs, big = band_pairs(key, live, max_bucket)
        found.append(pairs)
        oversized += [(band, s) for s in big]
    return Candidates(unique_pairs(np.concatenate(found) if found else np.empty((0, 2), np.int64)),
                      bands, rows, tuple(oversized))


def band_pairs(key: np.ndarray, member: np.ndarray, max_bucket: int) -> tuple[np.ndarray, list[int]]:
    """Pairs of ``member`` sharing a ``key`` (one band), and the sizes of the buckets over ``max_bucket``."""
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    sizes = np.diff(np.r_[starts, len(k)])
    two = sizes >= 2
    starts, sizes = starts[two], sizes[two]
    # _bucket_pairs sorts each bucket's members: an oversized bucket links to its smallest member
    return _bucket_pairs(member[order], starts, sizes, max_bucket), [int(s) for s in sizes[sizes > max_bucket]]


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Sorted unique rows (i, j) with i < j; self-pairs dropped."""
    if len(pairs) == 0:
        return np.empty((0, 2), np.int64)
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    keep = lo != hi
    code = np.unique(lo[keep].astype(np.int64) << 32 | hi[keep].astype(np.int64))
    return np.stack([code >> 32, code & 0xFFFFFFFF], axis=1)
