"""``dedup find --engine dask``: the pipeline of ``dedup.pipeline`` on a Dask cluster, same output bytes.

read+hash per block -> global id order -> LSH keys grouped by key -> candidate pairs ->
verified where the sets live -> connected components by star contraction -> clusters ->
files written range by range. Every stage is a deterministic function of the input, so a
worker lost mid-run is replaced by recomputing what it held, with the same result.
"""

from __future__ import annotations

import logging
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Callable, Iterator, Sequence

import dask
import numpy as np
from distributed import Client, LocalCluster

from ..document import Problem
from ..errors import DedupError, InputError, ParameterError
from ..lsh import bands_for
from ..params import Config, ReadParams
from ..pipeline import spec_of
from . import components, matching, output
from .inputs import Block, line_offsets, plan, renumber, renumber_problem
from .order import Order, assign_order
from .parts import Job

OnProblem = Callable[[Problem], None]
KEPT_PER_RANGE = 100_000  # records per range of --keep-first: about 350 MB of news text to sort and send


@dataclass(frozen=True)
class Options:
    """How the work is cut. None of it changes a result, only how it is spread over the cluster.

    ``blocksize``: bytes of JSONL per block (None: :func:`default_blocksize`, equal blocks, at least
    four per worker thread, from 1 MiB to 128 MiB). ``units_per_range``: documents per range of the global id
    order, which is also how the output files are cut. ``edges_per_partition``: verified pairs per
    partition of the clustering stage (the graph is much smaller than the corpus). ``max_fan``: an
    exchange between more (input, output) pairs of partitions goes in two stages (fewer tasks).
    """

    blocksize: int | None = None
    units_per_range: int = 1_000_000
    edges_per_partition: int = 1_000_000
    max_fan: int = 1024

    def ranges(self, units: int, blocks: int) -> int:
        return max(1, min(blocks, math.ceil(units / self.units_per_range)))


