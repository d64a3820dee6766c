"""``dedup find`` on Dask against the local engine, and a projection to 100 million articles.

    python benchmarks/dask_bench.py                    # 200,000 articles: local engine, 1 and 2 workers
    python benchmarks/dask_bench.py --n 20000 --workers 1,2 --json out.json

The corpus is ``generate.py``'s (seed 0, 500 words), written once to ``--corpus`` (default
/tmp/dedup-dask-bench-N.jsonl). Every run is in this process, one after the other, on the same
file: the local engine (``read_all`` + ``find`` + ``write_report``, numba on every core), then
``--engine dask`` on a LocalCluster of 1, 2, ... worker processes of one thread each. Times are
wall clock: ``job`` from the first read to the last file written, ``total`` adding the start of
the cluster. All output files are checked byte for byte against the local engine's.

The machine is shared: the 1-minute load average before and after each run is printed and saved,
and a run is only as good as its load. Figures and the projection: README ("Scaling out").

The projection uses what the largest cluster run measured: seconds of task time per article for
reading + hashing and for everything else, bytes moved between partitions per article (the
outputs of every exchange), the number of tasks, and the memory the hashed blocks hold. See
:func:`project` for the assumptions.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

from dedup import params as P  # noqa: E402
from dedup.pipeline import find  # noqa: E402
from dedup.read import read_all  # noqa: E402
from dedup.report import write_report  # noqa: E402

FILES = ("pairs.jsonl", "clusters.jsonl", "cleaned.jsonl")


def corpus(n: int, path: Path) -> Path:
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for d in generate(n):
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    return path


def load() -> float:
    return round(os.getloadavg()[0], 2)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of processes (all their threads) so far."""
    import psutil

    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids)


def run_local(path: Path, out: Path) -> dict:
    before, t, cpu = load(), time.perf_counter(), cpu_seconds([os.getpid()])
    docs, _ = read_all([str(path)])
    result = find(docs, P.Config())
    write_report(result, out)
    return {"engine": "local", "workers": os.cpu_count(), "job_s": time.perf_counter() - t, "total_s": None,
            "cpu_s": cpu_seconds([os.getpid()]) - cpu, "load_before": before, "load_after": load()}


def run_dask(path: Path, out: Path, workers: int, partition_size: int | None) -> tuple[dict, list]:
    from distributed import get_task_stream

    from dedup.dask_engine.engine import Options, connect, find_files

    before, t0 = load(), time.perf_counter()
    with connect(workers=workers) as client:
        client.run(lambda: __import__("dedup.dask_engine.matching"))  # imports are part of the start
        pids = [os.getpid(), *client.run(os.getpid).values()]
        t1, cpu, own = time.perf_counter(), cpu_seconds(pids), cpu_seconds(pids[:1])
        with get_task_stream(client) as stream:
            stats = find_files(client, [str(path)], P.ReadParams(), P.Config(), out,
                               options=Options(blocksize=partition_size))
        t2, cpu, own = time.perf_counter(), cpu_seconds(pids) - cpu, cpu_seconds(pids[:1]) - own
    row = {"engine": "dask", "workers": workers, "job_s": t2 - t1, "total_s": t2 - t0, "cpu_s": cpu,
           "client_cpu_s": own, "load_before": before, "load_after": load(), "blocks": stats["blocks"],
           "pairs": stats["pairs"]}
    return row, stream.data


def stage_of(key) -> str:
    """``dedup-bands-move-pick-toa-<token>-3`` -> ``bands-move-pick``."""
    words = str(key).split("-")[1:-2]
    return "-".join(w for w in words if not (w.startswith("to") and w[2:].isalpha() and len(w) <= 5))


