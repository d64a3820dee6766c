"""Clustering quality against gold labels: pairwise and B-cubed precision/recall/F1, adjusted Rand index.

Every measure is computed on the ids present in ``gold``. An id of ``gold`` that the
prediction does not mention is a singleton of its own (an unclustered document); ids only
in the prediction are ignored. Labels are compared by equality only (any JSON value).

- pairwise: over pairs of documents, precision = pairs together in both / pairs together in
  the prediction, recall = pairs together in both / pairs together in gold (1.0 when the
  denominator is 0: nothing claimed, or nothing to find);
- B-cubed (Bagga & Baldwin): per document, precision = share of its predicted cluster in its
  gold cluster, recall = share of its gold cluster in its predicted cluster, averaged over
  documents;
- ARI: ``sklearn.metrics.adjusted_rand_score``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Hashable, Mapping

from .errors import InputError


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _key(label: object) -> Hashable:
    """A hashable, type-aware form of a JSON label (1 and "1" differ; lists become tuples)."""
    if isinstance(label, list):
        return ("list", tuple(_key(x) for x in label))
    if isinstance(label, dict):
        return ("dict", tuple(sorted((k, _key(v)) for k, v in label.items())))
    return (type(label).__name__, label)


def evaluate(pred: Mapping[str, object], gold: Mapping[str, object]) -> dict:
    """Scores of ``pred`` (id -> cluster label) against ``gold`` (id -> label); see the module docstring."""
    ids = sorted(gold)
    n = len(ids)
    g = [_key(gold[i]) for i in ids]
    p = [(_key(pred[i]) if i in pred else ("__singleton__", i)) for i in ids]
    gold_sizes, pred_sizes, both = Counter(g), Counter(p), Counter(zip(p, g))

    def pairs(c: Counter) -> int:
        return sum(k * (k - 1) // 2 for k in c.values())

    tp, pred_pairs, gold_pairs = pairs(both), pairs(pred_sizes), pairs(gold_sizes)
    pw_p = tp / pred_pairs if pred_pairs else 1.0
    pw_r = tp / gold_pairs if gold_pairs else 1.0
    if n:
        b3_p = sum(both[(pi, gi)] / pred_sizes[pi] for pi, gi in zip(p, g)) / n
        b3_r = sum(both[(pi, gi)] / gold_sizes[gi] for pi, gi in zip(p, g)) / n
    else:
        b3_p = b3_r = 1.0
    ari = _ari(p, g)
    return {
        "documents": n,
        "gold_clusters": len(gold_sizes),
        "predicted_clusters": len(pred_sizes),
        "missing_in_prediction": sum(1 for i in ids if i not in pred),
        "pairwise_precision": pw_p, "pairwise_recall": pw_r, "pairwise_f1": _f1(pw_p, pw_r),
        "bcubed_precision": b3_p, "bcubed_recall": b3_r, "bcubed_f1": _f1(b3_p, b3_r),
        "ari": ari,
        "true_pairs": tp, "predicted_pairs": pred_pairs, "gold_pairs": gold_pairs,
    }


def _ari(p: list, g: list) -> float:
    from sklearn.metrics import adjusted_rand_score

    if len(p) < 2:
        return 1.0
    codes_p, codes_g = {}, {}
    a = [codes_p.setdefault(x, len(codes_p)) for x in p]
    b = [codes_g.setdefault(x, len(codes_g)) for x in g]
    return float(adjusted_rand_score(b, a))


def read_labels(path: str | Path, id_field: str = "id", label_field: str = "label",
                members_field: str = "members") -> dict[str, object]:
    """id -> label from a JSONL file.

    A record with ``id_field`` gives ``record[id_field] -> record[label_field]``. A record
    without it but with a list in ``members_field`` (a line of stories.jsonl) gives every
    member the record's ``label_field`` value (``read_labels("stories.jsonl",
    label_field="story")``). Blank lines are skipped; an unreadable line, a record with
    neither, a missing label or an id seen twice raises :class:`InputError` naming the line.
    """
    out: dict[str, object] = {}
    where: dict[str, int] = {}
    path = Path(path)
    try:
        f = path.open(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    with f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{number}: invalid JSON: {e.msg} at column {e.colno}") from None
            if not isinstance(rec, dict):
                raise InputError(f"{path}:{number}: expected a JSON object")
            if label_field not in rec:
                raise InputError(f"{path}:{number}: missing field {label_field!r}")
            label = rec[label_field]
            if id_field in rec:
                ids = [rec[id_field]]
            elif isinstance(rec.get(members_field), list):
                ids = rec[members_field]
            else:
                raise InputError(f"{path}:{number}: missing field {id_field!r} (or a {members_field!r} list)")
            for i in ids:
                i = str(i)
                if i in out:
                    raise InputError(f"{path}:{number}: id {i!r} already labelled at line {where[i]}")
                out[i], where[i] = label, number
    return out