@contextmanager
def connect(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client on the scheduler at ``scheduler``, or on a new cluster of this machine: ``workers``
    processes (default: one per core) of one thread each, so that numba never oversubscribes a core."""
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise DedupError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        with client:
            client.run(warm_up)
            yield client
        return
    n = workers or os.cpu_count() or 1
    # ":0": the dashboard on any free port (8787 may be taken, which would print a warning)
    with dask.config.set(QUIET), LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                              dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        client.run(warm_up)
        yield client


# The local cluster shares its cores with the job: no statistical profiler sampling every task's
# stack 100 times a second, and the system monitor less often (about 2% of a core per process).
QUIET = {"distributed.worker.profile.enabled": False, "distributed.admin.system-monitor.interval": "2s",
         "distributed.admin.system-monitor.gil.enabled": False}


def warm_up() -> None:
    """Load the compiled kernels and character tables in a worker before the first block arrives
    (about a second of CPU each worker would otherwise spend inside its first task)."""
    from ..sketch import sketch
    from .parts import one_thread

    one_thread()
    sketch(["Warm up, warm up: the kernels load once.\nÄ second line"] * 2, spec_of(Config()), paragraphs=True)


def _threads(client: Client) -> int:
    return max(1, sum(client.nthreads().values()))


def check_inputs(inputs: Sequence[str]) -> None:
    if "-" in [os.fspath(i) for i in inputs]:
        raise ParameterError("inputs='-' is invalid: expected files or URLs with --engine dask (its workers "
                             "cannot read this process's standard input)")


MAX_BLOCK = 128 * 2**20
BLOCKS_PER_THREAD = 4


def default_blocksize(total: int, threads: int) -> int:
    """Equal blocks, at least ``BLOCKS_PER_THREAD`` per worker thread and at most ``MAX_BLOCK`` (at least
    1 MiB): with a few blocks per thread, a thread slowed down by its machine holds up the stage by a
    fraction of one block (two blocks a thread, one of them short, measured 1.47x for 2 workers over 1
    on 200k articles; four equal ones, 1.6-1.75x)."""
    per_thread = max(BLOCKS_PER_THREAD, math.ceil(total / (threads * MAX_BLOCK)))
    return max(2**20, math.ceil(total / (threads * per_thread)))


def read_blocks(client: Client, inputs: Sequence[str], options: Options) -> tuple[list[Block], list[Problem]]:
    """The inputs cut in blocks: ``options.blocksize``, or :func:`default_blocksize`."""
    check_inputs(inputs)
    blocks, problems = plan(inputs, options.blocksize or MAX_BLOCK)
    if options.blocksize is None:
        blocks, problems = plan(inputs, default_blocksize(sum(b.size for b in blocks), _threads(client)))
    return blocks, problems


@dataclass
class Ordered:
    """The blocks' rows numbered in id order, and what reading them found."""

    order: Order
    problems: list[Problem]
    skipped: int


def order_documents(job: Job, blocks: Sequence[Block], datas: Sequence, plan_problems: list[Problem],
                    read: ReadParams, on_problem: OnProblem | None, options: Options) -> Ordered:
    """Number the documents by id; report every problem (duplicates found here) as dedup.read does."""
    keys = job.map("doc-keys", matching.doc_keys, datas)
    facts = job.facts("doc-facts", keys)
    offsets = line_offsets(blocks, [f["lines"] for f in facts])
    docs = sum(f["rows"] for f in facts)
    order = assign_order(job, "doc-order", keys, facts, options.ranges(docs, len(blocks)))
    dup_problems, dropped = _duplicate_problems(job, blocks, datas, offsets, order)
    problems = list(plan_problems)
    for block, offset, f in zip(blocks, offsets, facts):
        for p in f["problems"]:
            p = renumber_problem(p, block.name, offset)
            if not (p.record_id is not None and not p.skipped and (p.where, p.record_id) in dropped):
                problems.append(p)
    problems += dup_problems
    if problems and read.strict:
        raise InputError(str(problems[0]))
    for p in problems:
        if on_problem is not None:
            on_problem(p)
    skipped = sum(p.skipped for p in problems)
    if order.total == 0 and skipped:
        raise InputError(f"no documents could be read ({skipped} problems reported above)")
    return Ordered(order, problems, skipped)


def _duplicate_problems(job: Job, blocks: Sequence[Block], datas: Sequence, offsets: Sequence[int],
                        order: Order) -> tuple[list[Problem], set[tuple[str, str]]]:
    """One warning per dropped duplicate (worded as dedup.read words it), and (where, id) of each."""
    wanted: dict[int, set[int]] = {}
    for _, kb, kr, db, dr in order.duplicates:
        wanted.setdefault(kb, set()).add(kr)
        wanted.setdefault(db, set()).add(dr)
    where: dict[tuple[int, int], str] = {}
    for b, rows in wanted.items():
        rows_list = sorted(rows)
        found = job.client.submit(matching.wheres_of, datas[b], rows_list, key=f"dedup-wheres-{job.token}-{b}")
        for r, w in zip(rows_list, found.result()):
            where[b, r] = renumber(w, blocks[b].name, offsets[b])
    out, dropped = [], set()
    for rid, kb, kr, db, dr in sorted(order.duplicates, key=lambda d: (d[3], d[4])):
        out.append(Problem(where[db, dr], f"duplicate id {rid!r} (first seen at {where[kb, kr]})", rid))
        dropped.add((where[db, dr], rid))
    return out, dropped


def find_files(client: Client, inputs: Sequence[str], read: ReadParams, config: Config, out: str | os.PathLike | None,
               keep_first: str | os.PathLike | None = None, stdout: IO[str] | None = None,
               options: Options = Options(), on_problem: OnProblem | None = None) -> dict:
    """Run ``dedup find`` on the cluster and write its files (clusters to ``stdout`` without ``out``);
    returns the figures of the summary table."""
    job = Job(client, options.max_fan)
    if keep_first is not None:  # a range of the order is one piece of the corpus' records: keep it small
        options = replace(options, units_per_range=min(options.units_per_range, KEPT_PER_RANGE))
    blocks, plan_problems = read_blocks(client, inputs, options)
    datas = job.map("read", matching.sketch_block, blocks, read=read, config=config)
    ordered = order_documents(job, blocks, datas, plan_problems, read, on_problem, options)
    order = ordered.order
    if order.total == 0:  # nothing to compare (an empty file): empty outputs, as the local engine writes
        return _nothing(out, keep_first, ordered, config)
    if config.level == "paragraph":  # documents were numbered to drop duplicate ids; now the paragraphs
        keys = job.map("unit-keys", matching.unit_keys, datas, order.numbers)
        facts = job.facts("unit-facts-keys", keys)
        units = sum(f["rows"] for f in facts)
        order = assign_order(job, "unit-order", keys, facts, options.ranges(units, len(blocks)))
        if order.duplicates:
            raise InputError(f"duplicate id {order.duplicates[0][0]!r}: ids must be unique")
    if order.total >= 2**31:  # document numbers are packed two to an int64 (pairs) and with a paragraph rank
        raise InputError(f"{order.total:,} documents: --engine dask handles fewer than {2**31:,} at once")
    stats: dict = {"documents": order.total, "skipped": ordered.skipped, "blocks": len(blocks)}
    later = {"units": job.map("unit-facts", matching.unit_facts, datas, order.numbers)}  # gathered at the end
    verified = _verified_pairs(job, datas, order.numbers, config, stats, later)
    cleaned = job.map("cleaned", output.ordered_text, job.exchange("cleaned-move", job.map(
        "cleaned-lines", output.cleaned_lines, datas, order.numbers, starts=order.starts), len(order.starts)))
    del datas  # the hashed blocks can go once pairs are verified

    graph_parts = max(1, min(len(blocks), math.ceil(stats["pairs"] / options.edges_per_partition)))
    found = components.clusters(job, verified, config, graph_parts) if stats["pairs"] else []
    later["clusters"] = job.facts("cluster-facts", found, wait=False)
    cluster_texts = _cluster_texts(job, found, order.starts)
    if out is not None:
        paths = output.output_paths(out)
        output.write_texts(_pair_texts(job, verified, order.starts), paths["pairs"])
        output.write_texts(cluster_texts, paths["clusters"])
        output.write_texts(cleaned, paths["cleaned"])
    else:
        output.write_texts(cluster_texts, None, stdout)
    if keep_first is not None:
        _write_kept(job, blocks, order, found, read, config, Path(keep_first))
    return _figures(client, stats, later)


def _verified_pairs(job: Job, datas: Sequence, numbers: Sequence, config: Config, stats: dict,
                    later: dict) -> list:
    """LSH buckets across blocks -> candidate pairs -> verified where the sets are: parts of pairs."""
    n = len(datas)
    bands, rows = bands_for(config.match.threshold, config.minhash.num_perm, config.lsh)
    keyed = job.map("bands", matching.band_keys, datas, numbers, list(range(n)), bands=bands, rows=rows, n_out=n)
    buckets = job.map("buckets", matching.bucket_pairs, job.exchange("bands-move", keyed, n),
                      max_bucket=config.lsh.max_bucket)
    later["oversized"] = job.facts("oversized", buckets, wait=False)
    served = job.map("serve", matching.serve_sets, datas, numbers, job.exchange("candidates-move", buckets, n))
    verified = job.map("verify", matching.verify_block, datas, numbers, job.exchange("sets-move", served, n),
                       match=config.match)
    facts = job.facts("verify-facts", verified)
    stats.update(bands=bands, rows=rows, candidates=sum(f["candidates"] for f in facts),
                 pairs=sum(f["edges"] for f in facts))
    return verified


def _pair_texts(job: Job, verified: Sequence, starts: np.ndarray) -> list:
    lines = job.map("pairs-lines", output.pair_lines, verified, starts=starts)
    return job.map("pairs-text", output.ordered_text, job.exchange("pairs-out-move", lines, len(starts)))


def _cluster_texts(job: Job, found: Sequence, starts: np.ndarray) -> list:
    """clusters.jsonl by range: sorted by first member, numbered from the counts of the ranges before."""
    if not found:
        return []
    routed = job.map("clusters-route", output.route_clusters, found, starts=starts)
    by_range = job.map("clusters-sort", output.sort_clusters, job.exchange("clusters-move", routed, len(starts)))
    counts = [f["clusters"] for f in job.facts("clusters-count", by_range)]
    firsts = (1 + np.r_[0, np.cumsum(counts)[:-1]]).astype(int).tolist()
    return job.map("clusters-text", output.cluster_text, by_range, firsts)


def _write_kept(job: Job, blocks: Sequence[Block], order: Order, found: Sequence, read: ReadParams,
                config: Config, path: Path) -> None:
    """--keep-first: every block read again (texts were not kept), its records sent to their range."""
    ranges = len(order.starts)
    lines = job.map("kept-lines", output.kept_lines, blocks, order.numbers, read=read, config=config,
                    starts=order.starts)
    moved = job.exchange("kept-move", lines, ranges)
    if found:
        drop = job.map("kept-drop", output.dropped_numbers, found, starts=order.starts)
        dropped = job.exchange("kept-drop-move", drop, ranges)
    else:
        dropped = [[] for _ in range(ranges)]
    output.write_texts(job.map("kept-text", output.ordered_text, moved, dropped), path)


def _figures(client: Client, stats: dict, later: dict) -> dict:
    units, oversized, clusters = client.gather([later["units"], later["oversized"], later["clusters"]])
    sizes = [s for f in oversized for s in f["oversized"]]
    return {**stats, "empty": sum(f["empty"] for f in units), "cleaned": sum(f["cleaned"] for f in units),
            "oversized_buckets": len(sizes), "largest_bucket": max(sizes, default=0),
            "clusters": sum(f["clusters"] for f in clusters), "duplicates": sum(f["duplicates"] for f in clusters)}


def _nothing(out: str | os.PathLike | None, keep_first: str | os.PathLike | None, ordered: Ordered,
             config: Config) -> dict:
    if out is not None:
        for path in output.output_paths(out).values():
            output.write_texts([], path)
    if keep_first is not None:
        output.write_texts([], Path(keep_first))
    bands, rows = bands_for(config.match.threshold, config.minhash.num_perm, config.lsh)
    return {"documents": 0, "skipped": ordered.skipped, "empty": 0, "bands": bands, "rows": rows, "candidates": 0,
            "oversized_buckets": 0, "largest_bucket": 0, "pairs": 0, "clusters": 0, "duplicates": 0, "cleaned": 0,
            "blocks": 0}
