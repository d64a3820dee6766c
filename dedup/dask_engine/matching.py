"""Hash where the documents are read, group LSH band keys across blocks, verify where the sets live.

* ``sketch_block``: read one block and run the same compiled path as the local engine
  (``dedup.sketch.sketch``: shingles, repeat cleaning, MinHash, exact sets); only ids,
  dates, signatures and sets are kept, never the texts.
* ``band_keys`` -> ``bucket_pairs``: every (band, key, document) is sent to the task
  owning that key, which forms buckets with ``dedup.lsh.band_pairs``. Members are ranked
  by (document number, paragraph number), the order in which the local engine numbers
  them, so an oversized bucket links to the same smallest member.
* ``serve_sets`` -> ``verify_block``: a candidate pair (i, j), i < j, goes to the block
  holding j, which sends it on with j's set and signature to the block holding i, which
  runs ``dedup.verify.verify``: the same arithmetic, so the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..document import Document, Problem
from ..errors import InputError
from ..lsh import band_key, band_pairs
from ..minhash import EMPTY
from ..params import Config, MatchParams, ReadParams
from ..pipeline import paragraph_documents, spec_of
from ..sketch import Sketches, sketch
from ..verify import verify
from .inputs import Block, read_block
from .order import keys_part
from .parts import Part, Sized, Table, concat, objects, one_thread, pair_code, routed, take

# A member of a bucket is (document number, paragraph number) as one integer, so that the smallest
# member is the smallest integer. A text of at most 1,000,000 characters (--max-chars) has far fewer
# than 2**20 paragraphs of 8 or more shingles, and document numbers stay below 2**31 (pair_code).
RANK_BITS = 20


@dataclass
class BlockData(Sized):
    """One block after reading and hashing. Units are documents, or paragraphs with --level paragraph."""

    ids: np.ndarray  # object: unit ids
    published: np.ndarray  # object: unit dates (str or None)
    unit_doc: np.ndarray  # int64: row of each unit's document
    doc_ids: np.ndarray  # object: document ids (duplicates are found on these)
    doc_wheres: np.ndarray  # object: where each document was read
    sketches: Sketches
    problems: list[Problem]
    lines: int


def units_of(docs: Sequence[Document], level: str) -> tuple[list[Document], np.ndarray]:
    """The units to compare and the row of the document each comes from."""
    if level != "paragraph":
        return list(docs), np.arange(len(docs), dtype=np.int64)
    units, owner = [], []
    for row, d in enumerate(docs):
        paragraphs = paragraph_documents([d])
        units += paragraphs
        owner += [row] * len(paragraphs)
    return units, np.array(owner, np.int64)


def sketch_block(block: Block, read: ReadParams, config: Config) -> BlockData:
    """Read and hash one block; the texts are dropped here (``kept_lines`` reads a block again)."""
    one_thread()
    docs, wheres, problems, lines = read_block(block, read)
    units, unit_doc = units_of(docs, config.level)
    with_paragraphs = config.match.containment is not None and config.level == "article"
    sk = sketch([u.text for u in units], spec_of(config), paragraphs=with_paragraphs, repeats=config.repeats)
    return BlockData(np.array([u.id for u in units], dtype=object), np.array([u.published for u in units], object),
                     unit_doc, np.array([d.id for d in docs], dtype=object), np.array(wheres, dtype=object), sk,
                     problems, lines)


def doc_keys(data: BlockData) -> Part:
    """The document ids to order, and what the client needs to know of the block (as facts)."""
    return keys_part(data.doc_ids, lines=data.lines, problems=data.problems)


def unit_keys(data: BlockData, doc_numbers: np.ndarray) -> Part:
    """The paragraph ids to order: those of documents kept by the document order."""
    return keys_part(data.ids, doc_numbers[data.unit_doc] >= 0)


def wheres_of(data: BlockData, rows: list[int]) -> list[str]:
    return [data.doc_wheres[r] for r in rows]


def unit_facts(data: BlockData, numbers: np.ndarray) -> dict:
    """Figures of the summary: numbered units with no shingles, and those cleaned of repeats."""
    sizes = np.diff(data.sketches.set_indptr)
    cleaned = data.sketches.cleaned
    return {"empty": int(np.sum((sizes == 0) & (numbers >= 0))), "cleaned": int(np.sum(numbers[cleaned] >= 0))}


def _live(signatures: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` whose signature is not empty: empty texts match nothing (as in ``dedup.lsh.candidates``)."""
    sig = signatures[rows]
    maybe = np.flatnonzero(sig[:, 0] == EMPTY)
    empty = maybe[np.all(sig[maybe] == EMPTY, axis=1)]
    return np.delete(rows, empty)


