"""normalize -> shingle -> hash, in batches: signatures and exact sets for a corpus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ._kernels import threads_for
from .minhash import SignatureSpec, signatures
from .params import RepeatParams
from .repeats import drop_mask, find_runs
from .shingle import Shingles, exact_sets, shingle_texts

BATCH = 2048
# Paragraphs with fewer shingles than this (bylines, "Read more") do not propose
# containment candidates: they are shared by unrelated articles of an outlet.
MIN_PARAGRAPH_SHINGLES = 8
# A batch of fewer code points (some 25 articles) is sketched on one thread: see threads_for.
PARALLEL_CHARS = 80_000


@dataclass(frozen=True)
class Sketches:
    """Per document: its signature and exact shingle set; per long paragraph: its signature."""

    spec: SignatureSpec
    signatures: np.ndarray  # (n, num_perm) uint32
    set_data: np.ndarray  # uint64, sorted unique per document
    set_indptr: np.ndarray  # int64, n + 1
    paragraph_signatures: np.ndarray | None = None  # (m, num_perm) uint32
    paragraph_document: np.ndarray | None = None  # (m,) int64: the document of each paragraph
    cleaned: np.ndarray | None = None  # indices of documents whose repeats were removed before hashing

    @property
    def sets(self) -> tuple[np.ndarray, np.ndarray]:
        return self.set_data, self.set_indptr


def paragraph_segments(sh: Shingles, min_shingles: int) -> tuple[np.ndarray, np.ndarray]:
    """Start/end offsets ``[s0, e0, s1, e1, ...]`` of each paragraph's shingles, and its document.

    Shingles come in text order, so each paragraph's shingles are contiguous.
    """
    n = len(sh.hashes)
    doc = np.repeat(np.arange(len(sh), dtype=np.int64), np.diff(sh.indptr))
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    new = np.r_[True, (sh.lines[1:] != sh.lines[:-1]) | (doc[1:] != doc[:-1])]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], n]
    keep = ends - starts >= min_shingles
    starts, ends = starts[keep], ends[keep]
    indptr = np.empty(2 * len(starts), np.int64)
    indptr[0::2], indptr[1::2] = starts, ends
    return indptr, doc[starts]


def without_repeats(sh: Shingles, spec: SignatureSpec, repeats: RepeatParams) -> tuple[Shingles, np.ndarray]:
    """The shingles minus those inside body/paragraph repeats, and which documents lost some."""
    rows, offsets = find_runs(sh, spec.shingle, repeats)
    if len(rows) == 0:
        return sh, np.empty(0, np.int64)
    keep = drop_mask(sh, rows, offsets)
    doc = np.repeat(np.arange(len(sh)), np.diff(sh.indptr))
    cleaned = np.unique(doc[~keep])
    indptr = np.r_[0, np.cumsum(np.bincount(doc[keep], minlength=len(sh)))].astype(np.int64)
    return Shingles(sh.hashes[keep], sh.lines[keep], indptr), cleaned


def sketch(texts: Sequence[str], spec: SignatureSpec, paragraphs: bool = False,
           progress: Callable[[int], None] | None = None, repeats: RepeatParams = RepeatParams()) -> Sketches:
    """Sketch raw texts. With ``paragraphs``, also sign every paragraph long enough to matter.

    With ``spec.clean_repeats`` (word shingles only), a document's repeated body or
    paragraphs are dropped from its shingles first, reusing the same shingle hashes.
    """
    sigs, data, sizes, psigs, pdocs, cleaned = [], [], [np.zeros(1, np.int64)], [], [], []
    for start in range(0, len(texts), BATCH):
        batch = texts[start:start + BATCH]
        with threads_for(sum(map(len, batch)), PARALLEL_CHARS):
            sh = shingle_texts(batch, spec.shingle, spec.normalize)
            if spec.clean_repeats and spec.shingle.unit == "word":
                sh, dropped = without_repeats(sh, spec, repeats)
                cleaned.append(dropped + start)
            sigs.append(signatures(sh.hashes, sh.indptr, spec.minhash))
            d, ip = exact_sets(sh)
            data.append(d)
            sizes.append(np.diff(ip))
            if paragraphs:
                seg, seg_doc = paragraph_segments(sh, MIN_PARAGRAPH_SHINGLES)
                if len(seg):
                    # Odd segments of ``seg`` are the gaps between kept paragraphs: dropped after signing.
                    psigs.append(signatures(sh.hashes, seg, spec.minhash)[0::2])
                    pdocs.append(seg_doc + start)
        if progress:
            progress(len(batch))
    num_perm = spec.minhash.num_perm
    empty_sig = np.empty((0, num_perm), np.uint32)
    return Sketches(
        spec=spec,
        signatures=np.concatenate(sigs) if sigs else empty_sig,
        set_data=np.concatenate(data) if data else np.empty(0, np.uint64),
        set_indptr=np.cumsum(np.concatenate(sizes)),
        paragraph_signatures=(np.concatenate(psigs) if psigs else empty_sig) if paragraphs else None,
        paragraph_document=(np.concatenate(pdocs) if pdocs else np.empty(0, np.int64)) if paragraphs else None,
        cleaned=np.concatenate(cleaned) if cleaned else np.empty(0, np.int64),
    )
