"""``dedup stories --engine dask`` writes the bytes of the local ``dedup stories``, whatever the partitioning,
and reports the same problems. Runs on a two-worker LocalCluster; skipped (visibly) without Dask."""

from __future__ import annotations

import importlib.util
import json
import logging
import random
import sys
from pathlib import Path

import pytest

from conftest import REPO, assert_same_warnings_on_dask, read_jsonl, run_and_kill_a_worker, run_with_little_memory
from dedup.params import ReadParams
from dedup.read import read_all
from dedup.stories import StoryParams, find_stories, write_stories

distributed = pytest.importorskip("distributed", reason="--engine dask needs Dask: pip install 'dedup[dask]'")
pytest.importorskip("fsspec", reason="--engine dask needs fsspec: pip install 'dedup[dask]'")

from dedup.dask_engine import stories_files  # noqa: E402
from dedup.dask_engine.engine import Options  # noqa: E402

FILES = ("stories.jsonl", "links.jsonl")
EXAMPLES = str(REPO / "examples" / "corpus.jsonl")
# Blocks of 20 kB: the 100 kB examples come in 5 blocks, and 10 documents a range of the id order.
SMALL = Options(blocksize=20_000, units_per_range=10)
# Every exchange in two stages through groups, as on a cluster of many partitions.
TWO_STAGE = Options(blocksize=20_000, units_per_range=10, max_fan=4)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.CRITICAL) as cluster, distributed.Client(cluster) as c:
        yield c


def local_files(inputs: list[str], out: Path, params: StoryParams = StoryParams(),
                read: ReadParams = ReadParams()) -> Path:
    """What the local ``dedup stories`` writes."""
    docs, _ = read_all(inputs, read)
    result = find_stories(docs, params)
    write_stories(result, out)
    return out


def assert_same_files(a: Path, b: Path) -> None:
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.parametrize("options", [Options(), SMALL, TWO_STAGE], ids=["default", "small", "two-stage"])
def test_examples_give_the_same_bytes(client, tmp_path, options):
    expected = local_files([EXAMPLES], tmp_path / "local")
    figures = stories_files(client, [EXAMPLES], ReadParams(), StoryParams(), tmp_path / "dask", options)
    assert_same_files(expected, tmp_path / "dask")
    assert figures["stories"] == len(read_jsonl(expected / "stories.jsonl")) > 3
    assert figures["links"] == len(read_jsonl(expected / "links.jsonl"))
    if options.blocksize:
        assert figures["blocks"] >= 3


# -- generated multi-language stories ------------------------------------------------------------------------


def _story_corpus(n: int, seed: int) -> list[dict]:
    spec = importlib.util.spec_from_file_location("bench_stories_scale", REPO / "benchmarks" / "stories_scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.story_corpus(n, seed=seed)


@pytest.fixture(scope="module")
def stories_news(tmp_path_factory) -> list[str]:
    """400 generated articles in six languages (stories of several outlets, syndicated copies), shuffled,
    in two files; half of them say their language, the others have it detected."""
    folder = tmp_path_factory.mktemp("stories-news")
    records = []
    for k, r in enumerate(_story_corpus(400, seed=3)):
        record = {"id": r["id"], "text": r["text"], "published": r["published"], "source": r["source"]}
        if k % 2:
            record["lang"] = r["lang"]
        records.append(record)
    random.Random(7).shuffle(records)
    paths = []
    for name, part in (("a.jsonl", records[:250]), ("b.jsonl", records[250:])):
        (folder / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part),
                                   encoding="utf-8")
        paths.append(str(folder / name))
    return paths


@pytest.fixture(scope="module")
def stories_local(stories_news, tmp_path_factory) -> Path:
    return local_files(stories_news, tmp_path_factory.mktemp("stories-local"))


@pytest.mark.parametrize("options", [Options(), Options(blocksize=200_000, units_per_range=60)],
                         ids=["default", "small"])
