"""``dedup stories`` on Dask against the local engine, on generated multi-language stories.

    python benchmarks/dask_stories_bench.py                      # 5,000 articles: local, dask 1 and 2 workers
    python benchmarks/dask_stories_bench.py --n 20000 --workers 1,2,4 --local-workers 1,2

The corpus is ``stories_scale.py``'s ``story_corpus`` (seed 0; six languages, stories of several
outlets, 10% syndicated copies; no ``lang`` field, so the language is detected), written once
to ``--corpus`` (default /tmp/dedup-stories-bench-N.jsonl). Every run is in a fresh Python
process of its own, one after the other, on the same file: the local engine (``read_all`` +
``find_stories`` with ``--workers`` anchor processes + the two files), then ``--engine dask``
on a LocalCluster of 1, 2, ... worker processes of one thread each. ``job`` is wall clock from
the first read to the last file written; ``total`` adds the start of the cluster. ``client
cpu`` is the CPU seconds of the process running dedup during the job (not its anchor processes
or workers), ``peak MB`` its peak resident memory. The files are checked byte for byte against
the first local run's.

The machine may be shared: the 1-minute load average before and after each run is printed, and a
run is only as good as its load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from stories_scale import story_corpus  # noqa: E402

from dedup.params import ReadParams  # noqa: E402
from dedup.read import read_all  # noqa: E402
from dedup.stories import StoryParams, find_stories, write_stories  # noqa: E402

FILES = ("stories.jsonl", "links.jsonl")


def corpus(n: int, path: Path) -> Path:
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for r in story_corpus(n, seed=0):
                record = {k: r[k] for k in ("id", "text", "published", "source")}
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    return path


def load() -> float:
    return round(os.getloadavg()[0], 2)


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system  # this process (the client), not its children


def run_local(path: Path, out: Path, workers: int) -> dict:
    before, t, cpu = load(), time.perf_counter(), own_cpu()
    docs, _ = read_all([str(path)])
    result = find_stories(docs, StoryParams(), workers=workers)
    write_stories(result, out)
    return {"engine": "local", "workers": workers, "job_s": time.perf_counter() - t, "total_s": None,
            "client_cpu_s": own_cpu() - cpu, "load_before": before, "load_after": load(),
            "stages": result.stats["seconds"]}


def run_dask(path: Path, out: Path, workers: int, partition_size: int | None) -> dict:
    from dedup.dask_engine.engine import Options, connect
    from dedup.dask_engine.stories import stories_files

    before, t0 = load(), time.perf_counter()
    with connect(workers=workers) as client:
        client.run(lambda: __import__("dedup.dask_engine.stories"))  # imports are part of the start
        t1, cpu = time.perf_counter(), own_cpu()
        figures = stories_files(client, [str(path)], ReadParams(), StoryParams(), out,
                                Options(blocksize=partition_size))
        t2, cpu = time.perf_counter(), own_cpu() - cpu
    return {"engine": "dask", "workers": workers, "job_s": t2 - t1, "total_s": t2 - t0, "client_cpu_s": cpu,
            "load_before": before, "load_after": load(), "blocks": figures["blocks"],
            "stages": figures["seconds"]}


def peak_mb() -> int:
    """This process's peak resident memory (Linux reports KB), not its workers'."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def run_alone(path: Path, out: Path, engine: str, workers: int, partition_size: int | None) -> dict:
    """One run in a fresh Python process of its own, so that its peak memory is its own."""
    spec = json.dumps([str(path), str(out), engine, workers, partition_size])
    done = subprocess.run([sys.executable, __file__, "--one", spec], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def one(spec: str) -> None:
    path, out, engine, workers, partition_size = json.loads(spec)
    row = (run_local(Path(path), Path(out), workers) if engine == "local"
           else run_dask(Path(path), Path(out), workers, partition_size))
    print(json.dumps({**row, "peak_mb": peak_mb()}))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--workers", default="1,2", help="Dask worker counts, comma-separated (default 1,2)")
    ap.add_argument("--local-workers", default="1", help="anchor processes of local runs (default 1)")
    ap.add_argument("--partition-size", type=int, default=None, help="bytes per block (default: the engine's)")
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # a single run, in a process of its own
    args = ap.parse_args(argv)
    if args.one:
        one(args.one)
        return 0
    path = corpus(args.n, args.corpus or Path(f"/tmp/dedup-stories-bench-{args.n}.jsonl"))
    work = Path(f"/tmp/dedup-stories-bench-out-{os.getpid()}")
    rows = []
    try:
        for w in [int(x) for x in args.local_workers.split(",")]:
            rows.append(run_alone(path, work / f"local{w}", "local", w, None))
        for w in [int(x) for x in args.workers.split(",")]:
            rows.append(run_alone(path, work / f"dask{w}", "dask", w, args.partition_size))
        reference = work / f"local{args.local_workers.split(',')[0]}"
        for row in rows:
            folder = work / f"{row['engine']}{row['workers']}"
            row["same_bytes"] = all((reference / f).read_bytes() == (folder / f).read_bytes() for f in FILES)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"dedup stories, {args.n:,} generated articles ({path.stat().st_size / 2**20:.1f} MiB), "
          f"{os.cpu_count()} cores")
    print(f"{'engine':<8}{'workers':>8}{'job s':>9}{'total s':>9}{'client cpu s':>14}{'blocks':>8}"
          f"{'peak MB':>9}{'load before':>13}{'load after':>12}  same bytes")
    for r in rows:
        total = f"{r['total_s']:.1f}" if r["total_s"] is not None else "-"
        print(f"{r['engine']:<8}{r['workers']:>8}{r['job_s']:>9.1f}{total:>9}{r['client_cpu_s']:>14.1f}"
              f"{r.get('blocks', '-'):>8}{r['peak_mb']:>9}{r['load_before']:>13}{r['load_after']:>12}  {r['same_bytes']}")
    print("stages (s): " + "; ".join(f"{r['engine']} {r['workers']}: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                                                                 r["stages"].items()) for r in rows))
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "cores": os.cpu_count(), "rows": rows}, indent=1) + "\n")
    return 0 if all(r["same_bytes"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