def profile(tasks: list, n: int) -> dict:
    """Task seconds and exchanged bytes, per article, by stage."""
    seconds, moved, count = collections.Counter(), collections.Counter(), collections.Counter()
    for t in tasks:
        stage = stage_of(t["key"])
        count[stage] += 1
        seconds[stage] += sum(s["stop"] - s["start"] for s in t["startstops"] if s["action"] == "compute")
        if stage.rstrip("12").endswith("-pick"):  # the pieces an exchange delivers (twice when in two stages)
            moved[stage.rstrip("12").rsplit("-", 2)[0]] += t.get("nbytes") or 0
    read = seconds["read"]
    return {"tasks": sum(count.values()), "read_hash_s_per_doc": read / n,
            "other_s_per_doc": (sum(seconds.values()) - read) / n,
            "bytes_moved_per_doc": sum(moved.values()) / n,
            "bytes_moved_per_doc_by_exchange": {k: round(v / n, 1) for k, v in moved.most_common()},
            "task_seconds_by_stage": {k: round(v, 3) for k, v in seconds.most_common(12)}}


def exchange_tasks(n_in: int, n_out: int, max_fan: int = 1024) -> int:
    """Tasks of one exchange, as ``dedup.dask_engine.parts.Job.exchange`` makes them."""
    if n_in * n_out <= max_fan:
        return n_in + n_in * n_out
    width = math.ceil(math.sqrt(n_out))
    groups, chunks = math.ceil(n_out / width), math.ceil(n_in / width)
    return n_in + n_in * groups + groups * chunks * (1 + width)


def job_tasks(blocks: int, ranges: int, graph: int, star_rounds: int = 3) -> int:
    """Tasks of one ``dedup find`` (no --keep-first): per-block and per-range maps plus every exchange."""
    exchanges = [(blocks, ranges), (ranges, blocks), (blocks, blocks), (blocks, blocks), (blocks, blocks),
                 (blocks, ranges), (blocks, ranges), (graph, ranges), (blocks, graph), (graph, graph),
                 (graph, graph)] + [(graph, graph)] * (2 * star_rounds)
    return 12 * blocks + 8 * ranges + 6 * graph * star_rounds + sum(exchange_tasks(a, b) for a, b in exchanges)


def project(p: dict, n_target: int = 100_000_000, cores_per_machine: int = 16) -> list[dict]:
    """Time and cluster size for ``n_target`` articles. Assumptions (stated in the README):

    * CPU: the measured CPU seconds per article of the largest run (workers, scheduler and client
      together), spread over every core at 80% efficiency (stragglers, stages waiting on others);
    * input: read at 0.5 GB/s per machine (local disks or object storage), in parallel;
    * network: every exchanged byte crosses it ((M-1)/M of them on M machines), 1 GB/s a machine;
    * scheduler: 1 ms per task, one task at a time; 256 MiB partitions (--partition-size 256MiB),
      ranges of 1M articles, graph partitions of 1M verified pairs (0.1 a article measured);
    * memory: hashed blocks (exact shingle sets, signatures) held until pairs are verified; a
      machine of 64 GB gives half to them, the rest spills to disk (slower, not modelled);
    * the terms are added: nothing overlaps, which overstates the time.
    """
    blocks = math.ceil(n_target * p["input_bytes_per_doc"] / 2**28)
    tasks = job_tasks(blocks, math.ceil(n_target / 1e6), math.ceil(n_target * p["pairs_per_doc"] / 1e6))
    rows = []
    for machines in (8, 16, 32, 64):
        cores = machines * cores_per_machine
        compute = n_target * p["cpu_s_per_doc"] / (cores * 0.8)
        read = n_target * p["input_bytes_per_doc"] / (machines * 0.5e9)
        network = n_target * p["bytes_moved_per_doc"] * (machines - 1) / machines / (machines * 1e9)
        scheduler = tasks * 1e-3
        rows.append({"machines": machines, "cores": cores, "blocks": blocks, "tasks": tasks,
                     "compute_min": compute / 60, "read_min": read / 60, "network_min": network / 60,
                     "scheduler_min": scheduler / 60, "total_min": (compute + read + network + scheduler) / 60,
                     "held_gb_per_machine": n_target * p["held_bytes_per_doc"] / machines / 1e9})
    return rows


