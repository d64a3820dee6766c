"""The global id order: each document's number among all ids sorted, with no machine holding every id.

Every output of dedup is in id order, and its tie-breaks use the position in that order
(an oversized LSH bucket links to its smallest member; equal dates fall back to the
id). The local engine sorts a list; here it is a sample sort: each block sends a sorted
sample of its ids, the client picks range boundaries from the samples, ids are exchanged
by range, each range is sorted where it lands, and the count of each range gives where
its numbers start. The numbers then go back to the blocks the ids came from.

Sorting by (id, block, row) also resolves duplicate ids exactly as ``dedup.read`` does:
the first record read (earliest input, block and line) is kept, the others dropped and
reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from distributed import Future

from .parts import Job, Part, Table, concat, routed

SAMPLE = 256  # ids per block sent to the client to choose range boundaries


@dataclass
class Order:
    """Numbers of the rows of each block (-1: not numbered: a dropped duplicate or excluded row)."""

    numbers: list[Future]  # per block: int64 array, one per row
    starts: np.ndarray  # first number of each range: ranges are contiguous slices of the order
    total: int
    duplicates: list[tuple[str, int, int, int, int]]  # (id, kept block, kept row, dropped block, dropped row)


def keys_part(ids: np.ndarray, valid: np.ndarray | None = None, **facts) -> Part:
    """Ids to order (rows where ``valid``); facts: an evenly spaced sorted sample of them, the number of
    rows, and ``facts``."""
    rows = np.arange(len(ids)) if valid is None else np.flatnonzero(valid)
    keys = ids[rows]
    return Part({"id": keys, "row": rows.astype(np.int64)}, {"sample": sample_of(keys.tolist()), "rows": len(ids),
                                                            **facts})


def sample_of(keys: Sequence[str]) -> list[str]:
    """About ``SAMPLE`` of ``keys``, sorted and evenly spaced: what a part tells the client for :func:`boundaries`."""
    ordered = sorted(keys)
    return ordered[::max(1, len(ordered) // SAMPLE)]


def boundaries(samples: Sequence[Sequence[str]], n_ranges: int) -> np.ndarray:
    """``n_ranges - 1`` ids cutting the sorted samples into equal parts (repeats give empty ranges)."""
    merged = sorted(s for sample in samples for s in sample)
    if not merged or n_ranges <= 1:
        return np.array([], dtype=object)
    cut = [merged[(len(merged) * k) // n_ranges] for k in range(1, n_ranges)]
    return np.array(cut, dtype=object)


def route_keys(part: Part, block: int, cuts: np.ndarray) -> Table:
    ids = part.rows["id"]
    dest = np.searchsorted(cuts, ids, side="right") if len(cuts) else np.zeros(len(ids), np.int64)
    return routed({"id": ids, "block": np.full(len(ids), block, np.int32), "row": part.rows["row"]}, dest)


def sort_range(pieces: Sequence[Table]) -> Part:
    """The range's ids in order, first occurrence kept; duplicates listed as facts."""
    t = concat(pieces)
    first = np.lexsort((t["row"], t["block"]))  # earliest record first among equal ids (stable sort below)
    order = first[np.argsort(t["id"][first], kind="stable")]
    ids, block, row = t["id"][order], t["block"][order], t["row"][order]
    repeat = np.zeros(len(ids), bool)
    if len(ids) > 1:
        repeat[1:] = ids[1:] == ids[:-1]
    dups = []
    for k in np.flatnonzero(repeat).tolist():
        j = k - 1
        while repeat[j]:
            j -= 1
        dups.append((ids[k], int(block[j]), int(row[j]), int(block[k]), int(row[k])))
    keep = ~repeat
    return Part({"block": block[keep], "row": row[keep]}, {"count": int(keep.sum()), "duplicates": dups})


def number_range(part: Part, start: int) -> Table:
    t = part.rows
    return routed({"row": t["row"], "number": start + np.arange(len(t["row"]), dtype=np.int64)}, t["block"])


def block_numbers(pieces: Sequence[Table], n_rows: int) -> np.ndarray:
    t = concat(pieces)
    out = np.full(n_rows, -1, np.int64)
    out[t["row"]] = t["number"]
    return out


def assign_order(job: Job, stage: str, keys: Sequence[Future], key_facts: Sequence[dict], n_ranges: int) -> Order:
    """Number the keyed rows of every block by global id order (see the module docstring);
    ``keys`` are parts made by :func:`keys_part`, ``key_facts`` their facts."""
    n_blocks = len(keys)
    if n_blocks == 0:
        return Order([], np.zeros(1, np.int64), 0, [])
    cuts = boundaries([f["sample"] for f in key_facts], n_ranges)
    n_out = len(cuts) + 1
    keyed = job.map(f"{stage}-route", route_keys, keys, list(range(n_blocks)), cuts=cuts)
    ranges = job.map(f"{stage}-sort", sort_range, job.exchange(f"{stage}-move", keyed, n_out))
    facts = job.facts(f"{stage}-count", ranges)
    counts = np.array([f["count"] for f in facts], np.int64)
    starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
    back = job.map(f"{stage}-number", number_range, ranges, starts.tolist())
    numbers = job.map(f"{stage}-back", block_numbers, job.exchange(f"{stage}-return", back, n_blocks),
                      [f["rows"] for f in key_facts])
    dups = [d for f in facts for d in f["duplicates"]]
    return Order(numbers, starts, int(counts.sum()), dups)


def range_of(numbers: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The range (output partition) holding each number."""
    return np.searchsorted(starts, numbers, side="right") - 1
