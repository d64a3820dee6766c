"""``--engine dask`` gives byte-identical files to the local engine, whatever the partitioning, a lost
worker, or a memory limit that forces workers to spill to disk. Runs on a two-worker LocalCluster."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import logging
import random
from pathlib import Path

import pytest

from conftest import REPO, assert_same_warnings_on_dask, read_jsonl, run_and_kill_a_worker, run_with_little_memory
from dedup import params as P
from dedup.pipeline import find
from dedup.read import read_all
from dedup.report import write_kept, write_report

distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from dedup.dask_engine.engine import Options, find_files  # noqa: E402

OUTPUTS = ("pairs.jsonl", "clusters.jsonl", "cleaned.jsonl", "kept.jsonl")
EXAMPLES = str(REPO / "examples" / "corpus.jsonl")
# Small partitions and a partitioned graph: every multi-partition path runs (TWO_STAGE: every exchange
# goes through groups, as it does on a cluster of many partitions).
SMALL = Options(blocksize=35_000, units_per_range=10, edges_per_partition=7)
TWO_STAGE = Options(blocksize=35_000, units_per_range=10, edges_per_partition=7, max_fan=4)
CONFIGS = {
    "default": P.Config(),
    "containment-star": P.Config(match=P.MatchParams(0.5, 0.8), cluster=P.ClusterParams("star")),
    "paragraph": P.Config(level="paragraph", match=P.MatchParams(0.8)),
    "char-capped": P.Config(shingle=P.ShingleParams("char", 5), match=P.MatchParams(0.3),
                            lsh=P.LSHParams(max_bucket=3)),
}


def _cluster(**kwargs) -> distributed.LocalCluster:
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                    silence_logs=logging.CRITICAL, **kwargs)


@pytest.fixture(scope="module")
def client():
    with _cluster() as cluster, distributed.Client(cluster) as c:
        yield c


def local_files(inputs: list[str], config: P.Config, out: Path) -> Path:
    docs, _ = read_all(inputs)
    result = find(docs, config)
    write_report(result, out)
    write_kept(result, out / "kept.jsonl")
    return out


def dask_files(client, inputs: list[str], config: P.Config, out: Path, options: Options = Options()) -> dict:
    return find_files(client, inputs, P.ReadParams(), config, out, out / "kept.jsonl", options=options)


def assert_same_files(a: Path, b: Path, names=OUTPUTS) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.parametrize("name, options", [("default", Options()), ("default", TWO_STAGE),
                                           ("containment-star", SMALL), ("paragraph", SMALL),
                                           ("char-capped", SMALL)])
def test_examples_give_the_same_bytes(client, tmp_path, name, options):
    config = CONFIGS[name]
    expected = local_files([EXAMPLES], config, tmp_path / "local")
    stats = dask_files(client, [EXAMPLES], config, tmp_path / "dask", options)
    assert_same_files(expected, tmp_path / "dask")
    if options.blocksize:
        assert stats["blocks"] >= 3
    if name == "char-capped":
        assert stats["oversized_buckets"] > 0


# -- a generated corpus in four formats ----------------------------------------------------------------------


def _generate(n: int) -> list[dict]:
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(n, seed=11, words=400)


@pytest.fixture(scope="module")
def news(tmp_path_factory) -> list[str]:
    """3,000 generated articles (10% syndicated copies) as Parquet, gzip JSONL, CSV and plain JSONL, shuffled,
    with repeated bodies, empty texts, bad lines and ids repeated across files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("news")
    rng = random.Random(5)
    records = [{k: v for k, v in r.items() if k != "copy_of"} for r in _generate(3000)]
    rng.shuffle(records)
    for r in records[:60]:
        r["text"] = r["text"] + "\n\n" + r["text"]  # a page captured twice: cleaned before hashing
    for r in records[60:70]:
        r["text"] = ""
    a, b, c, d = records[:800], records[800:1600], records[1600:2300], records[2300:]
    pq.write_table(pa.Table.from_pylist(a), folder / "a.parquet", row_group_size=400)
    with gzip.open(folder / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in b)
    with open(folder / "c.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "text", "published", "source"])
        writer.writeheader()
        writer.writerows(c)
    lines = [json.dumps(r, ensure_ascii=False) for r in d]
    lines[5:5] = ["{broken", json.dumps({"id": a[3]["id"], "text": "another text under a taken id"})]
    (folder / "d.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [str(folder / n) for n in ("a.parquet", "b.jsonl.gz", "c.csv", "d.jsonl")]


@pytest.fixture(scope="module")
def news_local(news, tmp_path_factory) -> Path:
    return local_files(news, CONFIGS["default"], tmp_path_factory.mktemp("news-local"))


NEWS_OPTIONS = Options(blocksize=1_000_000, units_per_range=1000)


def test_generated_news_in_four_formats_gives_the_same_bytes(client, news, news_local, tmp_path):
    stats = dask_files(client, news, CONFIGS["default"], tmp_path / "dask", NEWS_OPTIONS)
    assert_same_files(news_local, tmp_path / "dask")
    assert stats["cleaned"] >= 50 and stats["empty"] == 10 and stats["clusters"] > 100
    assert stats["documents"] == 3000


def test_warnings_match_the_local_engine(cli, client, news, tmp_path):
    assert_same_warnings_on_dask(cli, "find", news, tmp_path, client.scheduler.address, "200kB")
    assert_same_files(tmp_path / "local", tmp_path / "dask", OUTPUTS[:3])


def test_clusters_on_stdout_and_repeats(cli, client, tmp_path):
    address = client.scheduler.address
    local = cli("find", EXAMPLES, "--containment", "0.8")
    remote = cli("find", EXAMPLES, "--containment", "0.8", "--engine", "dask", "--scheduler", address)
    assert remote.exit_code == 0 and remote.stdout == local.stdout
    for engine in ("local", "dask"):
        extra = ["--scheduler", address] if engine == "dask" else []
        result = cli("repeats", EXAMPLES, "--out", tmp_path / f"{engine}.jsonl", "--clean",
                     tmp_path / f"{engine}-clean.jsonl", "--engine", engine, *extra)
        assert result.exit_code == 0, result.stderr
    assert (tmp_path / "local.jsonl").read_bytes() == (tmp_path / "dask.jsonl").read_bytes()
    assert (tmp_path / "local-clean.jsonl").read_bytes() == (tmp_path / "dask-clean.jsonl").read_bytes()


# -- faults and memory ---------------------------------------------------------------------------------------


def test_a_worker_killed_mid_run_changes_nothing(client, news, news_local, tmp_path):
    """SIGKILL one worker process while pairs are being verified (its nanny starts a new one): what the
    dead worker held (hashed blocks, pieces of exchanges) is recomputed from the inputs, same files."""
    run_and_kill_a_worker(client, lambda: dask_files(client, news, CONFIGS["default"], tmp_path / "dask",
                                                     NEWS_OPTIONS), "verify")
    assert_same_files(news_local, tmp_path / "dask")


def test_memory_stays_bounded_when_the_data_does_not_fit(news, news_local, tmp_path):
    """Each worker may keep 3 MB of results in memory (0.5% of a 600 MB process limit, most of which the
    interpreter, numpy and numba take); the corpus has 9 MB of text, its sketches 12 MB, so workers must
    spill to disk. The job completes with the same files, and no worker process exceeds its limit."""
    limit = 600 * 2**20
    _, peak_rss, peak_spilled = run_with_little_memory(
        lambda c: dask_files(c, news, CONFIGS["default"], tmp_path / "dask", Options(blocksize=1_000_000)), limit)
    assert_same_files(news_local, tmp_path / "dask")
    assert peak_spilled > 2**20  # results went to disk: more than a worker may hold
    assert 0 < peak_rss < limit


def test_command_line_starts_its_own_local_cluster(run_dedup, tmp_path):
    """The real command in a real process: the cluster's worker processes are spawned from it."""
    done = run_dedup("find", EXAMPLES, "--engine", "dask", "--workers", "1", "--out", tmp_path / "dask",
                     "--keep-first", tmp_path / "dask" / "kept.jsonl")
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()
    local_files([EXAMPLES], P.Config(), tmp_path / "local")
    assert_same_files(tmp_path / "local", tmp_path / "dask")
    assert len(read_jsonl(tmp_path / "dask" / "clusters.jsonl")) > 3
