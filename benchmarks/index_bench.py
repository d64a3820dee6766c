"""Benchmark of the persistent index (dedup/index.py): add throughput, query latency, bytes on disk.

    python benchmarks/index_bench.py                 # quick: 20,000 generated articles
    python benchmarks/index_bench.py --n 100000      # more real articles
    python benchmarks/index_bench.py --full          # 1,000,000 indexed: 20,000 real + 980,000 synthetic

* **add**: ``Index.add`` of ``--n`` generated articles (benchmarks/generate.py, ~500 words, 10%
  syndicated copies) in batches of ``--batch`` (one transaction each, synchronous=FULL), from
  raw text to committed rows: normalise, shingle, MinHash, band keys, candidate lookup, exact
  verification, pairs and cluster labels. Reported as articles/s.
* **query**: latency of ``Index.query([one article])`` (sketch + band lookups + exact
  verification; nothing added) for ``--queries`` held-out syndicated copies whose original is
  indexed (so every query finds its match); p50/p99 in ms.
* **full**: 1,000,000 articles cannot be generated and added here in reasonable time, so
  ``--full`` adds ``--n`` real articles and then ``--synthetic`` random signatures through
  ``Index.load_signatures``, the documented bulk path (signature + band keys, no exact set, no
  pair search). Queries then walk a bands table of 40M rows, the size 1M real articles give.
* **bytes**: pages per table from SQLite's ``dbstat`` after a checkpoint, per indexed article:
  ``docs`` (the 512-byte signature + id and metadata) + ``bands`` (band keys; its primary key
  is the (band, key) index) versus ``sets`` (exact shingle sets, 8 bytes a shingle).

numba's OpenMP workers are made to wait passively (``OMP_WAIT_POLICY=PASSIVE`` unless set):
with active spinning a single-article sketch costs ~250 ms on a loaded 2-core machine instead
of ~0.2 ms. Results go to stdout as JSON (and ``--json FILE``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generate import generate  # noqa: E402

from dedup import Document  # noqa: E402
from dedup.index import Index  # noqa: E402


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="real articles to add (default 20,000)")
    ap.add_argument("--full", action="store_true", help="reach 1,000,000 indexed with synthetic signatures")
    ap.add_argument("--synthetic", type=int, default=None, help="synthetic signatures (default: 1M - n with --full)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--words", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dir", help="where to put the index (default: a temporary folder)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    synthetic = args.synthetic if args.synthetic is not None else (1_000_000 - args.n if args.full else 0)

    t = time.perf_counter()
    indexed, held = split(args.n, args.queries, args.seed, args.words)
    gen_s = time.perf_counter() - t
    folder = Path(args.dir or tempfile.mkdtemp(prefix="index_bench_"))
    path = folder / "bench.dedup"
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    out: dict = {"n_real": len(indexed), "synthetic": synthetic, "batch": args.batch, "words": args.words,
                 "generate_s": round(gen_s, 2), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                 "cpu_count": os.cpu_count(), "path": str(path)}
    with Index.open(path) as ix:
        ix.query([Document("warm-up", "load the compiled kernels first")])
        t, cpu = time.perf_counter(), time.process_time()
        report = ix.add(indexed, batch_size=args.batch)
        add_s, add_cpu = time.perf_counter() - t, time.process_time() - cpu
        out["add"] = {"seconds": round(add_s, 2), "articles_per_s": round(len(indexed) / add_s),
                      "cpu_seconds": round(add_cpu, 2), "pairs": report.pairs, "batches": report.batches}
        print(f"add: {len(indexed):,} articles in {add_s:.1f} s = {len(indexed) / add_s:,.0f}/s wall "
              f"({add_cpu:.1f} s CPU, all threads; {report.pairs:,} pairs)", file=sys.stderr)
        if synthetic:
            rng = np.random.default_rng(args.seed + 1)
            t = time.perf_counter()
            for start in range(0, synthetic, 100_000):
                m = min(100_000, synthetic - start)
                sigs = rng.integers(0, 2**32 - 1, (m, ix.num_perm), dtype=np.uint32)
                ix.load_signatures([f"syn{start + i:08d}" for i in range(m)], sigs)
                print(f"bulk: {start + m:,} synthetic signatures", file=sys.stderr)
            out["bulk_load_s"] = round(time.perf_counter() - t, 1)
        ix.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = ix.stats()["documents"]
        # query latency: one article per call
        lat, hits = [], 0
        for d in held:
            t = time.perf_counter()
            matches = ix.query([d])[0]
            lat.append((time.perf_counter() - t) * 1000)
            hits += bool(matches)
        lat_a = np.array(lat)
        out["query"] = {"indexed": total, "queries": len(lat), "found_match": hits,
                        "p50_ms": round(float(np.percentile(lat_a, 50)), 3),
                        "p99_ms": round(float(np.percentile(lat_a, 99)), 3),
                        "mean_ms": round(float(lat_a.mean()), 3)}
        print(f"query: {len(lat)} single-article queries against {total:,}: p50 {out['query']['p50_ms']} ms, "
              f"p99 {out['query']['p99_ms']} ms, {hits} found their original", file=sys.stderr)
        tb = ix.table_bytes()
        sig_bands = tb.get("docs", 0) + tb.get("bands", 0)
        out["bytes"] = {
            "tables": tb,
            "file_bytes": ix.stats()["file_bytes"],
            "per_article_signature_and_bands": round(sig_bands / total),
            "per_article_docs": round(tb.get("docs", 0) / total),
            "per_article_bands": round(tb.get("bands", 0) / total),
            "per_real_article_sets": round(tb.get("sets", 0) / max(1, len(indexed))),
            "per_article_file": round(ix.stats()["file_bytes"] / total),
        }
        print(f"bytes per article: signature+bands {out['bytes']['per_article_signature_and_bands']} "
              f"(docs {out['bytes']['per_article_docs']}, bands {out['bytes']['per_article_bands']}), "
              f"exact sets {out['bytes']['per_real_article_sets']} per real article, "
              f"file {out['bytes']['per_article_file']}", file=sys.stderr)
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    if not args.dir:
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
