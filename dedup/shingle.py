"""Shingles and their 64-bit hashes.

Definition (the compiled kernel and the pure-Python reference below agree bit
for bit, which the tests check):

* units are words -- maximal runs of characters for which ``str.isalnum()`` is
  true, i.e. ``re.findall(r"[^\\W_]+", line)`` -- or, with ``unit="char"``,
  every character of the normalised line;
* a shingle is k consecutive units of one line (paragraph); a line with fewer
  than k units gives one shingle of all of them;
* ``unit_hash(u) = XXH64(utf8(u), seed=0)``;
  ``shingle_hash(u1..un) = fmix64(fold(h -> h*P1 + unit_hash(ui), 0))`` mod 2**64,
  with P1 = 11400714785074694791 (XXH64's first prime) and MurmurHash3's fmix64.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import xxhash

from . import _kernels
from .params import ShingleParams

_P1 = 11400714785074694791
_M64 = (1 << 64) - 1
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Shingles:
    """Shingle hashes of a batch of documents, in text order (CSR layout).

    Document i has ``hashes[indptr[i]:indptr[i+1]]``, found on the lines
    ``lines[indptr[i]:indptr[i+1]]`` of its normalised text.
    """

    hashes: np.ndarray  # uint64
    lines: np.ndarray  # int32
    indptr: np.ndarray  # int64, len = documents + 1

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def of(self, i: int) -> np.ndarray:
        return self.hashes[self.indptr[i]:self.indptr[i + 1]]


@lru_cache(maxsize=1)
def word_table() -> np.ndarray:
    """``table[cp]`` is True when chr(cp) is a word character (``str.isalnum()``)."""
    return np.fromiter((chr(c).isalnum() for c in range(0x110000)), dtype=np.bool_, count=0x110000)


def encode(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of all texts, concatenated, and their offsets."""
    chunks = [t.encode("utf-8", "surrogatepass") for t in texts]
    offsets = np.zeros(len(chunks) + 1, np.int64)
    np.cumsum([len(c) for c in chunks], out=offsets[1:])
    return np.frombuffer(b"".join(chunks), np.uint8), offsets


def shingle(normalized: Sequence[str], params: ShingleParams = ShingleParams()) -> Shingles:
    """Shingle hashes of normalised texts (see the module docstring for the definition)."""
    buf, offsets = encode(normalized)
    hashes, lines, indptr = _kernels.shingle_batch(buf, offsets, word_table(), params.unit == "char", params.k)
    return Shingles(hashes, lines, indptr)


def exact_sets(shingles: Shingles) -> tuple[np.ndarray, np.ndarray]:
    """The sorted, de-duplicated shingle set of every document, as ``(data, indptr)``."""
    return _kernels.sorted_unique_segments(shingles.hashes, shingles.indptr)


# ---- pure-Python reference: the documented definition, used by tests and for interop ----

def units(line: str, params: ShingleParams) -> list[str]:
    return list(line) if params.unit == "char" else _WORD.findall(line)


def shingle_strings(normalized: str, params: ShingleParams = ShingleParams()) -> list[str]:
    """The shingles of a normalised text as strings: words joined by one space, or k characters."""
    join = "".join if params.unit == "char" else " ".join
    out = []
    for line in normalized.split("\n"):
        u = units(line, params)
        if 0 < len(u) < params.k:
            out.append(join(u))
        out.extend(join(u[i:i + params.k]) for i in range(len(u) - params.k + 1))
    return out


def shingle_hash(shingle_text: str | bytes, unit: str = "word") -> int:
    """64-bit hash of one shingle given as text (as made by :func:`shingle_strings`)."""
    if isinstance(shingle_text, bytes):
        shingle_text = shingle_text.decode("utf-8", "surrogatepass")
    h = 0
    for u in (shingle_text if unit == "char" else shingle_text.split(" ")):
        h = (h * _P1 + xxhash.xxh64_intdigest(u.encode("utf-8", "surrogatepass"))) & _M64
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def datasketch_hashfunc(params: ShingleParams = ShingleParams()) -> Callable[[bytes], int]:
    """The ``hashfunc`` that makes ``datasketch.MinHash`` (scheme ``affine32``) reproduce
    dedup's signatures when fed the UTF-8 shingle strings of :func:`shingle_strings`."""
    unit = params.unit

    def hashfunc(b: bytes) -> int:
        return shingle_hash(b, unit) & 0xFFFFFFFF

    return hashfunc
