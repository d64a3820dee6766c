"""Story clustering quality of `dedup.stories.find_stories` with DEFAULT parameters.

- news_cluster (383 English articles, 69 events; text = title + blank line + text,
  published = date_publish, source = source_domain, gold = event): B-cubed F1 (target
  >= 0.92), pairwise P/R/F1, ARI; reference: word TF-IDF cosine + average-linkage
  clustering with its best threshold picked after the fact (an upper bound for it).
- meantime (120 Wikinews articles x en/nl/es/it, no dates; gold = doc_id): pairwise
  precision and recall (targets >= 0.9 each).

Run: python benchmarks/stories_bench.py [--data ../shared/data]
Exit 1 when a target is missed; 0 with a message when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from dedup import Document
from dedup.evaluate import evaluate
from dedup.stories import StoryParams, find_stories

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _jsonl(path: Path) -> list[dict] | None:
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def news_cluster(data: Path) -> tuple[list[Document], dict] | None:
    rows = _jsonl(data / "news_cluster" / "news_cluster.jsonl")
    if rows is None:
        return None
    docs, gold = [], {}
    for r in rows:
        title, body = (r.get("title") or "").strip(), r.get("text") or ""
        text = f"{title}\n\n{body}" if title else body
        docs.append(Document(str(r["doc_id"]), text, source=r.get("source_domain"), published=r.get("date_publish"),
                             lang="en"))
        gold[str(r["doc_id"])] = r["event"]
    return docs, gold


def meantime(data: Path) -> tuple[list[Document], dict] | None:
    rows = _jsonl(data / "meantime" / "meantime.jsonl")
    if rows is None:
        return None
    docs, gold = [], {}
    for r in rows:
        i = f"{r['doc_id']}-{r['lang']}"
        docs.append(Document(i, r["text"], lang=r["lang"]))
        gold[i] = str(r["doc_id"])
    return docs, gold


def tfidf_reference(docs: list[Document], gold: dict) -> tuple[float, float]:
    """Best B-cubed F1 (and its threshold) of TF-IDF cosine + average linkage over thresholds."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform([d.text for d in docs]).toarray()
    best = (0.0, 0.0)
    for t in np.arange(0.05, 0.61, 0.025):
        labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                         distance_threshold=1 - t).fit_predict(x)
        pred = {d.id: int(l) for d, l in zip(docs, labels)}
        f = evaluate(pred, gold)["bcubed_f1"]
        if f > best[0]:
            best = (f, float(t))
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--errors", action="store_true", help="print the wrongly split / joined documents")
    args = ap.parse_args(argv)
    params = StoryParams()
    rows: list[tuple[str, str, float, float | None]] = []  # (data set, measure, value, target)
    found_any = False

    nc = news_cluster(args.data)
    if nc is None:
        print(f"news_cluster not found under {args.data}; skipped.")
    else:
        found_any = True
        docs, gold = nc
        t0 = time.perf_counter()
        result = find_stories(docs, params)
        seconds = time.perf_counter() - t0
        m = evaluate(result.labels, gold)
        print(f"news_cluster: {len(docs)} documents, {result.stats['stories']} stories, "
              f"{result.stats['candidates']} candidate pairs, {result.stats['copies']} copy links, {seconds:.1f} s")
        rows += [("news_cluster", "B-cubed F1", m["bcubed_f1"], 0.92),
                 ("news_cluster", "B-cubed precision", m["bcubed_precision"], None),
                 ("news_cluster", "B-cubed recall", m["bcubed_recall"], None),
                 ("news_cluster", "pairwise precision", m["pairwise_precision"], None),
                 ("news_cluster", "pairwise recall", m["pairwise_recall"], None),
                 ("news_cluster", "pairwise F1", m["pairwise_f1"], None),
                 ("news_cluster", "ARI", m["ari"], None)]
        ref, t = tfidf_reference(docs, gold)
        rows.append(("news_cluster", f"reference TF-IDF + average linkage B-cubed F1 (best t={t:.3f})", ref, None))
        if args.errors:
            _errors(result.labels, gold)

    mt = meantime(args.data)
    if mt is None:
        print(f"meantime not found under {args.data}; skipped.")
    else:
        found_any = True
        docs, gold = mt
        t0 = time.perf_counter()
        result = find_stories(docs, params)
        seconds = time.perf_counter() - t0
        m = evaluate(result.labels, gold)
        print(f"meantime: {len(docs)} documents, {result.stats['stories']} stories, "
              f"{result.stats['candidates']} candidate pairs, {seconds:.1f} s")
        rows += [("meantime", "pairwise precision", m["pairwise_precision"], 0.9),
                 ("meantime", "pairwise recall", m["pairwise_recall"], 0.9),
                 ("meantime", "pairwise F1", m["pairwise_f1"], None),
                 ("meantime", "B-cubed F1", m["bcubed_f1"], None),
                 ("meantime", "ARI", m["ari"], None)]
        if args.errors:
            _errors(result.labels, gold)

    if not found_any:
        print("no benchmark data found; nothing measured.")
        return 0
    failed = False
    print(f"\n{'data set':<13} {'measure':<62} {'value':>7} {'target':>7}  result")
    for data, measure, value, target in rows:
        verdict = "" if target is None else ("PASS" if value >= target else "FAIL")
        failed |= verdict == "FAIL"
        print(f"{data:<13} {measure:<62} {value:7.4f} {'' if target is None else f'>={target}':>7}  {verdict}")
    return 1 if failed else 0


def _errors(pred: dict, gold: dict) -> None:
    """Per gold cluster: how it was split; per predicted cluster: which gold clusters it mixes."""
    from collections import defaultdict

    by_gold, by_pred = defaultdict(list), defaultdict(list)
    for i in sorted(gold):
        by_gold[gold[i]].append(pred.get(i))
        by_pred[pred.get(i)].append(gold[i])
    for g, ps in sorted(by_gold.items()):
        if len(set(ps)) > 1:
            print(f"  split  {g}: {sorted(ps)}")
    for p, gs in sorted(by_pred.items(), key=lambda x: str(x[0])):
        if len(set(gs)) > 1:
            print(f"  joined {p}: {sorted(gs)}")


if __name__ == "__main__":
    sys.exit(main())
