"""The Dask engine's parts that need no cluster: blocks of input files, the star contraction that
computes connected components, the id order's duplicate rule, and the command's one-line errors."""

from __future__ import annotations

import gzip
import json
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import CORPUS, write_jsonl
from dedup.cluster import connected_components
from dedup.params import ReadParams
from dedup.read import read_all

pytest.importorskip("distributed")

from dedup.dask_engine import components as C  # noqa: E402
from dedup.dask_engine.engine import MAX_BLOCK, default_blocksize  # noqa: E402
from dedup.dask_engine.inputs import line_offsets, plan, read_block, renumber_problem  # noqa: E402
from dedup.dask_engine.order import sort_range  # noqa: E402
from dedup.dask_engine.parts import Part, split_routed  # noqa: E402


def _messy_jsonl(path):
    """The corpus with the kinds of bad lines dedup.read reports, spread over the file."""
    lines = [json.dumps(r, ensure_ascii=False) for r in CORPUS]
    lines[3:3] = ["{not json", ""]
    lines[9:9] = [json.dumps({"id": "no-text"}), json.dumps({"id": "x", "text": 5}), "[1, 2]"]
    lines.append(json.dumps({"id": "trailing", "text": ""}))
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n\xff\xfe bad utf8\n")
    return path


@given(total=st.integers(0, 2**42), threads=st.integers(1, 4096))
def test_default_blocks_are_equal_and_at_least_four_per_thread(total, threads):
    size = default_blocksize(total, threads)
    blocks = -(-total // size)  # what plan() cuts one file of ``total`` bytes into
    assert 2**20 <= size and (size <= MAX_BLOCK or size == 2**20)
    if size > 2**20:  # not at the floor: never fewer than four blocks a thread, and never one short block
        assert blocks >= 4 * threads
        assert total - (blocks - 1) * size >= size - blocks


@pytest.mark.parametrize("blocksize", [1, 97, 1000, 4096, 10**9])
def test_jsonl_blocks_read_every_line_once_and_number_problems_like_dedup_read(tmp_path, blocksize):
    path = _messy_jsonl(tmp_path / "messy.jsonl")
    blocks, problems = plan([str(path)], blocksize)
    assert not problems
    docs, found, lines = [], [], []
    for b in blocks:
        d, _, p, n = read_block(b, ReadParams())
        docs += d
        found.append(p)
        lines.append(n)
    offsets = line_offsets(blocks, lines)
    renumbered = [renumber_problem(p, b.name, off) for b, off, ps in zip(blocks, offsets, found) for p in ps]
    expected_docs, stats = read_all([str(path)])
    assert [(d.id, d.text) for d in docs] == [(d.id, d.text) for d in expected_docs]
    assert [str(p) for p in renumbered] == [str(p) for p in stats.problems]


def test_gzip_csv_and_missing_files_are_whole_blocks_or_problems(tmp_path):
    gz = tmp_path / "a.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in CORPUS[:4]) + "\n")
    blocks, problems = plan([str(gz), str(tmp_path / "missing.jsonl"), str(tmp_path / "*.nothing")], 10)
    assert len(blocks) == 1 and blocks[0].compression == "gzip"
    assert [b.id for b in read_block(blocks[0], ReadParams())[0]] == [r["id"] for r in CORPUS[:4]]
    _, stats = read_all([str(tmp_path / "missing.jsonl")])
    assert str(problems[0]) == str(stats.problems[0])  # "cannot read: [Errno 2] ...; file skipped"
    assert "no files match" in str(problems[1])


def test_folders_of_text_files_and_parquet_read_as_dedup_read_reads_them(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for r in CORPUS[:7]:
        (tmp_path / "txt" / r["source"][:4]).mkdir(parents=True, exist_ok=True)
        (tmp_path / "txt" / r["source"][:4] / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(CORPUS + [{"id": None, "text": "no id"}]), tmp_path / "c.parquet",
                   row_group_size=4)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    inputs = [str(tmp_path / "txt"), str(tmp_path / "c.parquet"), str(tmp_path / "broken.parquet")]
    blocks, problems = plan(inputs, 200)
    assert len(blocks) > 5
    docs, found = [], list(problems)
    for b in blocks:
        d, _, p, _ = read_block(b, ReadParams())
        docs += d
        found += p
    expected, stats = read_all(inputs)
    assert [(d.id, d.text, d.published, d.record) for d in docs] == \
        [(d.id, d.text, d.published, d.record) for d in expected]
    assert sorted(str(p) for p in found) == sorted(str(p) for p in stats.problems)


def test_globs_expand_in_sorted_order(tmp_path):
    for name in ("b.jsonl", "a.jsonl", "c.txt"):
        write_jsonl(tmp_path / name, CORPUS[:1])
    blocks, _ = plan([str(tmp_path / "*.jsonl")], 10**6)
    assert [b.name.rsplit("/", 1)[-1] for b in blocks] == ["a.jsonl", "b.jsonl"]


def test_sort_range_keeps_the_first_record_of_a_duplicate_id():
    piece_b = {"id": np.array(["x", "y"], object), "block": np.array([1, 1], np.int32), "row": np.array([5, 0])}
    piece_a = {"id": np.array(["y", "x", "x"], object), "block": np.array([0, 0, 2], np.int32),
               "row": np.array([3, 1, 0])}
    part = sort_range([piece_b, piece_a])
    assert part.facts["count"] == 2
    assert part.rows["block"].tolist() == [0, 0] and part.rows["row"].tolist() == [1, 3]
    assert sorted(part.facts["duplicates"]) == [("x", 0, 1, 1, 5), ("x", 0, 1, 2, 0), ("y", 0, 3, 1, 0)]


def _components(u: np.ndarray, v: np.ndarray, n_parts: int) -> dict[int, int]:
    """Star contraction as the engine runs it, with the exchange done in this process."""
    parts = [Part({"i": u[k::3], "j": v[k::3]}) for k in range(3)]
    while True:
        pieces = [split_routed(C.both_ways(p, n_parts), n_parts) for p in parts]
        parts = [C.large_star([pc[j] for pc in pieces]) for j in range(n_parts)]
        if sum(p.facts["violations"] for p in parts) == 0:
            break
        pieces = [split_routed(C.downwards(p, n_parts), n_parts) for p in parts]
        parts = [C.small_star([pc[j] for pc in pieces]) for j in range(n_parts)]
    label = {}
    for p in parts:
        for centre, leaf in zip(p.rows["u"].tolist(), p.rows["v"].tolist()):
            label[leaf] = label[centre] = centre
    return label


@pytest.mark.parametrize("shape", ["random", "chain", "ring", "star"])
def test_star_contraction_finds_the_components_of_union_find(shape):
    rng = np.random.default_rng(7)
    for _ in range(40):
        n = int(rng.integers(2, 80))
        if shape == "random":
            a, b = rng.integers(0, n, n), rng.integers(0, n, n)
        elif shape == "chain":  # the longest path for its size, numbered at random
            perm = rng.permutation(n)
            a, b = perm[:-1], perm[1:]
        elif shape == "ring":
            a = np.arange(n)
            b = (a + 1) % n
        else:
            a, b = np.zeros(n - 1, np.int64), np.arange(1, n)
        keep = a != b
        code = np.unique(np.minimum(a, b)[keep].astype(np.int64) << 32 | np.maximum(a, b)[keep])
        u, v = code >> 32, code & 0xFFFFFFFF
        if len(u) == 0:
            continue
        label = _components(u, v, int(rng.integers(1, 5)))
        expected = connected_components(n, u, v)
        assert {x: label[x] for x in np.unique(np.r_[u, v]).tolist()} == \
            {x: int(expected[x]) for x in np.unique(np.r_[u, v]).tolist()}


# -- the command line ----------------------------------------------------------------------------------------


def test_engine_dask_without_dask_says_how_to_install_it(cli, corpus, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError
    result = cli("find", corpus.path, "--engine", "dask", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: --engine dask needs Dask")
    assert "pip install 'dedup[dask]'" in result.stderr
    result = cli("repeats", corpus.path, "--engine", "dask")
    assert result.exit_code == 1 and "pip install 'dedup[dask]'" in result.stderr


@pytest.mark.parametrize("args, name", [
    (["--scheduler", "tcp://127.0.0.1:1"], "scheduler"),
    (["--partition-size", "64MiB"], "partition_size"),
    (["--engine", "dask", "--partition-size", "lots"], "partition_size"),
    (["--engine", "dask", "--workers", "0"], "workers"),
    (["--engine", "dask", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "workers"),
])
def test_engine_options_are_checked_in_one_line(cli, corpus, tmp_path, args, name):
    result = cli("find", corpus.path, "--out", tmp_path / "out", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"error: {name}=")


def test_engine_dask_refuses_stdin_before_starting_a_cluster(cli, tmp_path):
    result = cli("find", "-", "--engine", "dask", "--out", tmp_path / "out", input="{}")
    assert result.exit_code == 2 and result.stderr.startswith("error: inputs='-' is invalid")
