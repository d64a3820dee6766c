"""Why two documents match: the figures and the passages they share.

A shared passage is a maximal run of consecutive shingles of A that occur, in
the same order, in B; it is found greedily from the start of A.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .document import Document
from .minhash import estimate_jaccard
from .params import Config
from .pipeline import spec_of
from .sketch import sketch
from .normalize import normalize
from .shingle import units


@dataclass(frozen=True)
class Passage:
    a_start: int  # unit offsets in the normalised unit sequence of each document
    a_end: int
    b_start: int
    b_end: int
    a_text: str
    b_text: str


@dataclass(frozen=True)
class Explanation:
    a: str
    b: str
    jaccard: float
    estimated_jaccard: float
    containment_a_in_b: float
    containment_b_in_a: float
    shingles_a: int
    shingles_b: int
    shared_shingles: int
    passages: tuple[Passage, ...]

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("a", "b", "jaccard", "estimated_jaccard", "containment_a_in_b",
                                           "containment_b_in_a", "shingles_a", "shingles_b", "shared_shingles")}
        d["passages"] = [{"a": p.a_text, "b": p.b_text, "a_units": [p.a_start, p.a_end],
                          "b_units": [p.b_start, p.b_end]} for p in self.passages]
        return d


def _unit_lines(text: str, config: Config) -> list[list[str]]:
    return [units(line, config.shingle) for line in normalize(text, config.normalize).split("\n")]


def _keyed(lines: list[list[str]], k: int) -> tuple[list[str], list[tuple[str, ...] | None]]:
    """Flat units and, at each position, the shingle starting there (None across a line end)."""
    flat, keys = [], []
    for u in lines:
        for i in range(len(u)):
            keys.append(tuple(u[i:i + k]) if i + k <= len(u) else None)
        flat.extend(u)
    return flat, keys


def shared_passages(text_a: str, text_b: str, config: Config = Config()) -> list[Passage]:
    k = config.shingle.k
    join = "".join if config.shingle.unit == "char" else " ".join
    ua, ka = _keyed(_unit_lines(text_a, config), k)
    ub, kb = _keyed(_unit_lines(text_b, config), k)
    where: dict[tuple[str, ...], int] = {}
    for j, key in enumerate(kb):
        if key is not None:
            where.setdefault(key, j)
    out, i = [], 0
    while i < len(ka):
        j = where.get(ka[i]) if ka[i] is not None else None
        if j is None:
            i += 1
            continue
        n = 1
        while i + n < len(ka) and j + n < len(kb) and ka[i + n] is not None and ka[i + n] == kb[j + n]:
            n += 1
        a_end, b_end = i + n - 1 + k, j + n - 1 + k
        out.append(Passage(i, a_end, j, b_end, join(ua[i:a_end]), join(ub[j:b_end])))
        i = a_end
    return out


def explain(a: Document, b: Document, config: Config = Config()) -> Explanation:
    """Exact and estimated Jaccard, both containments and the shared passages of a and b."""
    sk = sketch([a.text, b.text], spec_of(config))
    sa = sk.set_data[sk.set_indptr[0]:sk.set_indptr[1]]
    sb = sk.set_data[sk.set_indptr[1]:sk.set_indptr[2]]
    inter = len(np.intersect1d(sa, sb, assume_unique=True))
    union = len(sa) + len(sb) - inter
    return Explanation(
        a.id, b.id,
        jaccard=round(inter / union, 6) if union else 0.0,
        estimated_jaccard=round(float(estimate_jaccard(sk.signatures[0], sk.signatures[1])), 6),
        containment_a_in_b=round(inter / len(sa), 6) if len(sa) else 0.0,
        containment_b_in_a=round(inter / len(sb), 6) if len(sb) else 0.0,
        shingles_a=len(sa), shingles_b=len(sb), shared_shingles=inter,
        passages=tuple(shared_passages(a.text, b.text, config)),
    )
