"""Output files in id order, written by the client one range at a time.

Each output line is made where its data is, with the local engine's own formatting
(``dedup.report``), then sent to the range of the id order it belongs to, sorted there,
and joined. The client fetches the ranges in order and appends them to the file, so it
never holds more than one range, and a run that fails leaves no half-written file
(temporary file, then rename, as ``dedup.report`` does).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Sequence

import numpy as np
from distributed import Future

from ..document import Document
from ..params import Config, ReadParams
from ..pipeline import Cluster
from ..report import _line, cluster_records, pair_records
from ..verify import Pairs
from .inputs import Block, read_block
from .matching import BlockData, units_of
from .order import range_of
from .parts import Part, Table, concat, objects, routed, take


def line_table(number: np.ndarray, lines: list[str] | np.ndarray, starts: np.ndarray,
           second: np.ndarray | None = None) -> Table:
    """Output lines with their place in the order, routed to their range."""
    table = {"number": number, "second": np.zeros(len(number), np.int64) if second is None else second,
             "line": lines if isinstance(lines, np.ndarray) else objects(lines)}
    return routed(table, range_of(number, starts))


def pair_lines(part: Part, starts: np.ndarray) -> Table:
    """pairs.jsonl lines of verified pairs, by the range of their smaller document."""
    rows = part.rows
    n = len(rows["i"])
    docs = [Document(d, "") for d in rows["id_i"].tolist() + rows["id_j"].tolist()]
    pairs = Pairs(np.arange(n), n + np.arange(n), rows["jaccard"], rows["estimated_jaccard"],
                  rows["containment_left_in_right"], rows["containment_right_in_left"])
    lines = [_line(r) for r in pair_records(SimpleNamespace(documents=docs, pairs=pairs))]
    return line_table(rows["i"], lines, starts, rows["j"])


def cleaned_lines(data: BlockData, numbers: np.ndarray, starts: np.ndarray) -> Table:
    """cleaned.jsonl lines: units whose repeated text was left out before hashing."""
    rows = data.sketches.cleaned
    rows = rows[numbers[rows] >= 0]
    return line_table(numbers[rows], [_line({"id": i}) for i in data.ids[rows].tolist()], starts)


def kept_lines(block: Block, numbers: np.ndarray, read: ReadParams, config: Config, starts: np.ndarray) -> Table:
    """--keep-first lines of every numbered unit, the block read again (texts are not kept in memory)."""
    docs, _, _, _ = read_block(block, read)
    units, _ = units_of(docs, config.level)
    rows = np.flatnonzero(numbers >= 0)
    lines = [_line(dict(units[r].record) if units[r].record else {"id": units[r].id, "text": units[r].text})
             for r in rows.tolist()]
    return line_table(numbers[rows], lines, starts)


def dropped_numbers(part: Part, starts: np.ndarray) -> Table:
    """Cluster members that --keep-first leaves out (all but the representative)."""
    dropped = part.rows["dropped"]
    number = np.concatenate(dropped.tolist()) if len(dropped) else np.zeros(0, np.int64)
    return routed({"number": number.astype(np.int64)}, range_of(number, starts))


def ordered_text(pieces: Sequence[Table], drop: Sequence[Table] = ()) -> str:
    """The lines of one range in order (by number, then second number), without dropped numbers."""
    t = concat(pieces)
    if drop:
        t = take(t, ~np.isin(t["number"], concat(drop)["number"]))
    order = np.lexsort((t["second"], t["number"]))
    return "".join(t["line"][order].tolist())


def route_clusters(part: Part, starts: np.ndarray) -> Table:
    rows = {k: part.rows[k] for k in ("first", "representative", "members", "min_similarity")}
    return routed(rows, range_of(rows["first"], starts))


def sort_clusters(pieces: Sequence[Table]) -> Part:
    """Clusters of a range by their first member; the client numbers them from the counts."""
    t = concat(pieces)
    t = take(t, np.argsort(t["first"], kind="stable"))
    return Part(t, {"clusters": len(t["first"])})


def cluster_text(part: Part, first_number: int) -> str:
    t = part.rows
    found = [Cluster(first_number + k, rep, tuple(members), float(sim)) for k, (rep, members, sim) in
             enumerate(zip(t["representative"].tolist(), t["members"].tolist(), t["min_similarity"].tolist()))]
    return "".join(_line(r) for r in cluster_records(SimpleNamespace(clusters=found)))


def write_texts(texts: Sequence[Future], path: Path | None, stream: IO[str] | None = None) -> None:
    """Write ``texts`` in order to ``path`` (atomically) or ``stream``, fetching one at a time."""
    if path is None:
        for text in texts:
            stream.write(text.result())
            text.release()
        return
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            for text in texts:
                f.write(text.result())
                text.release()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def output_paths(out: str | os.PathLike) -> dict[str, Path]:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    return {"pairs": folder / "pairs.jsonl", "clusters": folder / "clusters.jsonl", "cleaned": folder / "cleaned.jsonl"}