def test_generated_stories_give_the_same_bytes(client, stories_news, stories_local, tmp_path, options):
    figures = stories_files(client, stories_news, ReadParams(), StoryParams(), tmp_path / "dask", options)
    assert_same_files(stories_local, tmp_path / "dask")
    links = read_jsonl(stories_local / "links.jsonl")
    stories = read_jsonl(stories_local / "stories.jsonl")
    assert figures["documents"] == 400 and figures["stories"] == len(stories) > 20
    assert {"copy", "rewrite"} <= {link["kind"] for link in links}
    assert any(len(s["languages"]) > 1 for s in stories)  # stories across languages
    if options.blocksize:
        assert figures["blocks"] >= 6


def test_other_parameters_and_no_copy_links(client, stories_news, tmp_path):
    params = StoryParams(threshold=0.3, window_days=3.0, copy_threshold=None)
    local_files(stories_news, tmp_path / "local", params)
    stories_files(client, stories_news, ReadParams(), params, tmp_path / "dask", Options(blocksize=300_000))
    assert_same_files(tmp_path / "local", tmp_path / "dask")
    assert "copy" not in {link["kind"] for link in read_jsonl(tmp_path / "dask" / "links.jsonl")}


@pytest.mark.parametrize("params", [StoryParams(topic_sample=40, topic_dims=2.0), StoryParams(word_weight=0.0)],
                         ids=["sampled-topics", "no-words"])
def test_topics_learnt_from_a_sample_and_anchors_alone(client, stories_news, tmp_path, params):
    """Language groups of about 67 documents learn 16 topic directions from 40 of them, and every range
    projects its own rows (against the local projection of the whole group); or no word vectors at all."""
    local_files(stories_news, tmp_path / "local", params)
    figures = stories_files(client, stories_news, ReadParams(), params, tmp_path / "dask",
                            Options(blocksize=150_000))
    assert_same_files(tmp_path / "local", tmp_path / "dask")
    assert figures["blocks"] >= 4 and figures["stories"] > 20


@pytest.mark.parametrize("stage", ["stories-read", "scores"])
def test_a_worker_killed_mid_run_changes_nothing(client, stories_news, stories_local, tmp_path, stage):
    """SIGKILL one worker process once a block's anchors are extracted, or once a range's candidates are
    scored (its nanny starts a new one): what it held (blocks, ranges of the corpus model, pieces of
    exchanges) is made again from the inputs, and the files are the same."""
    figures = run_and_kill_a_worker(client, lambda: stories_files(client, stories_news, ReadParams(), StoryParams(),
                                                                  tmp_path / "dask", Options(blocksize=100_000)),
                                    stage)
    assert_same_files(stories_local, tmp_path / "dask")
    assert figures["blocks"] >= 8 and figures["documents"] == 400


def test_memory_stays_bounded_when_the_data_does_not_fit(stories_news, stories_local, tmp_path):
    """Workers may keep 5 MB of results in memory (0.5% of a 1 GB process limit: a stories worker holds
    scikit-learn and the word-frequency tables too); the documents, their features and the ranges of the
    model take more, so workers spill to disk. Same files, and no worker process exceeds its limit."""
    limit = 1000 * 2**20
    _, peak_rss, peak_spilled = run_with_little_memory(
        lambda c: stories_files(c, stories_news, ReadParams(), StoryParams(), tmp_path / "dask",
                                Options(blocksize=100_000)), limit)
    assert_same_files(stories_local, tmp_path / "dask")
    assert peak_spilled > 2**20
    assert 0 < peak_rss < limit


def test_an_empty_input_gives_empty_files(client, tmp_path):
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    local_files([str(tmp_path / "empty.jsonl")], tmp_path / "local")
    figures = stories_files(client, [str(tmp_path / "empty.jsonl")], ReadParams(), StoryParams(), tmp_path / "dask")
    assert_same_files(tmp_path / "local", tmp_path / "dask")
    assert figures["documents"] == 0 and (tmp_path / "dask" / "stories.jsonl").read_bytes() == b""


