"""Clusters from verified pairs without collecting the edges on one machine.

Connected components by the large-star / small-star iteration (Kiveris et al., "Connected
Components in MapReduce and Beyond", SoCC 2014). Each step is one exchange of edges grouped
by a node, and neither step adds edges:

* large-star, at each node u: link every neighbour larger than u to the smallest of u and
  its neighbours;
* small-star, at each node u: link u and every neighbour smaller than u to the smallest of
  them.

Repeated, the graph becomes a forest of stars, each centred on its component's smallest
document number. That state is detected in the large-star grouping itself: no node has
both a smaller and a larger neighbour, nor two smaller ones. The centre then labels the
component, each verified pair is sent to the task of its component, and that task runs
the local engine's own ``make_clusters`` on whole components: the same union-find, star
mode, representatives and weakest similarities, whatever the partitioning.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..document import Document
from ..params import Config
from ..pipeline import make_clusters
from ..verify import Pairs
from .parts import Job, Part, Table, concat, objects, pair_code, routed

EDGE_COLUMNS = ("i", "j", "id_i", "id_j", "pub_i", "pub_j", "jaccard", "estimated_jaccard",
                "containment_left_in_right", "containment_right_in_left")


def _unique_edges(u: np.ndarray, v: np.ndarray) -> Table:
    code = np.unique(pair_code(u, v))
    return {"u": code >> 32, "v": code & 0xFFFFFFFF}


def _edges(part: Part) -> tuple[np.ndarray, np.ndarray]:
    rows = part.rows
    return (rows["u"], rows["v"]) if "u" in rows else (rows["i"], rows["j"])


def both_ways(part: Part, n_out: int) -> Table:
    """Each edge to the tasks of both its nodes, as (node, neighbour)."""
    u, v = _edges(part)
    x, y = np.concatenate([u, v]), np.concatenate([v, u])
    return routed({"x": x, "y": y}, x % n_out)


def downwards(part: Part, n_out: int) -> Table:
    """Each edge to the task of its larger node, as (node, smaller neighbour)."""
    u, v = _edges(part)
    return routed({"x": v, "y": u}, v % n_out)


def _groups(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arcs sorted by node; the start of each node's run and, per arc, the index of its run."""
    order = np.lexsort((y, x))
    x, y = x[order], y[order]
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]]) if len(x) else np.zeros(0, np.int64)
    run = np.cumsum(np.r_[True, x[1:] != x[:-1]]) - 1 if len(x) else np.zeros(0, np.int64)
    return x, y, starts, run


def large_star(pieces: Sequence[Table]) -> Part:
    t = concat(pieces)
    x, y, starts, run = _groups(t["x"], t["y"])
    if len(x) == 0:
        return Part(_unique_edges(x, y), {"violations": 0})
    smallest = np.minimum(x[starts], np.minimum.reduceat(y, starts))  # of each node and its neighbours
    below = np.add.reduceat((y < x).astype(np.int64), starts)
    above = np.add.reduceat((y > x).astype(np.int64), starts)
    violations = int(np.sum(((below >= 1) & (above >= 1)) | (below >= 2)))
    up = y > x
    return Part(_unique_edges(smallest[run[up]], y[up]), {"violations": violations})


def small_star(pieces: Sequence[Table]) -> Part:
    t = concat(pieces)
    x, y, starts, run = _groups(t["x"], t["y"])
    if len(x) == 0:
        return Part(_unique_edges(x, y), {})
    smallest = y[starts]  # neighbours are sorted within a node: the first is the smallest
    rest = y != smallest[run]
    u = np.concatenate([smallest, smallest[run[rest]]])
    v = np.concatenate([x[starts], y[rest]])
    return Part(_unique_edges(u, v), {})


def stars(job: Job, edges: Sequence, n_out: int) -> list:
    """The star forest of the graph whose edges are in ``edges`` (parts with (i, j) or (u, v) rows)."""
    step = 0
    while True:
        step += 1
        parts = job.map(f"large-star{step}", large_star,
                        job.exchange(f"large-star{step}-move", job.map(f"large-star{step}-route", both_ways, edges,
                                                                       n_out=n_out), n_out))
        if sum(f["violations"] for f in job.facts(f"large-star{step}-check", parts)) == 0:
            return parts
        edges = job.map(f"small-star{step}", small_star,
                        job.exchange(f"small-star{step}-move", job.map(f"small-star{step}-route", downwards, parts,
                                                                       n_out=n_out), n_out))


def node_labels(part: Part, n_out: int) -> Table:
    """(node, component) of every node of a star: the centre labels itself and its leaves."""
    u, v = _edges(part)
    node, label = np.concatenate([v, u]), np.concatenate([u, u])
    return routed({"node": node, "label": label}, node % n_out)


def pairs_to_labels(part: Part, n_out: int) -> Table:
    """Verified pairs to the task holding the label of their smaller node."""
    rows = {name: part.rows[name] for name in EDGE_COLUMNS}
    return routed(rows, rows["i"] % n_out)


def by_component(labels: Sequence[Table], pairs: Sequence[Table], n_out: int) -> Table:
    """Pairs labelled with their component, routed to the task assembling it."""
    lab = concat(labels)
    node, first = np.unique(lab["node"], return_index=True)
    t = {name: column for name, column in concat(pairs).items() if name != "dest"}
    component = lab["label"][first][np.searchsorted(node, t["i"])]
    return routed(t, component % n_out)


def clusters_of(pieces: Sequence[Table], config: Config) -> Part:
    """The clusters of the whole components held here, by the local engine's ``make_clusters``."""
    t = concat(pieces)
    ends = np.concatenate([t["i"], t["j"]])
    nodes, first = np.unique(ends, return_index=True)
    ids = np.concatenate([t["id_i"], t["id_j"]])[first]
    published = np.concatenate([t["pub_i"], t["pub_j"]])[first]
    docs = [Document(d, "", published=p) for d, p in zip(ids.tolist(), published.tolist())]
    pairs = Pairs(np.searchsorted(nodes, t["i"]), np.searchsorted(nodes, t["j"]), t["jaccard"],
                  t["estimated_jaccard"], t["containment_left_in_right"], t["containment_right_in_left"])
    clusters = make_clusters(docs, pairs, config)
    number = dict(zip(ids.tolist(), nodes.tolist()))
    members = [np.array([number[m] for m in c.members], np.int64) for c in clusters]
    rows = {"first": np.array([m[0] for m in members], np.int64),
            "representative": objects([c.representative for c in clusters]),
            "members": objects([c.members for c in clusters]),
            "dropped": objects([m[m != number[c.representative]] for c, m in zip(clusters, members)]),
            "min_similarity": np.array([c.min_similarity for c in clusters], float)}
    return Part(rows, {"clusters": len(clusters), "duplicates": sum(len(c.members) - 1 for c in clusters)})


def clusters(job: Job, verified: Sequence, config: Config, n_out: int) -> list:
    """Cluster parts (rows: first member number, representative, members, dropped numbers, weakest pair)."""
    forest = stars(job, verified, n_out)
    labels = job.exchange("labels-move", job.map("labels", node_labels, forest, n_out=n_out), n_out)
    pairs = job.exchange("labelled-move", job.map("labelled", pairs_to_labels, verified, n_out=n_out), n_out)
    joined = job.map("components-route", by_component, labels, pairs, n_out=n_out)
    return job.map("components", clusters_of, job.exchange("components-move", joined, n_out), config=config)
