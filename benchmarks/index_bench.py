"""Benchmark of the persistent index (dedup/index.py): add throughput, query latency, bytes on disk.

    python benchmarks/index_bench.py                          # quick: 20,000 generated articles, SQLite
    python benchmarks/index_bench.py --n 100000               # more real articles
    python benchmarks/index_bench.py --full                   # 1,000,000 indexed: 20,000 real + 980,000 synthetic
    python benchmarks/index_bench.py --backend postgres --n 100000   # the same on PostgreSQL
    python benchmarks/index_bench.py --stories --n 5000       # with story placement (the index's default)
    python benchmarks/index_bench.py --stories --n 5000 --workers 2   # story data prepared by 2 processes
    python benchmarks/index_bench.py --agreement              # stories placed on arrival vs `dedup stories`
    python benchmarks/index_bench.py --stories --n 1000000 --dir D --no-assign   # keep a large index, then
    python benchmarks/index_bench.py --stories --dir D --reuse                   # query it from a new process
    python benchmarks/index_bench.py --stories --dir D --reuse --more 15000 --seed 1   # add to it, then query

* **backend**: ``sqlite`` (a file in ``--dir`` or a temporary folder) or ``postgres``: the
  server at ``--url``, else a throwaway one on 127.0.0.1 started as the tests start it
  (tests/test_index_postgres.py), in a fresh schema. Same machine, same client process:
  PostgreSQL figures include the loopback round trips.
* **add**: ``Index.add`` of ``--n`` generated articles (benchmarks/generate.py, ~500 words, 10%
  syndicated copies) in batches of ``--batch`` (one transaction each, durable commits: SQLite
  ``synchronous=FULL``, PostgreSQL ``synchronous_commit=on``), from raw text to committed rows:
  normalise, shingle, MinHash, band keys, candidate lookup, exact verification, pairs and cluster
  labels (and with ``--stories`` anchors, words and story placement). Reported as articles/s; with
  ``--stories`` also the seconds of its parts (:func:`story_timers`): anchor extraction, words and
  language, placement (its SQL reads apart) and storing the story rows. ``--workers N`` has
  ``N`` forked processes prepare each batch's story data (anchors and words), whose time is
  then not in this process's parts.
  Stories are off unless ``--stories`` (the figures then compare with earlier runs).
* **query**: latency of ``Index.query([one article])`` (sketch + band lookups + exact
  verification; nothing added) for ``--queries`` held-out syndicated copies whose original is
  indexed (so every query finds its match); p50/p99 in ms. With ``--stories`` also of
  ``Index.query_stories([one article])``.
* **assign**: latency of ``Index.assign(article)`` for the same held-out copies, after everything
  else (it adds them): one article added and committed (durably) at a time, its cluster and story
  read back, as ``dedup index assign`` does for each line.
* **warm**: ``--warm N`` first queries N other articles (generated with another seed, ids ``warm-...``, none
  of them indexed, each placed in a story with ``--stories``), unmeasured: the figures are then those of a
  process that has been answering queries for a while, as a service does, rather than of one just started,
  whose first queries also read the commonest words' and anchors' frequencies. Each measured query still
  meets articles no query read before (its original and candidates among a million).
* **reuse**: a run with ``--dir`` keeps the index there and writes its held-out copies to ``held.jsonl``
  beside it (``--no-assign``: without adding them by ``assign`` at the end); ``--reuse`` opens that index
  in a new process and measures the queries (and ``assign``) again, adding nothing else: an index of
  1,000,000 articles with stories takes about an hour to build.
* **more**: ``--reuse --more N`` first adds N new generated articles (another seed, ids
  ``more<seed>-...``: give each run its own ``--seed``) to that index and reports their add, with the seconds
  of each batch (a batch that merges the recent band tier, see dedup/index_store.py, stands out): the
  throughput of an index that already holds a million, which the average over its building is not.
* **full**: 1,000,000 articles cannot be generated and added here in reasonable time, so
  ``--full`` adds ``--n`` real articles and then ``--synthetic`` random signatures through
  ``Index.load_signatures``, the documented bulk path (signature + band keys, no exact set, no
  pair search). Queries then walk a bands table of 40M rows, the size 1M real articles give.
* **bytes**: per indexed article, by table with its indexes (SQLite ``dbstat`` after a
  checkpoint; PostgreSQL ``pg_table_size``/``pg_relation_size``): ``docs`` (the 512-byte
  signature, id and metadata) + ``bands`` (band keys), ``sets`` (exact shingle sets, 8 bytes a
  shingle) and, with ``--stories``, the story tables.

* **agreement**: B-cubed F1 against the gold events of news_cluster and meantime
  (``../shared/data``, as benchmarks/stories_bench.py reads them) of the stories the index
  places as articles arrive (in publication order, id order and a shuffled order), beside
  ``dedup stories`` on the whole corpus, with and without its topic model (which the index
  cannot have), and the B-cubed F1 of the index's stories against the batch's.

The generated articles are frozen out of the garbage collector's reach (``gc.freeze()``): the
benchmark holds them all, which an indexing process reading its input in batches does not.
numba's OpenMP workers are made to wait passively (``OMP_WAIT_POLICY=PASSIVE`` unless set):
with active spinning a single-article sketch costs ~250 ms on a loaded 2-core machine instead
of ~0.2 ms. Results go to stdout as JSON (and ``--json FILE``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from generate import generate  # noqa: E402

from dedup import Document  # noqa: E402
from dedup.index import Index  # noqa: E402
from dedup.index_store import TABLES  # noqa: E402

STORY_TABLES = ("story_docs", "apost", "anchor_df", "term_df", "lang_n", "story_links")


def documents(records) -> list[Document]:
    return [Document(r["id"], r["text"], source=r["source"], published=r["published"]) for r in records]


def split(n: int, queries: int, seed: int, words: int):
    """(articles to index, held-out copies whose original is indexed)."""
    records = generate(n + 4 * queries, seed=seed, words=words)
    held = [r for r in records if r["copy_of"] is not None][-queries:]
    held_ids = {r["id"] for r in held}
    indexed = [r for r in records if r["id"] not in held_ids][:n]
    present = {r["id"] for r in indexed}
    held = [r for r in held if r["copy_of"] in present]
    return documents(indexed), documents(held)


def by_table(relations: dict[str, int]) -> dict[str, int]:
    """Bytes per table including its indexes (``docs_pkey``, ``sqlite_autoindex_docs_1``, ``docs_comp`` ...)."""
    out: dict[str, int] = {}
    for name, size in relations.items():
        bare = name.removeprefix("sqlite_autoindex_")
        table = max((t for t in TABLES if bare == t or bare.startswith(t + "_")), key=len, default=name)
        out[table] = out.get(table, 0) + size
    return out


def target_for(args) -> tuple[str, Path | None]:
    """(index target, file to clean up)."""
    if args.backend == "postgres":
        if args.url:
            return args.url, None
        sys.path.insert(0, str(HERE.parent / "tests"))
        import pytest
        from test_index_postgres import postgres_url

        try:
            return postgres_url(), None
        except pytest.skip.Exception as e:
            raise SystemExit(f"error: {e.msg}")
    folder = Path(args.dir or tempfile.mkdtemp(prefix="index_bench_"))
    path = folder / "bench.dedup"
    if args.reuse:
        return str(path), None
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    return str(path), None if args.dir else path


def latencies(call, docs) -> tuple[dict, list]:
    """p50/p99 of ``call([one document])`` over ``docs``, and what each call returned."""
    lat, got = [], []
    for d in docs:
        t = time.perf_counter()
        got.append(call([d])[0])
        lat.append((time.perf_counter() - t) * 1000)
    a = np.array(lat)
    return {"queries": len(lat), "p50_ms": round(float(np.percentile(a, 50)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3), "mean_ms": round(float(a.mean()), 3)}, got


def story_timers(db) -> dict[str, float]:
    """Seconds spent, in this process, on the parts of story placement: ``anchors`` (anchor extraction,
    dedup.anchors), ``prepare`` (anchors + language + words of each article), ``place`` (candidates, frequency
    reads and scoring: StoryIndex._place), ``place_sql`` (its reads of ``db``) and ``add`` (place + writing
    the story tables); by wrapping them."""
    import dedup.index_stories as stories_module
    import dedup.index_story_items as items_module

    spent = {"anchors": 0.0, "prepare": 0.0, "place": 0.0, "place_sql": 0.0, "add": 0.0}
    placing = [False]

    def timed(name, fn, only_placing=False):
        def run(*a, **k):
            if only_placing and not placing[0]:
                return fn(*a, **k)
            placing[0] |= name == "place"
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.perf_counter() - t
                placing[0] &= name != "place"
        return run

    items_module.anchor_set = timed("anchors", items_module.anchor_set)
    items_module.prepare = timed("prepare", items_module.prepare)  # in this process: not with --workers
    cls = stories_module.StoryIndex
    cls._place, cls.add = timed("place", cls._place), timed("add", cls.add)
    db.rows, db.postings = timed("place_sql", db.rows, True), timed("place_sql", db.postings, True)
    return spent


def agreement(data: Path) -> dict:
    """Stories placed on arrival against `dedup stories`, on the labelled sets of benchmarks/stories_bench.py."""
    import random

    import stories_bench
    from dedup.evaluate import evaluate
    from dedup.stories import StoryParams, find_stories

    out: dict = {}
    for name in ("news_cluster", "meantime"):
        got = getattr(stories_bench, name)(data)
        if got is None:
            print(f"{name}: not found under {data}; skipped", file=sys.stderr)
            continue
        docs, gold = got
        batch = find_stories(docs).labels
        row = {"documents": len(docs), "batch": evaluate(batch, gold)["bcubed_f1"],
               "batch_without_topics": evaluate(find_stories(docs, StoryParams(topic_weight=0.0)).labels,
                                                gold)["bcubed_f1"]}
        orders = {"published": sorted(docs, key=lambda d: (d.published or "~", d.id)),
                  "id": sorted(docs, key=lambda d: d.id), "shuffled": random.Random(0).sample(docs, len(docs))}
        for label, order in orders.items():
            with tempfile.TemporaryDirectory() as folder, Index.open(Path(folder) / "ix.dedup") as ix:
                ix.add(order)
                placed = ix.stories.result().labels
            row[f"index_{label}"] = evaluate(placed, gold)["bcubed_f1"]
            row[f"index_{label}_vs_batch"] = evaluate(placed, batch)["bcubed_f1"]
        out[name] = {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}
        print(f"{name}: {out[name]}", file=sys.stderr)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--url", help="PostgreSQL URL (default: a throwaway server, as the tests start it)")
    ap.add_argument("--stories", action="store_true", help="place stories too (the index's default)")
    ap.add_argument("--n", type=int, default=20_000, help="real articles to add (default 20,000)")
    ap.add_argument("--full", action="store_true", help="reach 1,000,000 indexed with synthetic signatures")
    ap.add_argument("--synthetic", type=int, default=None, help="synthetic signatures (default: 1M - n with --full)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1, help="processes preparing story data in add (with --stories)")
    ap.add_argument("--words", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dir", help="where to put the SQLite index (default: a temporary folder)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--reuse", action="store_true", help="query the index an earlier run kept in --dir; no add")
    ap.add_argument("--more", type=int, default=0,
                    help="with --reuse: add this many new articles first (ids more<seed>-..., --seed to vary)")
    ap.add_argument("--warm", type=int, default=0, help="other articles queried first, unmeasured")
    ap.add_argument("--no-assign", action="store_true", help="skip the assign latencies (they add the queries)")
    ap.add_argument("--agreement", action="store_true", help="only compare stories placed on arrival with the batch")
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data"), help="for --agreement")
    args = ap.parse_args(argv)
    if args.agreement:
        out = agreement(Path(args.data))
        print(json.dumps(out, indent=1))
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
        return 0
    synthetic = args.synthetic if args.synthetic is not None else (1_000_000 - args.n if args.full else 0)

    t = time.perf_counter()
    if args.reuse:
        if not args.dir or not (Path(args.dir) / "held.jsonl").exists():
            raise SystemExit("error: --reuse needs --dir holding an earlier run's index and held.jsonl")
        indexed = [Document(f"more{args.seed}-{d.id}", d.text, source=d.source, published=d.published)
                   for d in documents(generate(args.more, seed=args.seed + 2000, words=args.words))]
        held = documents(json.loads(line) for line in (Path(args.dir) / "held.jsonl").open(encoding="utf-8"))
    else:
        indexed, held = split(args.n, args.queries, args.seed, args.words)
        if args.dir:
            Path(args.dir).mkdir(parents=True, exist_ok=True)
            with (Path(args.dir) / "held.jsonl").open("w", encoding="utf-8") as f:
                for d in held:
                    f.write(json.dumps({"id": d.id, "text": d.text, "source": d.source, "published": d.published})
                            + "\n")
    warm_up = [Document(f"warm-{d.id}", d.text, source=d.source, published=d.published)
               for d in documents(generate(args.warm, seed=args.seed + 1000, words=args.words))] if args.warm else []
    # the generated corpus is the benchmark's, not the index's: out of the garbage collector's way, or its
    # full collections walk every Document held (a 112-163 ms pause among the queries at 100,000)
    gc.freeze()
    gen_s = time.perf_counter() - t
    target, cleanup = target_for(args)
    out: dict = {"backend": args.backend, "stories": args.stories, "n_real": len(indexed), "synthetic": synthetic,
                 "batch": args.batch, "workers": args.workers, "warm": args.warm, "words": args.words,
                 "generate_s": round(gen_s, 2), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "cpu_count": os.cpu_count()}
    with Index.open(target, stories=args.stories) as ix:
        out["target"] = ix.where
        warm = [Document("warm-up", "Load the compiled kernels and the word lists of Amsterdam on 12 March.")]
        ix.query(warm)
        if args.stories:
            ix.query_stories(warm)
        spent = story_timers(ix.db) if args.stories else {}
        t, cpu = time.perf_counter(), time.process_time()
        commits: list[float] = []
        report = ix.add(indexed, batch_size=args.batch, workers=args.workers,
                        on_commit=lambda _: commits.append(time.perf_counter()))
        add_s, add_cpu = time.perf_counter() - t, time.process_time() - cpu
        out["add"] = {"seconds": round(add_s, 2), "articles_per_s": round(len(indexed) / max(add_s, 1e-9)),
                      "cpu_seconds": round(add_cpu, 2), "pairs": report.pairs, "batches": report.batches,
                      "batch_seconds": [round(b - a, 2) for a, b in zip([t] + commits, commits)]}
        n_real = ix.stats()["documents"] if args.reuse else len(indexed)  # generated articles, all of them
        if args.stories and not args.reuse:  # seconds: anchors within prepare, place within add; store = add - place
            parts = {"anchors": spent["anchors"], "words_and_language": spent["prepare"] - spent["anchors"],
                     "place_compute": spent["place"] - spent["place_sql"], "place_sql_reads": spent["place_sql"],
                     "store_sql_writes": spent["add"] - spent["place"]}
            if args.workers > 1:  # done in the worker processes, not timed here
                del parts["anchors"], parts["words_and_language"]
            out["add"]["stories_s"] = {k: round(v, 2) for k, v in parts.items()}
            print(f"stories in add: {out['add']['stories_s']} s", file=sys.stderr)
        if indexed:
            print(f"add ({args.backend}{', stories' if args.stories else ''}): {len(indexed):,} articles in "
                  f"{add_s:.1f} s = {len(indexed) / add_s:,.0f}/s wall ({add_cpu:.1f} s CPU in this process, all "
                  f"threads; {report.pairs:,} pairs)", file=sys.stderr)
            if args.reuse:
                print(f"added to {n_real - len(indexed):,} indexed; seconds per batch: "
                      + " ".join(map(str, out["add"]["batch_seconds"])), file=sys.stderr)
        else:  # --reuse without --more: nothing added
            out["add"] = None
        if synthetic:
            rng = np.random.default_rng(args.seed + 1)
            t = time.perf_counter()
            for start in range(0, synthetic, 100_000):
                m = min(100_000, synthetic - start)
                sigs = rng.integers(0, 2**32 - 1, (m, ix.num_perm), dtype=np.uint32)
                ix.load_signatures([f"syn{start + i:08d}" for i in range(m)], sigs)
                print(f"bulk: {start + m:,} synthetic signatures", file=sys.stderr)
            out["bulk_load_s"] = round(time.perf_counter() - t, 1)
        ix.db.checkpoint()
        if args.backend == "postgres":
            ix.db.rows("VACUUM (ANALYZE)")  # the steady state autovacuum reaches: index-only band scans
        total = ix.stats()["documents"]
        if warm_up:
            t = time.perf_counter()
            for d in warm_up:
                (ix.query_stories if args.stories else ix.query)([d])
            out["warm_up"] = {"queries": len(warm_up), "seconds": round(time.perf_counter() - t, 2)}
            print(f"warm-up: {len(warm_up)} other articles queried first", file=sys.stderr)
        out["query"], found = latencies(ix.query, held)
        hits = sum(bool(m) for m in found)
        out["query"].update(indexed=total, found_match=hits)
        print(f"query: {len(held)} single-article queries against {total:,}: p50 {out['query']['p50_ms']} ms, "
              f"p99 {out['query']['p99_ms']} ms, {hits} found their original", file=sys.stderr)
        if args.stories:
            out["query_stories"], guesses = latencies(ix.query_stories, held)
            out["query_stories"]["would_join_a_story"] = sum(g.story is not None for g in guesses)
            print(f"query_stories: p50 {out['query_stories']['p50_ms']} ms, p99 {out['query_stories']['p99_ms']} ms",
                  file=sys.stderr)
        tables = by_table(ix.table_bytes())
        per = {t: round(b / total) for t, b in sorted(tables.items())}
        out["bytes"] = {
            "relations": ix.table_bytes(),
            "tables_with_indexes": tables,
            "size_bytes": ix.stats()["file_bytes"],
            "per_article_signature_and_bands": round(sum(tables.get(t, 0) for t in ("docs", "bands", "bands_recent"))
                                                     / total),  # band rows: in either tier
            "per_article_by_table": per,
            "per_real_article_sets": round(tables.get("sets", 0) / max(1, n_real)),
            "per_real_article_stories": round(sum(tables.get(t, 0) for t in STORY_TABLES) / max(1, n_real)),
            "per_article_total": round(ix.stats()["file_bytes"] / total),
        }
        print(f"bytes per article: signature+bands {out['bytes']['per_article_signature_and_bands']} "
              f"(by table with indexes: {per}), exact sets {out['bytes']['per_real_article_sets']} and "
              f"stories {out['bytes']['per_real_article_stories']} per real article, "
              f"total {out['bytes']['per_article_total']}", file=sys.stderr)
        if not args.no_assign:  # last, as it adds: what `dedup index assign` does with each arriving article
            out["assign"], _ = latencies(lambda docs: [ix.assign(docs[0])], held)
            print(f"assign: {len(held)} single-article adds (one durable commit each): p50 {out['assign']['p50_ms']} "
                  f"ms, p99 {out['assign']['p99_ms']} ms", file=sys.stderr)
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    if cleanup is not None:
        for p in (cleanup, Path(f"{cleanup}-wal"), Path(f"{cleanup}-shm")):
            p.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
