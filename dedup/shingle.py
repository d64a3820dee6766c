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
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import xxhash

from . import _kernels
from .normalize import FOLDED, normalize
from .params import NormalizeParams, ShingleParams

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


@lru_cache(maxsize=1)
def letter_classes() -> np.ndarray:
    """By code point: 0 not a word character, 1 a letter (``str.isalnum()`` but not a decimal digit: the
    regular expression class ``[^\\W\\d_]``), 2 another word character (a decimal digit, ``_``)."""
    classes = word_table().astype(np.uint8)
    alnum = np.flatnonzero(classes)
    classes[alnum[np.fromiter((chr(c).isdecimal() for c in alnum.tolist()), bool, len(alnum))]] = 2
    classes[ord("_")] = 2
    return classes


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as uint32, for the compiled loops that index :func:`letter_classes` (lone
    surrogates kept, one a code point, so positions are the str's)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), "<u4")


FOLD_LIMIT = 0x20000  # no code point at or above this changes under case folding


SEPARATOR = 255  # fold_len marking a character that normalises to no word characters at all


@lru_cache(maxsize=1)
def fold_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`dedup.normalize.normalize` makes of each code point, for word units.

    ``fold_len[cp]`` is 0 (unchanged), ``SEPARATOR`` (it becomes only non-word
    characters: quotes, dashes, NBSP, "…") or the length of its replacement
    ``fold_data[fold_start[cp]:...]``, all word characters (case folding, NFKC:
    "ß" -> "ss", "ﬁ" -> "fi"). ``special[cp]`` marks characters whose result
    depends on their neighbours or mixes word and non-word characters (combining
    marks, Hangul jamo, "½"): a document holding one is normalised in Python.
    Built from this Python's unicodedata, the same database the reference uses.
    """
    is_word = word_table()
    start = np.zeros(FOLD_LIMIT, np.int32)
    length = np.zeros(FOLD_LIMIT, np.uint8)
    special = np.zeros(FOLD_LIMIT, np.bool_)
    data: list[int] = []

    def unsafe(text: str) -> bool:
        return any(unicodedata.category(x)[0] == "M" or 0x1100 <= ord(x) <= 0x11FF or 0x3130 <= ord(x) <= 0x318F
                   for x in text)

    for cp in range(0x80, FOLD_LIMIT):
        c = chr(cp)
        if c in FOLDED:
            length[cp] = SEPARATOR
            continue
        r = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", c).casefold())
        if r == c:
            continue
        if unsafe(c) or unsafe(r):
            special[cp] = True
        elif not any(is_word[ord(x)] for x in r):
            length[cp] = SEPARATOR
        elif all(is_word[ord(x)] for x in r) and len(r) < SEPARATOR:
            start[cp], length[cp] = len(data), len(r)
            data.extend(ord(x) for x in r)
        else:
            special[cp] = True
    for cp in range(0x80, FOLD_LIMIT):  # unchanged characters next to which NFKC may compose
        if length[cp] == 0 and not special[cp] and unsafe(chr(cp)):
            special[cp] = True
    return start, length, np.array(data or [0], np.int32), special


def _kernel(text: str, offsets: np.ndarray, params: ShingleParams, fold: bool):
    start, length, data, special = fold_tables() if fold else _NO_FOLD
    by_char = params.unit == "char"
    scratch_h, scratch_l = _scratch(_kernels.scratch_size(len(text), len(offsets) - 1, by_char))
    return _kernels.shingle_batch(text, offsets, word_table(), by_char, params.k, fold,
                                  start, length, data, special, scratch_h, scratch_l)


class _Scratch(threading.local):
    """The kernel's scratch arrays, kept per thread between batches (see shingle_batch)."""

    hashes = np.empty(0, np.uint64)
    lines = np.empty(0, np.int32)


_SCRATCH = _Scratch()
# Larger scratch (a batch holding a huge document) is used once and not kept.
_KEEP_SCRATCH = 1 << 23


def _scratch(size: int) -> tuple[np.ndarray, np.ndarray]:
    kept = _SCRATCH
    if len(kept.hashes) >= size:
        return kept.hashes, kept.lines
    hashes, lines = np.empty(size, np.uint64), np.empty(size, np.int32)
    if size <= _KEEP_SCRATCH:
        kept.hashes, kept.lines = hashes, lines
    return hashes, lines


_NO_FOLD = (np.zeros(1, np.int32), np.zeros(1, np.uint8), np.zeros(1, np.int32), np.zeros(1, np.bool_))


def join(texts: Sequence[str]) -> tuple[str, np.ndarray]:
    """All texts as one str, and where each starts (in code points): the kernel's input.

    The kernel reads the str's own buffer; joining is a copy at memory speed, where
    encoding to UTF-8 first cost five times as long, on one thread (the GIL), which
    capped what a second core could add."""
    offsets = np.zeros(len(texts) + 1, np.int64)
    np.cumsum([len(t) for t in texts], out=offsets[1:])
    return "".join(texts), offsets


def shingle(normalized: Sequence[str], params: ShingleParams = ShingleParams()) -> Shingles:
    """Shingle hashes of normalised texts (see the module docstring for the definition)."""
    hashes, lines, indptr, _ = _kernel(*join(normalized), params, fold=False)
    return Shingles(hashes, lines, indptr)


def shingle_texts(texts: Sequence[str], params: ShingleParams = ShingleParams(),
                  normalize_params: NormalizeParams = NormalizeParams()) -> Shingles:
    """Shingle hashes of raw texts; equal to ``shingle([normalize(t) for t in texts])``.

    For word shingles the compiled loop folds case itself, so the texts are only
    joined in Python; the rare documents it cannot fold exactly alone (see
    :func:`fold_tables`) go through :func:`normalize` instead. Quote, dash and
    space folding never changes words, so it is skipped on this path.
    """
    if params.unit != "word" or normalize_params.strip_accents:
        return shingle([normalize(t, normalize_params) for t in texts], params)
    hashes, lines, indptr, redo = _kernel(*join(texts), params, fold=True)
    fast = Shingles(hashes, lines, indptr)
    if not redo.any():
        return fast
    again = np.flatnonzero(redo)
    slow = shingle([normalize(texts[i], normalize_params) for i in again.tolist()], params)
    return splice(fast, again, slow)


def splice(base: Shingles, rows: np.ndarray, other: Shingles) -> Shingles:
    """``base`` with the (empty) documents ``rows`` replaced by the documents of ``other``."""
    counts = np.diff(base.indptr)
    counts[rows] = np.diff(other.indptr)
    indptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    hashes = np.empty(indptr[-1], np.uint64)
    lines = np.empty(indptr[-1], np.int32)
    for src, docs in ((base, np.arange(len(base))), (other, rows)):
        n = np.diff(src.indptr)
        doc = np.repeat(docs, n)
        within = np.arange(len(src.hashes)) - np.repeat(src.indptr[:-1], n)
        hashes[indptr[doc] + within] = src.hashes
        lines[indptr[doc] + within] = src.lines
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
