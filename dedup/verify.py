"""Verify candidates on the exact shingle sets: Jaccard and both containments.

For sets A and B: ``J = |A∩B| / |A∪B|``, ``C(A in B) = |A∩B| / |A|``. A pair
is kept when ``J >= threshold``, or, with a containment threshold set, when
either containment reaches it (an agency story inside a longer article).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _kernels
from .minhash import estimate_jaccard
from .params import MatchParams

# Pairs holding fewer set elements than this (some 20 article pairs) are merged on one thread: see
# _kernels.threads_for.
PARALLEL_ELEMENTS = 20_000


@dataclass(frozen=True)
class Pairs:
    """Verified pairs (``left < right`` row indices) with their figures, column-wise."""

    left: np.ndarray
    right: np.ndarray
    jaccard: np.ndarray
    estimated_jaccard: np.ndarray
    containment_left_in_right: np.ndarray
    containment_right_in_left: np.ndarray

    def __len__(self) -> int:
        return len(self.left)

    def similarity(self, match: MatchParams) -> np.ndarray:
        """The score that admits a pair: Jaccard, or the larger containment when that is used."""
        if match.containment is None:
            return self.jaccard
        return np.maximum(self.jaccard, np.maximum(self.containment_left_in_right, self.containment_right_in_left))


def overlap(data: np.ndarray, indptr: np.ndarray, left: np.ndarray, right: np.ndarray):
    """``(|A∩B|, |A|, |B|)`` for each pair of CSR sets."""
    sizes = np.diff(indptr)
    size_l, size_r = sizes[left], sizes[right]
    with _kernels.threads_for(int(size_l.sum() + size_r.sum()), PARALLEL_ELEMENTS):
        return _kernels.intersection_sizes(data, indptr, left, right), size_l, size_r


def verify(pairs: np.ndarray, sets: tuple[np.ndarray, np.ndarray], signatures: np.ndarray,
           match: MatchParams) -> Pairs:
    """Exact figures for candidate ``pairs`` ((m, 2) row indices); only matches are returned."""
    left, right = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    inter, size_l, size_r = overlap(*sets, left, right)
    union = size_l + size_r - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        c_lr = np.where(size_l > 0, inter / np.maximum(size_l, 1), 0.0)
        c_rl = np.where(size_r > 0, inter / np.maximum(size_r, 1), 0.0)
    keep = jac >= match.threshold
    if match.containment is not None:
        keep |= np.maximum(c_lr, c_rl) >= match.containment
    left, right = left[keep], right[keep]
    return Pairs(left, right, jac[keep], estimate_jaccard(signatures[left], signatures[right]),
                 c_lr[keep], c_rl[keep])