# -- bad input and the command line --------------------------------------------------------------------------


@pytest.fixture
def messy(tmp_path) -> list[str]:
    """The examples cut in two files with bad lines, a record without text, and ids repeated inside one
    block, across blocks and across files."""
    records = read_jsonl(Path(EXAMPLES))
    first, second = records[: len(records) // 2], records[len(records) // 2:]
    lines = [json.dumps(r, ensure_ascii=False) for r in first]
    lines[3:3] = ["{broken", json.dumps({"id": "no-text-here"}), json.dumps({**first[1], "text": "a later copy"})]
    lines.append(json.dumps({**first[-1], "text": "the same id again, at the end of the file"}))
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [json.dumps(r, ensure_ascii=False) for r in second]
    lines[2:2] = ["[1, 2]", json.dumps({**first[0], "text": "an id taken in the other file"}), "",
                  json.dumps({"id": 5, "text": "not a string id"})]
    (tmp_path / "b.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]


def test_bad_lines_and_duplicate_ids_are_reported_alike(cli, client, messy, tmp_path):
    warnings = assert_same_warnings_on_dask(cli, "stories", messy, tmp_path, client.scheduler.address, "7kB")
    assert warnings.count("duplicate id") == 3
    assert_same_files(tmp_path / "local", tmp_path / "dask")


def test_command_line_on_a_running_scheduler(cli, client, stories_news, stories_local, tmp_path):
    result = cli("stories", *stories_news, "--out", tmp_path / "dask", "--engine", "dask", "--scheduler",
                 client.scheduler.address, "--partition-size", "300kB")
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    assert_same_files(stories_local, tmp_path / "dask")


def test_command_line_starts_its_own_local_cluster(run_dedup, tmp_path):
    """The real command in a real process: the cluster's worker processes are spawned from it."""
    done = run_dedup("stories", EXAMPLES, "--engine", "dask", "--workers", "2", "--partition-size", "30kB",
                     "--out", tmp_path / "dask")
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()
    assert_same_files(local_files([EXAMPLES], tmp_path / "local"), tmp_path / "dask")


@pytest.mark.parametrize("option, value", [("--scheduler", "tcp://127.0.0.1:8786"), ("--partition-size", "64MiB")])
def test_dask_options_are_refused_without_the_dask_engine(cli, tmp_path, option, value):
    result = cli("stories", EXAMPLES, "--out", tmp_path / "out", option, value)
    assert result.exit_code == 2
    name = option.lstrip("-").replace("-", "_")
    assert result.stderr == f"error: {name}={value!r} is invalid: expected it only with --engine dask\n"
    assert not (tmp_path / "out").exists()


def test_workers_with_a_scheduler_and_bad_sizes_are_refused(cli, tmp_path):
    both = cli("stories", EXAMPLES, "--out", tmp_path, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:1",
               "--workers", "2")
    assert both.exit_code == 2 and both.stderr.startswith("error: workers=2 is invalid") and both.stderr.count("\n") == 1
    size = cli("stories", EXAMPLES, "--out", tmp_path, "--engine", "dask", "--partition-size", "lots")
    assert size.exit_code == 2 and size.stderr == ("error: partition_size='lots' is invalid: expected a size such "
                                                   "as 64MiB\n")
    stdin = cli("stories", "-", "--out", tmp_path, "--engine", "dask", input="")
    assert stdin.exit_code == 2 and "--engine dask" in stdin.stderr and stdin.stderr.count("\n") == 1


def test_help_lists_the_dask_options(cli):
    result = cli("stories", "--help")
    assert result.exit_code == 0
    for option in ("--engine", "--scheduler", "--partition-size", "--workers"):
        assert option in result.stdout
