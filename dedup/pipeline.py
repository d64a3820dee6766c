"""The pipeline, top to bottom: read -> normalize -> shingle -> MinHash -> LSH -> verify -> cluster.

Documents are put in id order first, so every later step (and every output)
is independent of input order, process, thread count and PYTHONHASHSEED.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

import numpy as np

from .cluster import cluster_labels
from .document import Document
from .errors import InputError
from .lsh import Candidates, bands_for, candidates, unique_pairs
from .minhash import SignatureSpec
from .normalize import split_lines
from .params import Config, ShingleParams
from .repeats import DocumentRepeats, describe, find_runs
from .shingle import shingle_texts
from .sketch import BATCH, Sketches, sketch
from .verify import Pairs, verify

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Cluster:
    cluster: int
    representative: str
    members: tuple[str, ...]
    min_similarity: float


@dataclass(frozen=True)
class Result:
    """What :func:`find` found. ``pairs`` index into ``documents`` (sorted by id)."""

    config: Config
    documents: list[Document]
    pairs: Pairs
    clusters: list[Cluster]
    candidates: Candidates
    stats: dict = field(default_factory=dict)
    cleaned: tuple[str, ...] = ()  # ids of documents whose repeated body/paragraphs were not hashed

    def kept(self) -> list[Document]:
        """One document per cluster (its representative) plus every unmatched document, by id."""
        drop = {m for c in self.clusters for m in c.members if m != c.representative}
        return [d for d in self.documents if d.id not in drop]


def spec_of(config: Config) -> SignatureSpec:
    clean = config.repeats.clean and config.shingle.unit == "word" and config.level == "article"
    return SignatureSpec(config.normalize, config.shingle, config.minhash, clean_repeats=clean)


def find(documents: Iterable[Document], config: Config = Config(), progress: Progress | None = None) -> Result:
    """Find near-duplicate pairs and clusters among ``documents``."""
    docs = sorted_documents(documents)
    if config.level == "paragraph":
        docs = paragraph_documents(docs)
    sketches = sketch_all(docs, config, progress)
    cands = candidate_pairs(sketches, config)
    pairs = verify(cands.pairs, sketches.sets, sketches.signatures, config.match)
    clusters = make_clusters(docs, pairs, config)
    stats = {
        "documents": len(docs),
        "empty": int(np.sum(np.diff(sketches.set_indptr) == 0)),
        "bands": cands.bands,
        "rows": cands.rows,
        "candidates": len(cands.pairs),
        "oversized_buckets": len(cands.oversized),
        "largest_bucket": max((s for _, s in cands.oversized), default=0),
        "pairs": len(pairs),
        "clusters": len(clusters),
        "duplicates": sum(len(c.members) - 1 for c in clusters),
        "cleaned": len(sketches.cleaned),
    }
    cleaned = tuple(docs[i].id for i in sketches.cleaned.tolist())
    return Result(config, docs, pairs, clusters, cands, stats, cleaned)


def sorted_documents(documents: Iterable[Document]) -> list[Document]:
    docs = sorted(documents, key=lambda d: d.id)
    for a, b in zip(docs, docs[1:]):
        if a.id == b.id:
            raise InputError(f"duplicate id {a.id!r}: ids must be unique")
    return docs


def paragraph_documents(docs: Sequence[Document]) -> list[Document]:
    """Each non-blank line of each document as a document ``ID#N`` (N counts from 1)."""
    out = []
    for d in docs:
        n = 0
        for start, end in split_lines(d.text):
            line = d.text[start:end]
            if line.strip():
                n += 1
                record = {"id": f"{d.id}#{n}", "document": d.id, "paragraph": n, "start": start, "end": end,
                          "text": line}
                out.append(Document(f"{d.id}#{n}", line, None, d.source, d.url, d.published, d.lang, record))
    return sorted(out, key=lambda d: d.id)


def sketch_all(docs: Sequence[Document], config: Config, progress: Progress | None = None) -> Sketches:
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress("hashing", done[0], len(docs))

    with_paragraphs = config.match.containment is not None and config.level == "article"
    return sketch([d.text for d in docs], spec_of(config), paragraphs=with_paragraphs, progress=tick,
                  repeats=config.repeats)


def candidate_pairs(sketches: Sketches, config: Config) -> Candidates:
    """Pairs sharing an LSH band; with containment, also pairs sharing a near-identical paragraph."""
    b, r = bands_for(config.match.threshold, config.minhash.num_perm, config.lsh)
    found = candidates(sketches.signatures, b, r, config.lsh.max_bucket)
    if sketches.paragraph_signatures is None or len(sketches.paragraph_signatures) == 0:
        return found
    para = candidates(sketches.paragraph_signatures, b, r, config.lsh.max_bucket)
    doc_pairs = sketches.paragraph_document[para.pairs]
    merged = unique_pairs(np.concatenate([found.pairs, doc_pairs]))
    return Candidates(merged, b, r, found.oversized + para.oversized)


def timestamp(published: str | None) -> float:
    """Seconds since the epoch of an ISO 8601 date (naive means UTC); +inf when absent or unreadable."""
    if not published:
        return float("inf")
    try:
        dt = datetime.fromisoformat(published.strip().replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def representative_rank(docs: Sequence[Document]) -> np.ndarray:
    """Rank of each document as a representative: earliest published first, then smallest id."""
    ts = np.array([timestamp(d.published) for d in docs], dtype=float)
    order = np.lexsort((np.arange(len(docs)), ts))  # docs are in id order already
    rank = np.empty(len(docs), np.int64)
    rank[order] = np.arange(len(docs))
    return rank


def make_clusters(docs: Sequence[Document], pairs: Pairs, config: Config) -> list[Cluster]:
    rank = representative_rank(docs)
    labels = cluster_labels(config.cluster.method, rank, pairs.left, pairs.right)
    sim = pairs.similarity(config.match)
    weakest: dict[int, float] = {}
    for a, b, s in zip(pairs.left.tolist(), pairs.right.tolist(), sim.tolist()):
        if labels[a] == labels[b]:
            weakest[labels[a]] = min(weakest.get(labels[a], 1.0), s)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(i)
    multi = [m for m in groups.values() if len(m) > 1]
    multi.sort(key=lambda m: docs[m[0]].id)
    return [
        Cluster(n, docs[min(m, key=lambda i: rank[i])].id, tuple(docs[i].id for i in m),
                round(weakest.get(int(labels[m[0]]), 1.0), 6))
        for n, m in enumerate(multi, start=1)
    ]


def find_repeats(documents: Iterable[Document], config: Config = Config()) -> list[DocumentRepeats]:
    """Repeated bodies, paragraphs and lines inside each document (word shingles of size k), by id."""
    docs = sorted_documents(documents)
    words = ShingleParams("word", config.shingle.k if config.shingle.unit == "word" else ShingleParams().k)
    out = []
    for start in range(0, len(docs), BATCH):
        batch = docs[start:start + BATCH]
        sh = shingle_texts([d.text for d in batch], words, config.normalize)
        rows, offsets = find_runs(sh, words, config.repeats)
        for i, d in enumerate(batch):
            lines = sh.lines[sh.indptr[i]:sh.indptr[i + 1]]
            out.append(describe(d.id, d.text, lines, rows[offsets[i]:offsets[i + 1]], words.k))
    return out