def held_bytes(path: Path) -> float:
    """Bytes per article of what a hashed block keeps (sets, signatures, ids), on the first 2,000."""
    from dedup.dask_engine.inputs import plan
    from dedup.dask_engine.matching import sketch_block

    blocks, _ = plan([str(path)], 7_000_000)
    data = sketch_block(blocks[0], P.ReadParams(), P.Config())
    return sys.getsizeof(data) / len(data.ids)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    ap.add_argument("--partition-size", type=int, default=None, help="bytes per block (default: the engine's)")
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--skip-local", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="default: benchmarks/results/<time>-dask.json")
    args = ap.parse_args(argv)
    path = corpus(args.n, args.corpus or Path(f"/tmp/dedup-dask-bench-{args.n}.jsonl"))
    work = Path(f"/tmp/dedup-dask-bench-out-{os.getpid()}")
    rows, tasks = [], []
    try:
        if not args.skip_local:
            rows.append(run_local(path, work / "local"))
        for w in [int(x) for x in args.workers.split(",")]:
            row, tasks = run_dask(path, work / f"dask{w}", w, args.partition_size)
            if not args.skip_local:
                row["same_bytes"] = all((work / "local" / f).read_bytes() == (work / f"dask{w}" / f).read_bytes()
                                        for f in FILES)
            rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    local = next((r["job_s"] for r in rows if r["engine"] == "local"), None)
    one = next((r["job_s"] for r in rows if r["engine"] == "dask" and r["workers"] == 1), None)
    print(f"{args.n:,} articles, {path.stat().st_size / 1e6:.0f} MB, {os.cpu_count()} cores")
    local_cpu = next((r["cpu_s"] for r in rows if r["engine"] == "local"), None)
    print("| engine | workers | job s | with cluster start s | articles/s | speed vs local | speed vs 1 worker "
          "| CPU s | CPU vs local | load before/after | same bytes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        dask = r["engine"] == "dask"
        vs_local = f"{local / r['job_s']:.2f}x" if local and dask else ""
        vs_one = f"{one / r['job_s']:.2f}x" if one and dask else ""
        cpu_vs = f"{r['cpu_s'] / local_cpu:.2f}x" if local_cpu and dask else ""
        start = f"{r['total_s']:.1f}" if r["total_s"] else ""
        print(f"| {r['engine']} | {r['workers']} | {r['job_s']:.1f} | {start} | {args.n / r['job_s']:,.0f} | "
              f"{vs_local} | {vs_one} | {r['cpu_s']:.1f} | {cpu_vs} | {r['load_before']} / {r['load_after']} | "
              f"{r.get('same_bytes', '')} |")
    prof = profile(tasks, args.n)
    largest = max((r for r in rows if r["engine"] == "dask"), key=lambda r: r["workers"])
    prof.update(held_bytes_per_doc=held_bytes(path), cpu_s_per_doc=largest["cpu_s"] / args.n,
                client_cpu_s_per_task=largest["client_cpu_s"] / prof["tasks"],
                input_bytes_per_doc=path.stat().st_size / args.n, pairs_per_doc=largest["pairs"] / args.n)
    proj = project(prof)
    print(f"\nper article ({largest['workers']} workers): {prof['cpu_s_per_doc'] * 1e6:.0f} us CPU in all; "
          f"task time {prof['read_hash_s_per_doc'] * 1e6:.0f} us reading+hashing, "
          f"{prof['other_s_per_doc'] * 1e6:.0f} us the rest; "
          f"{prof['bytes_moved_per_doc']:,.0f} bytes exchanged; {prof['held_bytes_per_doc']:,.0f} bytes held; "
          f"{prof['tasks']:,} tasks, {prof['client_cpu_s_per_task'] * 1e3:.1f} ms of scheduler+client CPU each")
    print(f"\n100M articles: {proj[0]['blocks']:,} partitions of 256 MiB, {proj[0]['tasks']:,} tasks")
    print("| machines (16 cores) | CPU min | read min | network min | scheduler min | total min | held GB a machine |")
    print("|---|---|---|---|---|---|---|")
    for r in proj:
        print(f"| {r['machines']} | {r['compute_min']:.1f} | {r['read_min']:.1f} | {r['network_min']:.1f} | "
              f"{r['scheduler_min']:.1f} | {r['total_min']:.0f} | {r['held_gb_per_machine']:.0f} |")
    out = args.json or HERE / "results" / f"{dt.datetime.now():%Y%m%d-%H%M%S}-dask.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"n": args.n, "cores": os.cpu_count(), "runs": rows, "profile": prof,
                               "projection_100M": proj}, indent=1))
    print(f"\nsaved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