def band_keys(data: BlockData, numbers: np.ndarray, block: int, bands: int, rows: int, n_out: int) -> Table:
    """(band, key, member) of every live unit and band, routed to the task owning the key: 18 bytes
    a row (22 with paragraphs), the bulk of what the engine moves between machines.

    Paragraph signatures use bands ``bands..2*bands-1``: their buckets never mix with documents'.
    """
    one_thread()
    sk = data.sketches
    live = _live(sk.signatures, np.flatnonzero(numbers >= 0))
    parts = [(sk.signatures[live], numbers[live], np.zeros(len(live), np.uint32), 0)]
    with_paragraphs = sk.paragraph_signatures is not None
    if with_paragraphs and len(sk.paragraph_signatures):
        owner = sk.paragraph_document
        rank = (np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")).astype(np.uint32)  # in its unit
        if rank.max() >= 2**RANK_BITS:
            raise InputError(f"a text has more than {2**RANK_BITS:,} paragraphs, too many for --engine dask with "
                             "--containment: lower --max-chars")
        keep = _live(sk.paragraph_signatures, np.flatnonzero(numbers[owner] >= 0))
        parts.append((sk.paragraph_signatures[keep], numbers[owner[keep]], rank[keep], bands))
    columns: dict[str, list[np.ndarray]] = {"band": [], "key": [], "doc": [], "rank": []}
    for sigs, doc, rank, first_band in parts:
        for band in range(bands):
            columns["band"].append(np.full(len(doc), first_band + band, np.uint16))
            columns["key"].append(band_key(sigs, band, rows))
            columns["doc"].append(doc.astype(np.uint32))  # numbers are below 2**31 (checked by the engine)
            columns["rank"].append(rank)
    table = {name: np.concatenate(c) for name, c in columns.items()}
    if not with_paragraphs:
        del table["rank"]  # always 0
    table["block"] = np.full(len(table["doc"]), block, np.uint32)
    mixed = table["key"] ^ (table["band"].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    return routed(table, (mixed % np.uint64(n_out)).astype(np.int64))


def bucket_pairs(pieces: Sequence[Table], max_bucket: int) -> Part:
    """Candidate pairs of the buckets owned here, routed to the block holding their larger document;
    the sizes of the oversized buckets as a fact."""
    one_thread()
    t = concat(pieces)
    member = t["doc"].astype(np.int64) << RANK_BITS
    if "rank" in t:
        member |= t["rank"].astype(np.int64)
    order = np.argsort(t["band"], kind="stable")
    band, key, member_by_band = t["band"][order], t["key"][order], member[order]
    starts = np.flatnonzero(np.r_[True, band[1:] != band[:-1]]) if len(band) else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], len(band)].astype(np.int64)
    found, oversized = [], []
    for s, e in zip(starts.tolist(), ends.tolist()):
        pairs, big = band_pairs(key[s:e], member_by_band[s:e], max_bucket)
        found.append(pairs)
        oversized += big
    pairs = np.concatenate(found) if found else np.empty((0, 2), np.int64)
    doc_a, doc_b = pairs[:, 0] >> RANK_BITS, pairs[:, 1] >> RANK_BITS
    keep = doc_a != doc_b  # two paragraphs of one document
    pairs, doc_a, doc_b = pairs[keep], doc_a[keep], doc_b[keep]
    swap = doc_a > doc_b
    i, j = np.where(swap, doc_b, doc_a), np.where(swap, doc_a, doc_b)
    _, first = np.unique(pair_code(i, j), return_index=True)  # the same pair from several bands
    near = np.where(swap, pairs[:, 1], pairs[:, 0])[first]
    far = np.where(swap, pairs[:, 0], pairs[:, 1])[first]
    members, where = np.unique(member, return_index=True)
    block = t["block"][where].astype(np.int64)
    out = {"i": i[first], "j": j[first], "block_i": block[np.searchsorted(members, near)]}
    return Part(routed(out, block[np.searchsorted(members, far)]), {"oversized": oversized})


