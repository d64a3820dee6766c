"""A reference for the text->signature benchmark: the "fused, compiled loop over the UTF-8 bytes" that
issue #3 describes (and ../shared/notes/findings.md measured at ~63,000 docs/s), written the plain way.

Texts are UTF-8 encoded and joined in Python; one numba loop over the bytes splits words on ASCII
whitespace only, lower-cases ASCII letters only, hashes each word with XXH64 (dedup's unit hash) and rolls
the word 5-gram hashes as dedup does; dedup's MinHash kernel then makes the signatures. It ignores
punctuation, Unicode case and accents, NFKC, CRLF line ends and paragraph bounds, all of which dedup's kernel
handles: it shows what the design costs without them, on the same machine in the same run. On text of
lower-case ASCII words and single spaces it gives dedup's signatures exactly (bench_speed.py checks), so both
do the same hashing work per word.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dedup._kernels import P1, U64, _push, fmix64, xxh64
from dedup.minhash import signatures
from dedup.params import MinHashParams

BATCH = 2048


@njit(cache=True)
def _whitespace_shingles(buf, offsets, k, out, lines):
    """Rolling word k-gram hashes of each document ``buf[offsets[i]:offsets[i+1]]`` (dedup's ``_push``, which
    also writes a line number to ``lines``); returns their indptr."""
    pk = U64(1)
    for _ in range(k - 1):
        pk *= P1
    indptr = np.zeros(len(offsets), np.int64)
    tok = np.empty(max(1, len(buf)), np.uint8)
    r = 1
    while r < k:
        r *= 2
    ring = np.zeros(r, np.uint64)
    w = 0
    for d in range(len(offsets) - 1):
        h, n, tlen = U64(0), 0, 0
        ring[:] = 0
        for p in range(offsets[d], offsets[d + 1] + 1):
            c = buf[p] if p < offsets[d + 1] else 32
            if c == 32 or c == 10 or c == 9 or c == 13:
                if tlen > 0:
                    h, n, w = _push(xxh64(tok, 0, tlen), h, ring, n, k, pk, 0, out, lines, w)
                    tlen = 0
            else:
                tok[tlen] = c + 32 if 65 <= c <= 90 else c
                tlen += 1
        if 0 < n < k:  # a document of fewer than k words: one shingle of all of them, as dedup
            out[w] = fmix64(h)
            w += 1
        indptr[d + 1] = w
    return indptr


def fused_whitespace_signatures(texts: list[str], k: int, params: MinHashParams) -> np.ndarray:
    """Signatures of ``texts`` through the plain fused loop, in batches of ``BATCH``."""
    out = []
    for s in range(0, len(texts), BATCH):
        raw = [t.encode("utf-8", "surrogatepass") for t in texts[s:s + BATCH]]
        buf = np.frombuffer(b"".join(raw), np.uint8)
        offsets = np.zeros(len(raw) + 1, np.int64)
        np.cumsum([len(x) for x in raw], out=offsets[1:])
        size = len(buf) // 2 + len(raw) + 1  # a word and a space per shingle at least
        hashes = np.empty(size, np.uint64)
        indptr = _whitespace_shingles(buf, offsets, k, hashes, np.empty(size, np.int32))
        out.append(signatures(hashes, indptr, params))
    return np.concatenate(out) if out else np.empty((0, params.num_perm), np.uint32)
