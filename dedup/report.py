"""Write results: pairs.jsonl, clusters.jsonl and the kept corpus, deterministically."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import IO, Iterable

from .pipeline import Result


_SURROGATE = re.compile("[\ud800-\udfff]")


def _line(obj: dict) -> str:
    line = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
    if _SURROGATE.search(line):  # a lone "\ud83d" escape read from the input: write it back escaped
        line = json.dumps(obj, ensure_ascii=True, separators=(", ", ": "))
    return line + "\n"


def pair_records(result: Result) -> Iterable[dict]:
    docs, p = result.documents, result.pairs
    for t in range(len(p)):
        yield {
            "a": docs[p.left[t]].id,
            "b": docs[p.right[t]].id,
            "jaccard": round(float(p.jaccard[t]), 6),
            "estimated_jaccard": round(float(p.estimated_jaccard[t]), 6),
            "containment_a_in_b": round(float(p.containment_left_in_right[t]), 6),
            "containment_b_in_a": round(float(p.containment_right_in_left[t]), 6),
        }


def cluster_records(result: Result) -> Iterable[dict]:
    for c in result.clusters:
        yield {"cluster": c.cluster, "representative": c.representative, "members": list(c.members),
               "min_similarity": c.min_similarity}


def write_jsonl(records: Iterable[dict], out: IO[str]) -> int:
    n = 0
    for r in records:
        out.write(_line(r))
        n += 1
    return n


def _atomic_write(path: Path, records: Iterable[dict]) -> int:
    """Write to a temporary file and rename, so a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            n = write_jsonl(records, f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return n


def write_report(result: Result, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``pairs.jsonl`` and ``clusters.jsonl`` into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"pairs": out / "pairs.jsonl", "clusters": out / "clusters.jsonl", "cleaned": out / "cleaned.jsonl"}
    _atomic_write(paths["pairs"], pair_records(result))
    _atomic_write(paths["clusters"], cluster_records(result))
    _atomic_write(paths["cleaned"], ({"id": i} for i in result.cleaned))
    return paths


def write_repeats(found: Iterable, path: str | os.PathLike | None, out: IO[str] | None = None) -> int:
    """One JSON line per document: id, repeated_fraction, repeats."""
    records = (r.as_dict() for r in found)
    return _atomic_write(Path(path), records) if path is not None else write_jsonl(records, out)


def write_cleaned(documents: Iterable, found: Iterable, path: str | os.PathLike, text_field: str = "text") -> int:
    """The corpus with each text replaced by its cleaned text (other fields kept), in id order."""
    cleaned = {r.id: r.cleaned for r in found}
    records = ({**(dict(d.record) if d.record else {"id": d.id}), text_field: cleaned[d.id]}
               for d in sorted(documents, key=lambda d: d.id))
    return _atomic_write(Path(path), records)


def write_kept(result: Result, path: str | os.PathLike) -> int:
    """The corpus with one document per cluster, as JSONL of the original records, in id order."""
    records = (dict(d.record) if d.record else {"id": d.id, "text": d.text} for d in result.kept())
    return _atomic_write(Path(path), records)
