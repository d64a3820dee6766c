"""MinHash signatures, bit-compatible with datasketch's ``affine32`` scheme.

For a shingle set S and permutation p, ``sig[p] = min over x in S of
(a[p] * fmix32(x) + b[p]) mod 2**32`` where x is the low 32 bits of the shingle
hash. With a[p] odd the map is a bijection of 32-bit values, so
``P(sig_A[p] == sig_B[p])`` approximates the Jaccard similarity J(A, B); the
fraction of equal positions over ``num_perm`` permutations is an unbiased
estimate with standard error ``sqrt(J(1-J)/num_perm)`` (about 0.044 at J=0.5,
128 permutations). The permutations are the ones datasketch draws
(``numpy.random.RandomState(seed)``), so signatures are the same on every
machine and equal to ``datasketch.MinHash(num_perm, seed, hashfunc=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import _kernels
from .errors import IncompatibleSignatures
from .params import HASH_VERSION, MinHashParams, NormalizeParams, ShingleParams
from .shingle import Shingles

EMPTY = np.uint32(0xFFFFFFFF)


@lru_cache(maxsize=8)
def permutations(params: MinHashParams) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)``, uint32 arrays of ``num_perm`` values, drawn exactly as datasketch 2 draws them."""
    gen = np.random.RandomState(params.seed)
    a = gen.randint(0, 1 << 31, params.num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, params.num_perm, dtype=np.uint32)
    return a, b


def signatures(hashes: np.ndarray, indptr: np.ndarray, params: MinHashParams = MinHashParams()) -> np.ndarray:
    """One signature (row of ``num_perm`` uint32) per segment ``hashes[indptr[i]:indptr[i+1]]``."""
    a, b = permutations(params)
    return _kernels.minhash_segments(hashes, indptr, a, b)


def document_signatures(shingles: Shingles, params: MinHashParams = MinHashParams()) -> np.ndarray:
    return signatures(shingles.hashes, shingles.indptr, params)


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Fraction of equal positions, row by row. Two empty sets estimate 0, not 1."""
    equal = (sig_a == sig_b) & (sig_a != EMPTY)
    return equal.mean(axis=-1)


@dataclass(frozen=True)
class SignatureSpec:
    """Everything that decides a signature; stored beside signatures and compared on use."""

    normalize: NormalizeParams
    shingle: ShingleParams
    minhash: MinHashParams
    clean_repeats: bool = False
    hash_version: int = HASH_VERSION

    def as_dict(self) -> dict:
        return {"hash_version": self.hash_version, "scheme": self.minhash.scheme, "seed": self.minhash.seed,
                "num_perm": self.minhash.num_perm, "unit": self.shingle.unit, "k": self.shingle.k,
                "strip_accents": self.normalize.strip_accents, "clean_repeats": self.clean_repeats}

    def require_same(self, other: "SignatureSpec") -> None:
        """Refuse to compare signatures made with different parameters."""
        mine, theirs = self.as_dict(), other.as_dict()
        diff = [f"{k}: {mine[k]!r} vs {theirs[k]!r}" for k in mine if mine[k] != theirs[k]]
        if diff:
            raise IncompatibleSignatures("signatures were made with different parameters (" + ", ".join(diff) + ")")


def to_datasketch(signature: np.ndarray, params: MinHashParams = MinHashParams()):
    """A ``datasketch.LeanMinHash`` holding this signature (same seed, scheme affine32)."""
    from datasketch import LeanMinHash

    if len(signature) != params.num_perm:
        raise IncompatibleSignatures(f"signature has {len(signature)} values, params say num_perm={params.num_perm}")
    return LeanMinHash(seed=params.seed, hashvalues=np.asarray(signature, np.uint32), scheme=params.scheme)


def from_datasketch(minhash, params: MinHashParams = MinHashParams()) -> np.ndarray:
    """The signature of a datasketch ``MinHash``/``LeanMinHash``; refuses other seeds, sizes or schemes."""
    if (getattr(minhash, "scheme", None), minhash.seed, len(minhash.hashvalues)) != (
            params.scheme, params.seed, params.num_perm):
        raise IncompatibleSignatures(
            f"datasketch MinHash has scheme={getattr(minhash, 'scheme', None)!r}, seed={minhash.seed}, "
            f"num_perm={len(minhash.hashvalues)}; expected scheme={params.scheme!r}, seed={params.seed}, "
            f"num_perm={params.num_perm}")
    return np.asarray(minhash.hashvalues, np.uint32).copy()