def _csr_rows(data: np.ndarray, indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sets of ``rows`` of a CSR collection: (concatenated values, lengths)."""
    lengths = indptr[rows + 1] - indptr[rows]
    if lengths.sum() == 0:
        return data[:0], lengths
    begin = np.repeat(indptr[rows] - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
    return data[begin + np.arange(lengths.sum())], lengths


def _rows_of(numbers: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Row of each wanted number in a block (every wanted number is in the block)."""
    order = np.argsort(numbers)
    return order[np.searchsorted(numbers, wanted, sorter=order)]


def serve_sets(data: BlockData, numbers: np.ndarray, pieces: Sequence[Table]) -> Table:
    """Each candidate pair (i, j) held here (j is here) with j's set, signature, id and date,
    routed to the block holding i."""
    t = concat(pieces)
    _, first = np.unique(pair_code(t["i"], t["j"]), return_index=True)  # pairs from several buckets
    t = take(t, first)
    sk = data.sketches
    rows = _rows_of(numbers, t["j"])
    values, lengths = _csr_rows(sk.set_data, sk.set_indptr, rows)
    sets = objects(np.split(values, np.cumsum(lengths)[:-1]) if len(rows) else [])
    return routed({"i": t["i"], "j": t["j"], "set": sets, "sig": sk.signatures[rows], "id": data.ids[rows],
                   "published": data.published[rows]}, t["block_i"])


def verify_block(data: BlockData, numbers: np.ndarray, pieces: Sequence[Table], match: MatchParams) -> Part:
    """Verified pairs whose smaller document is here: the rows of pairs.jsonl and the graph's edges."""
    one_thread()
    sk = data.sketches
    t = concat(pieces)
    i, far = t["i"], t["set"]
    own = _rows_of(numbers, np.unique(i))
    own_values, own_lengths = _csr_rows(sk.set_data, sk.set_indptr, own)
    far_lengths = np.array([len(s) for s in far.tolist()], np.int64)
    lengths = np.concatenate([own_lengths, far_lengths])
    values = np.concatenate([own_values] + far.tolist())
    indptr = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    sigs = np.concatenate([sk.signatures[own], t["sig"]])
    left = np.searchsorted(numbers[own], i)  # numbers[own] is sorted: own comes from np.unique(i)
    right = len(own) + np.arange(len(i))
    found = verify(np.stack([left, right], axis=1), (values, indptr), sigs, match)
    near, other = found.left, found.right - len(own)
    rows = {"i": numbers[own][near], "j": t["j"][other], "id_i": data.ids[own][near], "id_j": t["id"][other],
            "pub_i": data.published[own][near], "pub_j": t["published"][other],
            "jaccard": found.jaccard, "estimated_jaccard": found.estimated_jaccard,
            "containment_left_in_right": found.containment_left_in_right,
            "containment_right_in_left": found.containment_right_in_left}
    return Part(rows, {"candidates": len(i), "edges": len(found)})
